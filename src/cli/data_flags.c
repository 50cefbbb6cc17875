/* Parsing of the shared data flags. */
#include "cli_alloc.h"
#include "data_flags.h"

#include <math.h>
#include <string.h>
#include <stdlib.h>

#include "core/util.h"

static int parse_classes(const cli_args *args, const char *text, cli_data_options *out) {
    char *copy = cli_xstrdup(text), *save = NULL;
    int n = 0, ok = 1;
    for (char *item = strtok_r(copy, ",", &save); item && ok; item = strtok_r(NULL, ",", &save)) {
        int64_t a, b;
        char *dash = strchr(item, '-');
        if (dash) {
            *dash = '\0';
            ok = oti_parse_int64(item, &a) && oti_parse_int64(dash + 1, &b) && a >= 0 && b >= a;
        } else {
            ok = oti_parse_int64(item, &a) && a >= 0;
            b = a;
        }
        for (int64_t c = a; ok && c <= b; c++) {
            ok = n < 256;
            if (ok) out->classes[n++] = c;
        }
    }
    free(copy);
    if (!ok || n == 0) {
        cli_error(args, "--classes %s: expected labels like 5-9 or 1,3,7 (at most 256)", text);
        return 0;
    }
    out->options.classes = out->classes;
    out->options.n_classes = n;
    return 1;
}

static int parse_floats(const cli_args *args, const char *flag, const char *text, float *values, int *count) {
    char *copy = cli_xstrdup(text), *save = NULL;
    int n = 0, ok = 1;
    for (char *item = strtok_r(copy, ",", &save); item && ok; item = strtok_r(NULL, ",", &save)) {
        double v;
        ok = n < 3 && oti_parse_double(item, &v) && isfinite(v);
        if (ok) values[n++] = (float)v;
    }
    free(copy);
    if (!ok || (n != 1 && n != 3)) {
        cli_error(args, "--%s %s: expected one number or three comma-separated numbers", flag, text);
        return 0;
    }
    *count = n;
    return 1;
}

int cli_data_options_read(const cli_args *args, const ot_value *input, ot_context *ctx,
                          cli_data_options *out) {
    memset(out, 0, sizeof *out);
    out->options.context = ctx;
    if (!cli_get_int(args, "limit", 0, 0, INT64_MAX, &out->options.limit)) return 0;
    if (!cli_get_int(args, "per-class", 0, 0, INT64_MAX, &out->options.per_class)) return 0;
    if (cli_has(args, "classes") && !parse_classes(args, cli_get(args, "classes"), out)) return 0;
    if (cli_has(args, "mean") && !parse_floats(args, "mean", cli_get(args, "mean"), out->mean, &out->options.n_mean)) return 0;
    if (cli_has(args, "std") && !parse_floats(args, "std", cli_get(args, "std"), out->std, &out->options.n_std)) return 0;
    for (int i = 0; i < out->options.n_std; i++)
        if (out->std[i] == 0) {
            cli_error(args, "--std must not be 0");
            return 0;
        }
    out->options.mean = out->mean;
    out->options.std = out->std;
    if (input && input->has_shape && input->tensor.ndim == 4) {
        out->options.image_channels = input->tensor.dims[1];
        out->options.image_height = input->tensor.dims[2];
        out->options.image_width = input->tensor.dims[3];
    }
    return 1;
}
