/* The subcommands; each lives in its own cmd_<name>.c. */
#ifndef OT_CLI_COMMANDS_H
#define OT_CLI_COMMANDS_H

int cmd_info(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_new(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_plot(int argc, char **argv);

/* Lets OpenBLAS's idle threads sleep instead of spinning (openblas_env.c says why). */
void cli_quiet_blas_threads(void);

#endif
