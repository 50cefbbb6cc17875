/* The FFT convolution's transforms (see conv_fft.c for the algorithm): 2-D real DFTs of many
 * small planes at once, each a pair of 1-D DFTs written as products with the DFT matrices,
 * the planes side by side as the products' columns. At these sizes (frames up to 32 x 32) a
 * DFT as a dense product costs a few times an FFT's arithmetic but runs on oti_panel_gemm
 * near the core's peak, and each value is one dot product (no butterflies to round).
 *
 * Shapes for a block of nb planes (rows, cols the images; fws = nw / 2 + 1):
 *   forward:  XT (rows, cols, nb)  the block's images, one plane per column
 *             T (rows, 2, fws, nb) = row DFT of each image row: T[r] = row_dft @ XT[r]
 *             S[fw] (nh, 2, count) = col_dft @ T[., ., fw]  (the columns j0 .. j0 + nb)
 *   inverse:  Z (rows, 2, fws, nb) = col_dft @ S[fw] for each fw
 *             YT (rows, cols, nb)  = row_dft @ Z[r], then back into the images' planes. */
#include <math.h>
#include <string.h>

#include "core/util.h"
#include "conv_fft.h"
#include "gemm.h"
#include "panel_gemm.h"

#include "transpose8.h"

#define BLOCK_UNITS 2 /* planes per block, in 16-plane units */
#define TWO_PI 6.283185307179586476925286766559

int64_t oti_fft_transform_floats(const fft_frame *f, int inverse, int64_t rows, int64_t cols) {
    if (inverse) return ot_panel_floats(2 * rows, 2 * f->nh) + ot_panel_floats(cols, 2 * f->fws);
    return ot_panel_floats(2 * f->fws, cols) + ot_panel_floats(2 * f->nh, 2 * rows);
}

int64_t oti_fft_transform_scratch(const fft_frame *f, int64_t rows, int64_t cols) {
    return rows * (cols + 2 * f->fws) * BLOCK_UNITS * OT_PANEL_COLS;
}

/* cos and sin of 2 pi m / n for m < n: every entry of a DFT matrix is one of these, found
 * by its index product mod n (exact, unlike the rounded angle). */
typedef struct roots {
    int64_t n;
    double c[FFT_MAX_SIDE], s[FFT_MAX_SIDE];
} roots;

static void roots_of(roots *r, int64_t n) {
    r->n = n;
    for (int64_t m = 0; m < n; m++) {
        r->c[m] = cos(TWO_PI * (double)m / (double)n);
        r->s[m] = sin(TWO_PI * (double)m / (double)n);
    }
}

static void set(float *a, int64_t kn, int64_t row, int64_t k, double v) {
    a[ot_panel_index(row, k, kn)] = (float)v;
}

/* Multiplying by c + i s as a real 2 x 2 block: rows 2i, 2i + 1 (the result's re, im),
 * columns 2k, 2k + 1 (the operand's re, im). */
static void set_rotation(float *a, int64_t kn, int64_t i, int64_t k, double c, double s) {
    set(a, kn, 2 * i, 2 * k, c);
    set(a, kn, 2 * i, 2 * k + 1, -s);
    set(a, kn, 2 * i + 1, 2 * k, s);
    set(a, kn, 2 * i + 1, 2 * k + 1, c);
}

/* Forward: row_dft[(re/im, fw)][w] = cos, -sin of 2 pi fw (w + col0) / nw;
 * col_dft takes (T_re + i T_im)(r) to sum_r T(r) e^{-2 pi i fh (r + row0) / nh}. */
static void forward_matrices(const fft_transform *t, const roots *rh, const roots *rw) {
    const fft_frame *f = t->f;
    for (int64_t fw = 0; fw < f->fws; fw++)
        for (int64_t w = 0; w < t->cols; w++) {
            int64_t m = fw * (w + t->col0) % f->nw;
            set(t->row_dft, t->cols, fw, w, rw->c[m]);
            set(t->row_dft, t->cols, f->fws + fw, w, -rw->s[m]);
        }
    for (int64_t fh = 0; fh < f->nh; fh++)
        for (int64_t r = 0; r < t->rows; r++) {
            int64_t m = fh * (r + t->row0) % f->nh;
            set_rotation(t->col_dft, 2 * t->rows, fh, r, rh->c[m], -rh->s[m]);
        }
}

/* Inverse: col_dft takes S(fh) to z(r) = sum_fh S(fh) e^{+2 pi i fh (r + row0) / nh};
 * row_dft takes z's half spectrum to the real line, each fw other than 0 and nw / 2 standing
 * for its conjugate too, with the 1 / (nh nw) of the inverse. */
static void inverse_matrices(const fft_transform *t, const roots *rh, const roots *rw) {
    const fft_frame *f = t->f;
    for (int64_t r = 0; r < t->rows; r++)
        for (int64_t fh = 0; fh < f->nh; fh++) {
            int64_t m = fh * (r + t->row0) % f->nh;
            set_rotation(t->col_dft, 2 * f->nh, r, fh, rh->c[m], rh->s[m]);
        }
    double scale = 1.0 / (double)(f->nh * f->nw);
    for (int64_t w = 0; w < t->cols; w++)
        for (int64_t fw = 0; fw < f->fws; fw++) {
            int64_t m = fw * (w + t->col0) % f->nw;
            double weight = (fw == 0 || 2 * fw == f->nw ? 1.0 : 2.0) * scale;
            set(t->row_dft, 2 * f->fws, w, fw, weight * rw->c[m]);
            set(t->row_dft, 2 * f->fws, w, f->fws + fw, -weight * rw->s[m]);
        }
}

void oti_fft_transform_init(fft_transform *t, const fft_frame *f, int inverse, int64_t rows,
                        int64_t cols, int64_t row0, int64_t col0, float **memory) {
    t->f = f;
    t->inverse = inverse;
    t->rows = rows;
    t->cols = cols;
    t->row0 = row0;
    t->col0 = col0;
    int64_t row_floats =
        inverse ? ot_panel_floats(cols, 2 * f->fws) : ot_panel_floats(2 * f->fws, cols);
    int64_t total = oti_fft_transform_floats(f, inverse, rows, cols);
    t->row_dft = *memory;
    t->col_dft = *memory + row_floats;
    memset(*memory, 0, sizeof(float) * (size_t)total); /* panels' rows past the end */
    *memory += total;
    roots rh, rw;
    roots_of(&rh, f->nh);
    roots_of(&rw, f->nw);
    if (inverse)
        inverse_matrices(t, &rh, &rw);
    else
        forward_matrices(t, &rh, &rw);
}

/* --- passes over blocks of planes ------------------------------------------------------------ */

typedef struct pass_job {
    const fft_transform *t;
    const fft_planes *p;
    const float *images; /* forward's input */
    float *out_images;   /* inverse's output */
    const float *spectrum_in;
    float *spectrum_out;
    const float *bias;
    int accumulate;
    float *scratch;
    int64_t part_floats;
} pass_job;

/* Offset of plane j in its tensor, or -1 for a padding plane. */
static int64_t plane_offset(const fft_planes *p, int64_t j) {
    int64_t outer = j / p->inner_padded, inner = j % p->inner_padded;
    return inner < p->inner ? outer * p->outer_stride + inner * p->inner_stride : -1;
}

/* xt[q * nb + c] = pixel q of the block's plane c (zero for padding planes), eight planes
 * and eight pixels at a time. */
static void gather_planes(const pass_job *j, int64_t j0, int64_t nb, int64_t pixels, float *xt) {
    for (int64_t c0 = 0; c0 < nb; c0 += 8) {
        const float *src[8];
        for (int i = 0; i < 8; i++) {
            int64_t at = plane_offset(j->p, j0 + c0 + i);
            src[i] = at < 0 ? NULL : j->images + at;
        }
        int64_t q = 0;
#if OT_PANEL_GEMM_FAST
        for (; q + 8 <= pixels; q += 8) {
            __m256 r[8];
            for (int i = 0; i < 8; i++)
                r[i] = src[i] ? _mm256_loadu_ps(src[i] + q) : _mm256_setzero_ps();
            ot_transpose8(r);
            for (int i = 0; i < 8; i++) _mm256_storeu_ps(xt + (q + i) * nb + c0, r[i]);
        }
#endif
        for (; q < pixels; q++)
            for (int i = 0; i < 8; i++) xt[q * nb + c0 + i] = src[i] ? src[i][q] : 0.0f;
    }
}

/* Pixel q of the block's plane c = yt[q * nb + c] + bias, or += yt[q * nb + c]; padding
 * planes are dropped. */
static void scatter_planes(const pass_job *j, int64_t j0, int64_t nb, int64_t pixels,
                           const float *yt) {
    for (int64_t c0 = 0; c0 < nb; c0 += 8) {
        float *dst[8], add[8];
        for (int i = 0; i < 8; i++) {
            int64_t at = plane_offset(j->p, j0 + c0 + i);
            dst[i] = at < 0 ? NULL : j->out_images + at;
            add[i] = j->bias ? j->bias[(j0 + c0 + i) / j->p->inner_padded] : 0.0f;
        }
        int64_t q = 0;
#if OT_PANEL_GEMM_FAST
        for (; q + 8 <= pixels; q += 8) {
            __m256 r[8];
            for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(yt + (q + i) * nb + c0);
            ot_transpose8(r);
            for (int i = 0; i < 8; i++) {
                if (!dst[i]) continue;
                __m256 v = j->accumulate ? _mm256_add_ps(_mm256_loadu_ps(dst[i] + q), r[i])
                                         : _mm256_add_ps(r[i], _mm256_set1_ps(add[i]));
                _mm256_storeu_ps(dst[i] + q, v);
            }
        }
#endif
        for (; q < pixels; q++)
            for (int i = 0; i < 8; i++) {
                if (!dst[i]) continue;
                float v = yt[q * nb + c0 + i];
                dst[i][q] = j->accumulate ? dst[i][q] + v : v + add[i];
            }
    }
}

static void forward_block(const pass_job *j, int64_t j0, int64_t nb, float *scratch) {
    const fft_transform *t = j->t;
    const fft_frame *f = t->f;
    int64_t pixels = t->rows * t->cols, k2 = 2 * f->fws, count = fft_plane_count(j->p);
    float *xt = scratch, *tt = scratch + pixels * nb;
    gather_planes(j, j0, nb, pixels, xt);
    for (int64_t r = 0; r < t->rows; r++)
        oti_panel_gemm(k2, nb, t->cols, t->row_dft, xt + r * t->cols * nb, nb, tt + r * k2 * nb, nb,
                      0);
    for (int64_t fw = 0; fw < f->fws; fw++)
        oti_panel_gemm(2 * f->nh, nb, 2 * t->rows, t->col_dft, tt + fw * nb, f->fws * nb,
                      j->spectrum_out + fw * 2 * f->nh * count + j0, count, 0);
}

static void inverse_block(const pass_job *j, int64_t j0, int64_t nb, float *scratch) {
    const fft_transform *t = j->t;
    const fft_frame *f = t->f;
    int64_t pixels = t->rows * t->cols, k2 = 2 * f->fws, count = fft_plane_count(j->p);
    float *z = scratch, *yt = scratch + t->rows * k2 * nb;
    for (int64_t fw = 0; fw < f->fws; fw++)
        oti_panel_gemm(2 * t->rows, nb, 2 * f->nh, t->col_dft,
                      j->spectrum_in + fw * 2 * f->nh * count + j0, count, z + fw * nb, f->fws * nb,
                      0);
    for (int64_t r = 0; r < t->rows; r++)
        oti_panel_gemm(t->cols, nb, k2, t->row_dft, z + r * k2 * nb, nb, yt + r * t->cols * nb, nb,
                      0);
    scatter_planes(j, j0, nb, pixels, yt);
}

static void run_blocks(int64_t begin, int64_t end, int part, void *arg) {
    const pass_job *j = arg;
    float *scratch = j->scratch + part * j->part_floats;
    for (int64_t u = begin; u < end; u += BLOCK_UNITS) {
        int64_t units = end - u < BLOCK_UNITS ? end - u : BLOCK_UNITS;
        if (j->t->inverse)
            inverse_block(j, u * OT_PANEL_COLS, units * OT_PANEL_COLS, scratch);
        else
            forward_block(j, u * OT_PANEL_COLS, units * OT_PANEL_COLS, scratch);
    }
}

void oti_fft_forward_pass(ot_pool *pool, const fft_transform *t, const fft_planes *p, const float *images,
                      float *spectrum, float *scratch, int64_t part_floats) {
    pass_job j = {t, p, images, NULL, NULL, spectrum, NULL, 0, scratch, part_floats};
    oti_parallel_ranges(pool, fft_plane_count(p) / OT_PANEL_COLS, 1, run_blocks, &j);
}

void oti_fft_inverse_pass(ot_pool *pool, const fft_transform *t, const fft_planes *p, const float *spectrum,
                      float *images, const float *bias, int accumulate, float *scratch,
                      int64_t part_floats) {
    pass_job j = {t, p, NULL, images, spectrum, NULL, bias, accumulate, scratch, part_floats};
    oti_parallel_ranges(pool, fft_plane_count(p) / OT_PANEL_COLS, 1, run_blocks, &j);
}
