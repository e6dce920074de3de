/* Dropping root by hand.  With User= in the unit, PID 1's child resolves the
 * user before exec: initgroups() asks nss-systemd, which asks PID 1 itself
 * over varlink, and the child then reports the uid to PID 1 on a datagram
 * socket that PID 1 reads when it has time.  In a reconnect storm PID 1 has
 * none, and thousands of children waited on both (docs/scale.md).  Here the
 * name is looked up by getpwnam(), which the passwd file answers for a
 * system user, and the groups the unit gave (SupplementaryGroups=) are
 * kept without asking anyone. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "vlsink/user.h"

#define MAX_GROUPS 256

int user_become(const char *name, const char **step)
{
	*step = "getpwnam";
	errno = 0;
	struct passwd *pw = getpwnam(name);
	if (!pw)
		return errno && errno != ESRCH ? -errno : -ENOENT;
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	if (uid == 0 || gid == 0)
		return -EINVAL;
	*step = "not root";
	if (geteuid() != 0)
		return getuid() == uid && geteuid() == uid ? 0 : -EPERM;

	gid_t groups[MAX_GROUPS];
	*step = "getgroups";
	int n = getgroups(MAX_GROUPS, groups);
	if (n < 0)
		return -errno;
	size_t k = 0;
	for (int i = 0; i < n; i++)
		if (groups[i] != 0)
			groups[k++] = groups[i];
	*step = "setgroups";
	if (setgroups(k, groups) < 0)
		return -errno;
	*step = "setresgid";
	if (setresgid(gid, gid, gid) < 0)
		return -errno;
	*step = "setresuid";
	if (setresuid(uid, uid, uid) < 0)
		return -errno;
	/* Leaving root clears the capabilities; make sure it did. */
	*step = "regaining root";
	if (setresuid(0, 0, 0) == 0 || geteuid() != uid || getegid() != gid)
		return -EPERM;
	return 0;
}
