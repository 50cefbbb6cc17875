/* --shape NAME=DIMS: "x=1x3x48x192", "x=Nx3x48x192" (N: leave the dim as declared). */
#include "shape_flags.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli_alloc.h"
#include "onnxtrain/status.h"

/* Parses "AxBxC" into dims (-1 for N); returns the count, or -1 when malformed. */
static int parse_dims(const char *text, int64_t *dims) {
    int n = 0;
    for (const char *p = text;; p++) {
        if (n == OT_MAX_DIMS) return -1;
        if (*p == 'N' || *p == '?') {
            dims[n++] = -1;
            p++;
        } else {
            char *end;
            errno = 0;
            long long v = strtoll(p, &end, 10);
            if (end == p || errno || v < 1) return -1;
            dims[n++] = v;
            p = end;
        }
        if (*p == '\0') return n;
        if (*p != 'x') return -1;
    }
}

int cli_apply_shape_flags(const cli_args *args, ot_model *m, int keep_batch) {
    const char *values[32];
    int count = cli_get_all(args, "shape", values, 32);
    for (int i = 0; i < count && i < 32; i++) {
        const char *equals = strchr(values[i], '=');
        int64_t dims[OT_MAX_DIMS];
        int ndim = equals ? parse_dims(equals + 1, dims) : -1;
        if (!equals || equals == values[i] || ndim < 1) {
            cli_error(args, "--shape %s: expected NAME=DIMS such as x=1x3x48x192", values[i]);
            return 0;
        }
        char *name = cli_xstrndup(values[i], (size_t)(equals - values[i]));
        if (keep_batch) dims[0] = -1;
        ot_status status = ot_model_set_input_shape(m, name, ndim, dims);
        free(name);
        if (status != OT_OK) {
            cli_error(args, "--shape %s: %s", values[i], ot_last_error());
            return 0;
        }
    }
    return 1;
}
