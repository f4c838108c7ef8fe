/* fsx.c - being written; see airpack/fsx.h. */
#include "airpack/fsx.h"
