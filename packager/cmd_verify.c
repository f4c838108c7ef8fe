/* cmd_verify.c - being written. */
