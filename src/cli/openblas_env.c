/* OpenBLAS starts its worker threads when it loads, and idle workers spin (sched_yield in a
 * loop) for 2^28 cycles, about 0.1 s, before they sleep. onnxtrain does its threading itself
 * (src/ops/gemm.c makes OpenBLAS single-threaded when its pool starts), so those workers only
 * take CPU from it: at start-up, and, before the pool took over the GEMMs, after every threaded
 * GEMM (a third of the CPU time of a CNN evaluation on 2 cores). The CLI therefore sets
 * OPENBLAS_THREAD_TIMEOUT=4 (log2 cycles, OpenBLAS's minimum), has OpenBLAS read its
 * environment again and stops its threads, first thing in main.
 *
 * OpenBLAS reads the variable in its constructor, before main, and libc's own start-up then
 * resets the environment, so it cannot be set from inside the process in time. Those two
 * functions are exported by OpenBLAS's pthread build but are not public API: they are weak
 * references, and with another BLAS (or a user's own OPENBLAS_THREAD_TIMEOUT) nothing changes. */
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
