/* digest.c - being written; see airpack/digest.h. */
#include "airpack/digest.h"
