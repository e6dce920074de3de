/* --user: vlsink started as root becomes an unprivileged user before it
 * reads anything, so that its unit needs no User= (vlsink(1), --user). */
#ifndef VLSINK_USER_H
#define VLSINK_USER_H

/* Becomes NAME: its uid and primary group, the supplementary groups the
 * process was given less root's, and no way back.  Already NAME (not
 * root): nothing to do.  0, or -errno: -ENOENT no such user, -EPERM
 * neither root nor NAME already, -EINVAL NAME is root; *step names the
 * call that failed. */
int user_become(const char *name, const char **step);

#endif
