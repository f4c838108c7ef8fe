/* platform.h - which platform an executable or a release is for.
 *
 * A platform is the manifest's "platform" string: "linux-amd64",
 * "windows-amd64" (docs/manifest.md).  An executable's platform is read from
 * its header, never from its name: an ELF x86-64 file is "linux-amd64", an
 * ELF AArch64 one "linux-arm64", a PE x86-64 image "windows-amd64", a PE ARM64
 * one "windows-arm64".  The setup's stub (airpack build --sfx) and the
 * installer's host check use these.
 */
#ifndef AP_PLATFORM_H
#define AP_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include "airpack/err.h"

/* The platform of the executable whose first n bytes are head, or NULL when
 * they are not an executable this knows.  Needs at most AP_PLATFORM_HEAD
 * bytes; a PE header further in than that is not recognised. */
#define AP_PLATFORM_HEAD 4096
const char *ap_platform_of_header(const unsigned char *head, size_t n);

/* The platform of the executable file path: 0 and *platform (a static
 * string, NULL when the header is not one this knows); AP_E_NOTFOUND when
 * the file does not exist, AP_E_IO when it cannot be read. */
int ap_platform_of_file(const char *path, const char **platform, struct ap_err *err);

/* The platform this program was built for ("linux-amd64", ...). */
const char *ap_platform_host(void);

/* True when a release for release_platform runs on platform: a release that
 * names no platform (NULL) runs anywhere; else the two are equal ignoring
 * case, or the release names only the system ("linux", "Windows") and
 * platform is that system's. */
bool ap_platform_matches(const char *release_platform, const char *platform);

#endif
