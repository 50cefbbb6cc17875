/* Command-line parsing shared by the subcommands: each declares its flags once (name, value
 * placeholder, help), and the same table drives parsing, validation and --help. */
#ifndef OT_CLI_ARGS_H
#define OT_CLI_ARGS_H

#include <stdint.h>

#include "onnxtrain/context.h"

typedef struct cli_flag {
    const char *name;     /* long name without dashes: "lr" */
    char short_name;      /* 'o', or 0 */
    const char *value;    /* placeholder ("RATE") or NULL for a switch */
    const char *help;
} cli_flag;

typedef struct cli_command {
    const char *name;
    const char *usage; /* after "onnxtrain NAME " */
    const char *summary;
    const cli_flag *flags;
    int n_flags;
    int min_positional, max_positional;
    const char *details; /* printed after the flags, or NULL */
} cli_command;

typedef struct cli_args {
    const cli_command *command;
    int n_positional;
    const char **positional;
    int n_given;
    int *given_flag;        /* index into command->flags */
    const char **given_value;
} cli_args;

/* Parses argv (after the subcommand). Returns 0 on success; prints the error (naming the
 * flag) and returns 2 otherwise; prints help and returns 1 for --help. */
int cli_parse(const cli_command *command, int argc, char **argv, cli_args *out);
void cli_free(cli_args *args);
void cli_print_help(const cli_command *command);

/* The last value given for a flag, or NULL. */
const char *cli_get(const cli_args *args, const char *name);
int cli_has(const cli_args *args, const char *name);
/* Every value given for a repeatable flag, in order; returns the count. */
int cli_get_all(const cli_args *args, const char *name, const char **values, int capacity);

/* Typed readers: print "onnxtrain CMD: --flag: expected ..." and return 0 on bad input. */
int cli_get_int(const cli_args *args, const char *name, int64_t fallback, int64_t min,
                int64_t max, int64_t *out);
int cli_get_double(const cli_args *args, const char *name, double fallback, double min,
                   double max, double *out);

/* --max-memory MiB, shared by every command that loads models or data: caps any single
 * allocation and planned arenas (the context's memory limit); 0 or absent: no limit. */
#define CLI_MAX_MEMORY_FLAG                                                                      \
    {"max-memory", 0, "MiB", "refuse to allocate or plan more than this much memory at once; "    \
                             "the error names what needed it"}
/* The command's context: OpenBLAS's thread count (OPENBLAS_NUM_THREADS or the cores) and
 * --max-memory where the command has it. Returns 0 after printing the error on a bad value. */
int cli_context_create(const cli_args *args, ot_context **out);
/* --fast-conv: the plans' fast_convolution. */
#define CLI_FAST_CONV_FLAG                                                                       \
    {"fast-conv", 0, NULL, "Winograd F(4x4,3x3) and F(2x2,5x5) convolutions: 4x and 2.8x "      \
                           "fewer multiplies in 3x3 convs and in 5x5 convs on planes over 32x32, " \
                           "ten times the rounding error (1e-6 to 1e-5 of a tensor's scale "     \
                           "instead of ~1e-7)"}
/* --profile: time every layer (ot_plan_options.profile) and print profile_report.h's table. */
#define CLI_PROFILE_FLAG                                                                         \
    {"profile", 0, NULL, "time every layer and print the time per op type and the slowest "     \
                         "layers at the end"}

/* Prints "onnxtrain CMD: message" to stderr. */
void cli_error(const cli_args *args, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the library's last error, prefixed with the command (and, for the memory limit, how to
 * raise it). Returns 1. */
int cli_fail(const cli_args *args);
/* Errors printed from now on name the process (rank of ranks) when there are several. */
void cli_set_process_label(int rank, int ranks);

#endif
