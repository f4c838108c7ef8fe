/* extract.c - being written; see airpack/extract.h. */
#include "airpack/extract.h"
