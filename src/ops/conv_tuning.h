/* How convolutions choose their algorithm: a plan option (ot_plan_options.conv_tuning), read
 * when the plan is made; NULL takes oti_conv_tuning_default(). Tests lower the thresholds to
 * run small convs through each path. */
#ifndef OT_CONV_TUNING_H
#define OT_CONV_TUNING_H

#include <stdint.h>

typedef struct ot_conv_tuning {
    /* Upper bound on an im2col column buffer, in floats (64 MiB): larger convs are cut into
     * ranges of output positions. */
    int64_t column_budget_floats;
    /* Winograd (conv_winograd.c) for convs with at least this many input and output
     * channels; tiles go through in chunks of about chunk_floats transformed values. */
    int64_t winograd_min_channels;
    int64_t winograd_chunk_floats;
    /* Winograd's dX and dW only while out_channels * in_channels <= this ratio times batch *
     * output positions; beyond it the weights' transforms (16 values per kernel for a few
     * tiles) cost more than the products save and im2col takes that gradient (measured by
     * tools/bench/conv_bench: dW loses from about 64, dX from about 512). */
    int64_t winograd_dx_max_ratio;
    int64_t winograd_dw_max_ratio;
    /* ... and Winograd's dW only from this many input channels: below, its chunks are small
     * and their steps' barriers cost more than the multiplies saved (64 channels at 56x56,
     * batch 8, two threads: 25 ms against im2col's 18). */
    int64_t winograd_dw_min_channels;
    /* FFT (conv_fft.c) for convs with at least this many channels and min_gain times fewer
     * multiply-adds than im2col; samples go through in chunks (the spectra grow with them). */
    int64_t fft_min_channels;
    double fft_min_gain;
    int64_t fft_chunk_samples;
} ot_conv_tuning;

/* The defaults every plan uses unless told otherwise. */
ot_conv_tuning oti_conv_tuning_default(void);

#endif
