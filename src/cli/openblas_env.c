/* OpenBLAS's idle worker threads spin (sched_yield in a loop) for 2^28 cycles, about 0.1 s,
 * after each threaded GEMM before they sleep. Between GEMMs our own compute threads run
 * im2col, pooling, BatchNorm and the optimizer on the same cores, and the spinning thread
 * takes a share of them: a third of all CPU time in a CNN evaluation on 2 cores. Letting the
 * workers sleep at once (OPENBLAS_THREAD_TIMEOUT=4, log2 cycles, OpenBLAS's minimum) made
 * evaluation 0.78 -> 0.60 s and an MLP epoch 2.4 -> 1.9 s: waking them costs less than their
 * spinning.
 *
 * OpenBLAS reads the variable in its constructor, before main, and libc's own start-up then
 * resets the environment, so it cannot be set from inside the process in time. Instead the
 * CLI sets it, has OpenBLAS read its environment again and stops its threads; the next
 * threaded GEMM starts them with the new timeout. Those two functions are exported by
 * OpenBLAS's pthread build but are not public API: they are weak references, and with
 * another BLAS (or a user's own OPENBLAS_THREAD_TIMEOUT) nothing changes. */
#include <stdlib.h>

#include "commands.h"

extern void openblas_read_env(void) __attribute__((weak));
extern int blas_thread_shutdown_(void) __attribute__((weak));

void cli_quiet_blas_threads(void) {
    if (getenv("OPENBLAS_THREAD_TIMEOUT") || !openblas_read_env || !blas_thread_shutdown_) return;
    setenv("OPENBLAS_THREAD_TIMEOUT", "4", 0);
    openblas_read_env();
    blas_thread_shutdown_();
}
