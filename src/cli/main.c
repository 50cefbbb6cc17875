/* onnxtrain: dispatches to a subcommand. Exit codes: 0 ok, 1 failure, 2 bad usage. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

typedef struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} subcommand;

static const subcommand subcommands[] = {
    {"info", cmd_info, "show a model's inputs, outputs, opset and layers"},
    {"run", cmd_run, "run inference on .npy inputs, write .npy outputs"},
    {"convert", cmd_convert, "re-export an ONNX model, or move weights between formats"},
    {"new", cmd_new, "create a model from a layer list with fresh initial weights"},
    {"train", cmd_train, "train or fine-tune: freeze, cut, new head, cache, checkpoints"},
    {"eval", cmd_eval, "loss and accuracy of a model on labelled data"},
    {"plot", cmd_plot, "learning curves of train --log files as an SVG or PNG picture"},
};

static void usage(FILE *out) {
    fprintf(out, "usage: onnxtrain COMMAND [ARGS] (onnxtrain COMMAND --help for its flags)\n\n"
                 "Train, fine-tune and convert ONNX models on the CPU.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        fprintf(out, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
}

int main(int argc, char **argv) {
    cli_quiet_blas_threads();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("onnxtrain 0.1.0\n");
        return 0;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (!strcmp(argv[1], subcommands[i].name)) return subcommands[i].run(argc - 2, argv + 2);
    fprintf(stderr, "onnxtrain: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
