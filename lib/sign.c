/* sign.c - being written; see airpack/sign.h. */
#include "airpack/sign.h"
