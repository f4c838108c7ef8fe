/* fetch.c - being written; see airpack/fetch.h. */
#include "airpack/fetch.h"
