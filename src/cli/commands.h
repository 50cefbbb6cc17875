/* The subcommands; each lives in its own cmd_<name>.c. */
#ifndef OT_CLI_COMMANDS_H
#define OT_CLI_COMMANDS_H

int cmd_info(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_new(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);

#endif
