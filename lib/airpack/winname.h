/* winname.h - the names Windows treats specially, and names Windows sees
 * as the same.
 *
 * A release for Windows (or installed on Windows) may only create paths
 * that Windows can create, open and delete with ordinary calls.  A part of
 * a path is unsafe for Windows when it is:
 *
 *   - a reserved device name, with or without an extension, in any letter
 *     case: CON, PRN, AUX, NUL, COM1-COM9, LPT1-LPT9 (also with the
 *     superscript digits ¹²³), CONIN$, CONOUT$ ("nul.txt", "Aux .log");
 *   - a name ending in a dot or a space (Windows drops them: "notes.");
 *   - a name holding a character Windows refuses in names: < > : " | ? *
 *     (':' also names an alternate data stream, "x:y", or a drive, "C:").
 *
 * Two names are the same for Windows when they differ only in letter case
 * (folded as Windows' upcase table does for Latin, Greek and Cyrillic
 * letters; other scripts compare exactly) or in trailing dots and spaces.
 *
 * The rules are data only: callers decide whether a problem is an error
 * (a Windows release, any release on Windows) or a warning.
 */
#ifndef AP_WINNAME_H
#define AP_WINNAME_H

#include <stdbool.h>
#include <stddef.h>

/* Why the part name[0..len) is unsafe for Windows (a short phrase), or
 * NULL when it is safe. */
const char *ap_winname_part_problem(const char *name, size_t len);

/* Why the '/'-separated relative path is unsafe for Windows, or NULL.
 * *bad_off and *bad_len (when not NULL) locate the offending part. */
const char *ap_winname_path_problem(const char *path, size_t *bad_off, size_t *bad_len);

/* True when a platform string ("windows-amd64", "Windows") names Windows. */
bool ap_winname_platform_is_windows(const char *platform);

/* True when a release for platform cannot run here: a Windows platform in
 * a program built for another OS, any other named platform in a Windows
 * build.  NULL (a release for any platform) is never foreign.  Its run
 * actions and services wait for firstboot on a device of its platform. */
bool ap_winname_platform_is_foreign(const char *platform);

/* The key under which Windows sees path: each part case-folded and
 * stripped of trailing dots and spaces (malloc'd; NULL when out of
 * memory).  Two paths collide on Windows when their keys are equal. */
char *ap_winname_fold(const char *path);

/* The length of name[0..len) as Windows sees it: trailing dots and spaces
 * dropped. */
size_t ap_winname_trimmed_len(const char *name, size_t len);

#endif
