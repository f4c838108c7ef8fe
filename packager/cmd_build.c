/* cmd_build.c - being written. */
