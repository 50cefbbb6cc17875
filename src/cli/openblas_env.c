/* OpenBLAS's idle worker threads spin (sched_yield in a loop) for 2^28 cycles, about 0.1 s,
 * after each threaded GEMM before they sleep. Between GEMMs our own compute threads run
 * im2col, pooling, BatchNorm and the optimizer on the same cores, and the spinning thread
 * takes a share of them: a third of all CPU time in a CNN evaluation on 2 cores. Letting the
 * workers sleep at once made evaluation 0.78 -> 0.60 s and an MLP epoch 2.4 -> 1.9 s; waking
 * them costs less than their spinning.
 *
 * OpenBLAS reads OPENBLAS_THREAD_TIMEOUT (log2 of the cycles; 4 is its minimum) once, in its
 * constructor, before main runs. Functions in the executable's .preinit_array run before any
 * shared library's constructor, so the CLI sets it there. A value the user set is kept. */
#include <stdlib.h>

static void set_openblas_thread_timeout(int argc, char **argv, char **envp) {
    (void)argc;
    (void)argv;
    (void)envp;
    setenv("OPENBLAS_THREAD_TIMEOUT", "4", 0);
}

__attribute__((section(".preinit_array"), used)) static void (*const preinit_openblas)(int, char **, char **) =
    set_openblas_thread_timeout;
