/* service.h - a release's long-running programs, registered with the OS's
 * service manager (docs/services.md).
 *
 * POSIX: a systemd unit, ROOT/etc/systemd/system/NAME.service, enabled the
 * way `systemctl enable` (and `systemctl --root`) does it, by a link in
 * ROOT/etc/systemd/system/multi-user.target.wants/.  On the host's own root
 * with systemd running, systemctl is told (daemon-reload, restart, stop);
 * in an image root, or where systemd is not running, the files are the
 * whole registration and the service starts at the next boot.
 *
 * Windows: the Service Control Manager (CreateServiceW ...), only for the
 * host's own root: an image's registry is not the running one, so there
 * registration waits for firstboot on the device (ap_service_can_register).
 *
 * A unit or service of that name that airpack did not write for this
 * product is never touched: registration refuses it (AP_E_EXISTS).
 */
#ifndef AP_SERVICE_H
#define AP_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include "airpack/err.h"
#include "airpack/receipt.h"

/* Where a service is registered: root is the install root, host whether
 * it is this host's own root (the running system). */
struct ap_service_where {
	const char *root;
	bool host;
	const char *product; /* the owner written into the registration */
	bool foreign;	     /* the release is for another OS than this build's
				(ap_winname_platform_is_foreign): nothing is
				registered here */
};

/* Whether s can be registered now (false: a Windows image root, or a
 * release for another OS). */
bool ap_service_can_register(const struct ap_service_where *w);

/* The systemd unit for s, as register writes it (POSIX; for tests and
 * docs).  *text is malloc'd and NUL-terminated. */
int ap_service_unit(const struct ap_service_where *w, const struct ap_receipt_service *s,
		    char **text, size_t *len, struct ap_err *err);

/* Whether s can be registered without touching what is not ours: a unit
 * or service of its name that airpack did not write for w->product is
 * AP_E_EXISTS, a unit folder that is a link AP_E_UNSAFE.  An install asks
 * before its switch. */
int ap_service_check(const struct ap_service_where *w, const struct ap_receipt_service *s,
		     struct ap_err *err);

/* Register s (or update its registration) and, on the host, (re)start it.
 * note (size bytes) gets what happened, e.g. "started" or "enabled: starts
 * at the next boot (systemd is not running here)". */
int ap_service_register(const struct ap_service_where *w, const struct ap_receipt_service *s,
			char *note, size_t size, struct ap_err *err);

/* Stop the service on the host (a no-op elsewhere).  One that is not
 * registered or not running is not an error. */
int ap_service_stop(const struct ap_service_where *w, const char *name, struct ap_err *err);

/* Start a registered service on the host again (a no-op elsewhere). */
int ap_service_start(const struct ap_service_where *w, const char *name, struct ap_err *err);

/* Stop the service and remove its registration (ours only; one already gone
 * is not an error). */
int ap_service_remove(const struct ap_service_where *w, const char *name, struct ap_err *err);

/* Its state, for status: "running", "stopped", "enabled (starts at boot)",
 * "disabled", "not registered" or "unknown". */
void ap_service_state(const struct ap_service_where *w, const char *name, char *out, size_t size);

#endif
