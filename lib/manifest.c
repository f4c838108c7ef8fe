/* manifest.c - being written; see airpack/manifest.h. */
#include "airpack/manifest.h"
