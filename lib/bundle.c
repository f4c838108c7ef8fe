/* bundle.c - being written; see airpack/bundle.h. */
#include "airpack/bundle.h"
