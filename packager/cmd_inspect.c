/* cmd_inspect.c - being written. */
