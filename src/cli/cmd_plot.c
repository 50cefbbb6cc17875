/* onnxtrain plot LOG|DIR ... -o curves.svg|png: learning curves of one or several runs
 * (train --log CSV files or train --tensorboard event files, both read into one table kind,
 * so they are drawn alike) as a picture. */
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
    "plot", "LOG.csv|EVENTS|DIR [...] -o curves.svg|png",
    "Draws learning curves from train --log CSV files or train --tensorboard event files (their\n"
    "epoch/ scalars): loss, accuracy and learning rate over epochs, training solid and validation\n"
    "dashed, each run's best epoch (lowest validation loss) ringed. Several runs are overlaid in\n"
    "different colours, named after their files. A folder stands for its .csv files, or, when it\n"
    "has none, for its event files (names holding \"tfevents\"), one run each, named after the\n"
    "folder. A torn or damaged last record of an event file is skipped, as TensorBoard does.",
    flags, OT_COUNT(flags), 1, MAX_RUNS,
    "example:\n"
    "  onnxtrain train model.onnx --data fashion-mnist --val-split 0.1 --log runs/adam.csv -o a.onnx\n"
    "  onnxtrain plot runs/ -o curves.svg\n"
    "  onnxtrain train model.onnx --data fashion-mnist --val-split 0.1 --tensorboard tb/ -o a.onnx\n"
    "  onnxtrain plot tb/ -o curves.svg"};

/* A run to draw: its log file and its legend name. */
typedef struct plot_input {
    char *path, *name;
} plot_input;

static int has_suffix(const char *name, const char *suffix) {
    size_t n = strlen(name), k = strlen(suffix);
    return n > k && !strcmp(name + n - k, suffix);
}

static int is_csv(const struct dirent *e) { return has_suffix(e->d_name, ".csv"); }
static int is_events(const struct dirent *e) { return oti_training_log_is_event_file(e->d_name); }

/* A folder's name without its path and trailing slashes ("runs/adam/" -> "adam"). */
static char *folder_name(const char *dir) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    char *trimmed = cli_xstrndup(dir, n), *name = cli_xstrdup(oti_path_base(trimmed));
    free(trimmed);
    return name;
}

/* A log file named on the command line: a CSV log named after its file without .csv, an event
 * file after its folder. */
static plot_input file_input(const char *path) {
    const char *base = oti_path_base(path);
    if (!oti_training_log_is_event_file(path))
        return (plot_input){cli_xstrdup(path), cli_xstrndup(base, strlen(base) - (has_suffix(base, ".csv") ? 4 : 0))};
    char *dir = cli_or_exit(oti_path_dirname(path));
    plot_input in = {cli_xstrdup(path), folder_name(dir)};
    free(dir);
    return in;
}

/* A folder's log files by name: its .csv logs, else its event files (several: numbered, in
 * name order, which is the order the runs started). */
static int add_folder(const cli_args *args, const char *dir, plot_input *inputs, int *n) {
    struct dirent **entries;
    int count = scandir(dir, &entries, is_csv, alphasort), events = 0;
    if (count == 0) {
        free(entries);
        count = scandir(dir, &entries, is_events, alphasort);
        events = 1;
    }
    if (count <= 0) {
        cli_error(args, "%s: a folder without .csv logs or TensorBoard event files", dir);
        if (count == 0) free(entries);
        return 0;
    }
    char *name = folder_name(dir);
    for (int i = 0; i < count; i++) {
        if (*n < MAX_RUNS) {
            char *path = cli_or_exit(oti_path_join(dir, entries[i]->d_name));
            if (events) {
                inputs[(*n)++] = (plot_input){path, count == 1 ? cli_xstrdup(name) : cli_xasprintf("%s %d", name, i + 1)};
            } else {
                inputs[(*n)++] = file_input(path);
                free(path);
            }
        }
        free(entries[i]);
    }
    free(entries);
    free(name);
    return 1;
}

/* The runs a positional argument names: itself, or a folder's logs. */
static int add_inputs(const cli_args *args, const char *arg, plot_input *inputs, int *n) {
    struct stat st;
    if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) return add_folder(args, arg, inputs, n);
    if (*n < MAX_RUNS) inputs[(*n)++] = file_input(arg);
    return 1;
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
    plot_input inputs[MAX_RUNS];
    oti_training_log logs[MAX_RUNS];
    oti_plot_run runs[MAX_RUNS];
    if (!out || !oti_picture_format(out, &png)) {
        cli_error(&args, out ? "-o %s: the picture's name should end in .svg or .png" : "-o curves.svg|png is required", out);
        goto done;
    }
    for (int i = 0; i < args.n_positional; i++)
        if (!add_inputs(&args, args.positional[i], inputs, &n)) goto done;
    rc = 1;
    int loaded = 0;
    for (; loaded < n; loaded++) {
        if (oti_training_log_read(inputs[loaded].path, &logs[loaded]) != OT_OK) break;
        runs[loaded] = (oti_plot_run){inputs[loaded].name, &logs[loaded]};
    }
    if (loaded == n && oti_plot_learning_curves(runs, n, out) == OT_OK) {
        printf("wrote %s (%d run%s)\n", out, n, n == 1 ? "" : "s");
        rc = 0;
    } else {
        cli_fail(&args);
    }
    for (int i = 0; i < loaded; i++) oti_training_log_free(&logs[i]);
done:
    for (int i = 0; i < n; i++) free(inputs[i].path), free(inputs[i].name);
    cli_free(&args);
    return rc;
}
