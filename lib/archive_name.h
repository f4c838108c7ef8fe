/* archive_name.h - private to the two modules that read archives with
 * libarchive (bundle.c and extract.c): an entry's name as UTF-8. */
#ifndef AIRPACK_ARCHIVE_NAME_H
#define AIRPACK_ARCHIVE_NAME_H

#include <archive_entry.h>

/* The entry's name as UTF-8, malloc'd; NULL when it cannot be read (or
 * out of memory).  See ap_fsx_wide_names: on Windows only libarchive's wide
 * form is exact, in both directions.  Defined in extract.c. */
char *ap_archive_entry_name(struct archive_entry *e);

#endif
