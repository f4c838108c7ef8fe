/* cmd_keygen.c - being written. */
