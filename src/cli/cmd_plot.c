/* onnxtrain plot LOG.csv|DIR ... -o curves.svg|png: learning curves of one or several runs
 * (train --log files; a folder stands for every .csv file in it) as a picture. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "args.h"
#include "cli_alloc.h"
#include "commands.h"
#include "core/file_io.h"
#include "core/util.h"
#include "viz/plot.h"
#include "viz/surface.h"

#define MAX_RUNS 64

static const cli_flag flags[] = {
    {"out", 'o', "FILE", "write the picture here (atomically): .svg (for browsers) or .png"},
};

static const cli_command command = {
    "plot", "LOG.csv|DIR [LOG.csv|DIR ...] -o curves.svg|png",
    "Draws learning curves from train --log CSV files: loss, accuracy and learning rate over\n"
    "epochs, training solid and validation dashed, each run's best epoch (lowest validation loss)\n"
    "ringed. Several logs are overlaid in different colours, named after their files; a folder\n"
    "stands for every .csv file in it.",
    flags, OT_COUNT(flags), 1, MAX_RUNS,
    "example:\n"
    "  onnxtrain train model.onnx --data fashion-mnist --val-split 0.1 --log runs/adam.csv -o a.onnx\n"
    "  onnxtrain plot runs/ -o curves.svg"};

static int is_csv(const struct dirent *e) {
    size_t n = strlen(e->d_name);
    return n > 4 && !strcmp(e->d_name + n - 4, ".csv");
}

/* The log files a positional argument names: itself, or a folder's .csv files by name. */
static int add_paths(const cli_args *args, const char *arg, char **paths, int *n) {
    struct stat st;
    if (stat(arg, &st) != 0 || !S_ISDIR(st.st_mode)) {
        if (*n < MAX_RUNS) paths[(*n)++] = cli_xstrdup(arg);
        return 1;
    }
    struct dirent **entries;
    int count = scandir(arg, &entries, is_csv, alphasort);
    if (count <= 0) {
        cli_error(args, "%s: a folder without .csv logs", arg);
        if (count == 0) free(entries);
        return 0;
    }
    for (int i = 0; i < count; i++) {
        if (*n < MAX_RUNS) paths[(*n)++] = cli_or_exit(oti_path_join(arg, entries[i]->d_name));
        free(entries[i]);
    }
    free(entries);
    return 1;
}

/* A run's legend name: its file name without folder and .csv. */
static char *run_name(const char *path) {
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    size_t n = strlen(base);
    return cli_xstrndup(base, n > 4 && !strcmp(base + n - 4, ".csv") ? n - 4 : n);
}

int cmd_plot(int argc, char **argv) {
    cli_args args;
    int parsed = cli_parse(&command, argc, argv, &args);
    if (parsed) {
        cli_free(&args);
        return parsed == 1 ? 0 : 2;
    }
    const char *out = cli_get(&args, "out");
    int png, rc = 2, n = 0;
    char *paths[MAX_RUNS];
    oti_training_log logs[MAX_RUNS];
    oti_plot_run runs[MAX_RUNS];
    if (!out || !oti_picture_format(out, &png)) {
        cli_error(&args, out ? "-o %s: the picture's name should end in .svg or .png" : "-o curves.svg|png is required", out);
        goto done;
    }
    for (int i = 0; i < args.n_positional; i++)
        if (!add_paths(&args, args.positional[i], paths, &n)) goto done;
    rc = 1;
    int loaded = 0;
    for (; loaded < n; loaded++) {
        if (oti_training_log_read(paths[loaded], &logs[loaded]) != OT_OK) break;
        runs[loaded] = (oti_plot_run){run_name(paths[loaded]), &logs[loaded]};
    }
    if (loaded == n && oti_plot_learning_curves(runs, n, out) == OT_OK) {
        printf("wrote %s (%d run%s)\n", out, n, n == 1 ? "" : "s");
        rc = 0;
    } else {
        cli_fail(&args);
    }
    for (int i = 0; i < loaded; i++) {
        free((char *)runs[i].name);
        oti_training_log_free(&logs[i]);
    }
done:
    for (int i = 0; i < n; i++) free(paths[i]);
    cli_free(&args);
    return rc;
}
