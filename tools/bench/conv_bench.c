/* One Conv's forward and backward (dX and dW) timed in a training plan, for choosing and
 * tuning the convolution algorithms (not in CI). Prints the fastest of the repeats, which a
 * busy machine disturbs least, for im2col + GEMM and for Winograd where it applies (with
 * the default tuning, which leaves dX or dW to im2col where the weights outweigh the tiles).
 *
 *   conv_bench BATCH CIN COUT H W K STRIDE PAD [REPEATS [THREADS]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/conv_tuning.h"
#include "test_support.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void fill(ot_tensor *t, unsigned seed) {
    float *d = t->data;
    for (int64_t i = 0, n = ot_tensor_numel(t); i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        d[i] = (float)((seed >> 9) & 0xffff) / 65536.0f - 0.5f;
    }
}

/* grads: 1 dX, 2 dW, 3 both. */
static void run(ot_context *ctx, const char *label, const ot_conv_tuning *tuning, const int64_t *a, int repeats,
                int grads) {
    int64_t n = a[0], cin = a[1], cout = a[2], h = a[3], w = a[4], k = a[5], stride = a[6], pad = a[7];
    int64_t xd[4] = {n, cin, h, w}, wd[4] = {cout, cin, k, k};
    ot_tensor x, wt;
    ot_tensor_alloc(NULL, &x, OT_FLOAT, 4, xd, "x");
    ot_tensor_alloc(NULL, &wt, OT_FLOAT, 4, wd, "w");
    fill(&x, 1);
    fill(&wt, 2);
    const ot_tensor *inputs[2] = {&x, &wt};
    int64_t strides[2] = {stride, stride}, pads[4] = {pad, pad, pad, pad}, kernel[2] = {k, k};
    ot_attr attrs[3] = {ts_attr_ints("strides", 2, strides), ts_attr_ints("pads", 4, pads),
                        ts_attr_ints("kernel_shape", 2, kernel)};
    ot_model *m = ts_single_node("", "Conv", 13, 2, inputs, NULL, 1, 3, attrs);
    unsigned char *trainable = calloc((size_t)m->n_values + 1, 1);
    trainable[ot_model_find_value(m, "x0")] = (grads & 1) != 0;
    trainable[ot_model_find_value(m, "x1")] = (grads & 2) != 0;
    ot_plan_options options = {.context = ctx};
    options.training = 1;
    options.trainable = trainable;
    options.conv_tuning = tuning;
    ot_plan *plan;
    if (ot_plan_create(m, &options, 0, NULL, NULL, &plan) != OT_OK) {
        fprintf(stderr, "plan: %s\n", ot_last_error());
        exit(1);
    }
    ot_tensor *dy = ot_plan_grad(plan, m->outputs[0]);
    double best_f = 1e30, best_b = 1e30;
    for (int r = 0; r < repeats; r++) {
        double t0 = now();
        ot_plan_forward(plan);
        double t1 = now();
        ot_plan_zero_grads(plan);
        fill(dy, 3);
        double t2 = now();
        ot_plan_backward(plan);
        double t3 = now();
        if (t1 - t0 < best_f) best_f = t1 - t0;
        if (t3 - t2 < best_b) best_b = t3 - t2;
    }
    int64_t oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    double gflop = 2.0 * (double)(n * cout * oh * ow * cin * k * k) / 1e9;
    static const char *const what[] = {"", "dX", "dW", "dX+dW"};
    printf("%-9s fwd %8.3f ms %6.1f GFLOP/s   %-5s %8.3f ms %6.1f GFLOP/s\n", label, 1e3 * best_f,
           gflop / best_f, what[grads], 1e3 * best_b, (grads == 3 ? 2 : 1) * gflop / best_b);
    ot_plan_free(plan);
    ot_model_free(m);
    free(trainable);
    ot_tensor_free(&x);
    ot_tensor_free(&wt);
    for (int i = 0; i < 3; i++) ot_attr_free(&attrs[i]);
}

int main(int argc, char **argv) {
    if (argc < 9) {
        fprintf(stderr, "usage: conv_bench BATCH CIN COUT H W K STRIDE PAD [REPEATS [THREADS]]\n");
        return 2;
    }
    int64_t a[8];
    for (int i = 0; i < 8; i++) a[i] = atoll(argv[1 + i]);
    int repeats = argc > 9 ? atoi(argv[9]) : 10;
    ot_context_options context_options = {.threads = argc > 10 ? atoi(argv[10]) : 0};
    ot_context *ctx;
    if (ot_context_create(&context_options, &ctx) != OT_OK) return 1;
    ot_conv_tuning im2col = oti_conv_tuning_default(), winograd = im2col;
    im2col.winograd_min_channels = im2col.fft_min_channels = (int64_t)1 << 40;
    winograd.fft_min_channels = (int64_t)1 << 40;
    for (int grads = 1; grads <= 2; grads++) {
        run(ctx, "im2col", &im2col, a, repeats, grads);
        run(ctx, "winograd", &winograd, a, repeats, grads);
    }
    ot_context_free(ctx);
    return 0;
}
