/* The FFT convolution's shared types: the frame every plane is transformed in, the planes of
 * a tensor in the order a pass wants them, and the batched 2-D real DFTs between images and
 * spectra (conv_fft_transforms.c), used by the drivers in conv_fft.c, which explain the
 * algorithm and the shapes. */
#ifndef OT_CONV_FFT_H
#define OT_CONV_FFT_H

#include <stdint.h>

#include "core/thread_pool.h"

#define FFT_MAX_SIDE 32 /* the largest frame side the FFT path takes */

/* The padded input plane (nh, nw) of one conv: its DFT has nh x fws distinct complex values
 * (fws = nw / 2 + 1, the rest are their conjugates), freqs in all. */
typedef struct fft_frame {
    int64_t nh, nw, fws, freqs;
} fft_frame;

/* The planes of a 4-D tensor (A, B, h, w) as a pass orders them: plane j is
 * (j / inner_padded, j % inner_padded) in (outer, inner), with outer and inner either of the
 * tensor's first two dims (their strides say which). Planes whose inner index is past `inner`
 * are zero; inner_padded is a multiple of 16 so every product is whole 16-column blocks. */
typedef struct fft_planes {
    int64_t outer, inner, inner_padded;
    int64_t outer_stride, inner_stride; /* floats between planes */
} fft_planes;

static inline int64_t fft_plane_count(const fft_planes *p) {
    return p->outer * p->inner_padded;
}

/* One DFT between (rows, cols) images and spectra: forward, the images are inputs placed at
 * (row0, col0) of the zero frame; inverse, they are the part of the frame from (row0, col0)
 * that is kept. The matrices are in panel layout (panel_gemm.h):
 *   forward: row (2 fws, cols), rows (re/im, fw); col (2 nh, 2 rows), rows (fh, re/im), k (r,
 * re/im) inverse: col (2 rows, 2 nh), rows (r, re/im), k (fh, re/im); row (cols, 2 fws), k (re/im,
 * fw) A spectrum holds, for frequency (fh, fw) at index fw * nh + fh, the real parts of all planes
 * then their imaginary parts: S[f][re/im][plane]. */
typedef struct fft_transform {
    const fft_frame *f;
    int inverse;
    int64_t rows, cols, row0, col0;
    float *row_dft, *col_dft;
} fft_transform;

/* Floats of a transform's matrices, and its setup (matrices carved from *memory, which
 * advances). */
int64_t oti_fft_transform_floats(const fft_frame *f, int inverse, int64_t rows, int64_t cols);
void oti_fft_transform_init(fft_transform *t, const fft_frame *f, int inverse, int64_t rows,
                        int64_t cols, int64_t row0, int64_t col0, float **memory);

/* Per-thread scratch floats of a transform of (rows, cols) images (either direction). */
int64_t oti_fft_transform_scratch(const fft_frame *f, int64_t rows, int64_t cols);

/* spectrum (freqs, 2, count) = DFT of the planes of `images` (forward transform). Runs over
 * the compute threads, part i using scratch + i * part_floats. */
void oti_fft_forward_pass(ot_pool *pool, const fft_transform *t, const fft_planes *p, const float *images,
                      float *spectrum, float *scratch, int64_t part_floats);
/* images' planes = inverse DFT of the spectrum (+ bias[outer]), or added into them. */
void oti_fft_inverse_pass(ot_pool *pool, const fft_transform *t, const fft_planes *p, const float *spectrum,
                      float *images, const float *bias, int accumulate, float *scratch,
                      int64_t part_floats);

#endif
