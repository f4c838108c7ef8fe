/* process.c - being written; see airpack/process.h. */
#include "airpack/process.h"
