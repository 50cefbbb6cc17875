/* The process group over MPI (Open MPI, MPICH): the only file that includes mpi.h. Built
 * without MPI (OT_HAVE_MPI undefined), every group has one process and the collectives are
 * no-ops. Collectives return errors instead of aborting (MPI_ERRORS_RETURN), so a failed
 * call is a message naming the rank; a process that dies is noticed by mpirun, which ends
 * the others. */
#include "process_group.h"

#include <limits.h>
#include <stdlib.h>

#include "core/util.h"

#ifdef OT_HAVE_MPI
#include <mpi.h>
#endif

struct ot_process_group {
    int rank, size;
    int initialized; /* this group called MPI_Init */
#ifdef OT_HAVE_MPI
    MPI_Comm comm;
#endif
};

/* Whether a launcher started this process as one of several: Open MPI's mpirun, PMI (MPICH,
 * Slurm's srun --mpi=pmi2) or PMIx (srun --mpi=pmix). A plain run never calls MPI_Init. */
static int launched_by_mpi(void) {
    static const char *const names[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"};
    for (int i = 0; i < OT_COUNT(names); i++)
        if (getenv(names[i])) return 1;
    return 0;
}

int ot_process_group_available(void) {
#ifdef OT_HAVE_MPI
    return 1;
#else
    return 0;
#endif
}

int ot_process_group_rank(const ot_process_group *g) { return g ? g->rank : 0; }
int ot_process_group_size(const ot_process_group *g) { return g ? g->size : 1; }

#ifdef OT_HAVE_MPI
static int distributed(const ot_process_group *g) { return g && g->size > 1; }

static ot_status mpi_check(const ot_process_group *g, int code, const char *call) {
    if (code == MPI_SUCCESS) return OT_OK;
    char text[MPI_MAX_ERROR_STRING] = "";
    int length = 0;
    MPI_Error_string(code, text, &length);
    return oti_fail(OT_ERR_IO, "rank %d of %d: %s failed: %s (another rank may have stopped)", g->rank, g->size,
                   call, text);
}

ot_status ot_process_group_open(int *argc, char ***argv, ot_process_group **out) {
    ot_process_group *g = oti_calloc(1, sizeof *g);
    OT_ALLOC_CHECK(g);
    g->size = 1;
    *out = g;
    if (!launched_by_mpi()) return OT_OK;
    int provided = 0;
    /* Only the main thread calls MPI; the compute threads never do. */
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return oti_fail(OT_ERR_IO, "MPI_Init failed: is this process started by mpirun or srun?");
    g->initialized = 1;
    MPI_Comm_dup(MPI_COMM_WORLD, &g->comm);
    MPI_Comm_set_errhandler(g->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(g->comm, &g->rank);
    MPI_Comm_size(g->comm, &g->size);
    return OT_OK;
}

void ot_process_group_close(ot_process_group *g) {
    if (!g) return;
    if (g->initialized) {
        MPI_Comm_free(&g->comm);
        MPI_Finalize();
    }
    free(g);
}

void ot_process_group_abort(ot_process_group *g, int code) {
    if (distributed(g)) MPI_Abort(g->comm, code);
}

int ot_process_group_first_failed(ot_process_group *g, int ok) {
    if (!distributed(g)) return ok ? -1 : 0;
    int mine = ok ? g->size : g->rank, first = mine;
    if (MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, g->comm) != MPI_SUCCESS) return g->rank;
    return first == g->size ? -1 : first;
}

/* MPI counts are ints: long arrays go in pieces of at most 2^30 elements. */
#define PIECE ((int64_t)1 << 30)

static ot_status reduce(ot_process_group *g, void *values, int64_t n, MPI_Datatype type, size_t size, MPI_Op op) {
    if (!distributed(g)) return OT_OK;
    for (int64_t at = 0; at < n; at += PIECE) {
        int count = (int)OT_MIN(PIECE, n - at);
        OT_TRY(mpi_check(g, MPI_Allreduce(MPI_IN_PLACE, (char *)values + (size_t)at * size, count, type, op, g->comm),
                         "MPI_Allreduce"));
    }
    return OT_OK;
}

ot_status oti_group_sum_floats(ot_process_group *g, float *values, int64_t n) {
    return reduce(g, values, n, MPI_FLOAT, sizeof(float), MPI_SUM);
}

ot_status oti_group_sum_doubles(ot_process_group *g, double *values, int64_t n) {
    return reduce(g, values, n, MPI_DOUBLE, sizeof(double), MPI_SUM);
}

ot_status oti_group_max_doubles(ot_process_group *g, double *values, int64_t n) {
    return reduce(g, values, n, MPI_DOUBLE, sizeof(double), MPI_MAX);
}

ot_status oti_group_broadcast(ot_process_group *g, void *data, size_t bytes, int root) {
    if (!distributed(g)) return OT_OK;
    for (size_t at = 0; at < bytes; at += (size_t)PIECE) {
        int count = (int)OT_MIN((size_t)PIECE, bytes - at);
        OT_TRY(mpi_check(g, MPI_Bcast((char *)data + at, count, MPI_BYTE, root, g->comm), "MPI_Bcast"));
    }
    return OT_OK;
}

#else /* built without MPI: a group of one */

ot_status ot_process_group_open(int *argc, char ***argv, ot_process_group **out) {
    (void)argc;
    (void)argv;
    *out = oti_calloc(1, sizeof **out);
    OT_ALLOC_CHECK(*out);
    (*out)->size = 1;
    if (launched_by_mpi())
        return oti_fail(OT_ERR_UNSUPPORTED, "this onnxtrain was built without MPI, so it cannot train across the "
                       "processes mpirun started; rebuild it with Open MPI installed (libopenmpi-dev)");
    return OT_OK;
}

void ot_process_group_close(ot_process_group *g) { free(g); }
void ot_process_group_abort(ot_process_group *g, int code) { (void)g, (void)code; }
int ot_process_group_first_failed(ot_process_group *g, int ok) { return (void)g, ok ? -1 : 0; }
ot_status oti_group_sum_floats(ot_process_group *g, float *values, int64_t n) { return (void)g, (void)values, (void)n, OT_OK; }
ot_status oti_group_sum_doubles(ot_process_group *g, double *values, int64_t n) { return (void)g, (void)values, (void)n, OT_OK; }
ot_status oti_group_max_doubles(ot_process_group *g, double *values, int64_t n) { return (void)g, (void)values, (void)n, OT_OK; }
ot_status oti_group_broadcast(ot_process_group *g, void *data, size_t bytes, int root) {
    return (void)g, (void)data, (void)bytes, (void)root, OT_OK;
}
#endif
