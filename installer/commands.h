/* commands.h - airpack-setup's command functions and their usage texts. */
#ifndef AIRPACK_SETUP_COMMANDS_H
#define AIRPACK_SETUP_COMMANDS_H

int cmd_plan(int argc, char **argv);
int cmd_install(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_uninstall(int argc, char **argv);
int cmd_provision(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_extract(int argc, char **argv);
int cmd_layout(int argc, char **argv);
int cmd_versions(int argc, char **argv);
int cmd_firstboot(int argc, char **argv);

#endif
