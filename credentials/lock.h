/* SPDX-License-Identifier: MIT */
#ifndef A0_LOCK_H
#define A0_LOCK_H

/*
 * Locks that serialise the refreshes of one record across every process of the user, without
 * a daemon: flock(2) on a file per keyring and record in a directory only the user can write,
 * the first usable of
 *   $XDG_RUNTIME_DIR/auth0-credentials/   (XDG_RUNTIME_DIR absolute, owned by us, mode 0700)
 *   /run/user/<uid>/auth0-credentials/    (the same checks)
 * and no other: a name that another uid could create first (in /tmp) would let that user
 * block every refresh. Without either, locking fails (A0_ERR_SYSTEM, saying why).
 * Every directory and file is opened without following symbolic links and its owner and mode
 * are checked on the open descriptor. The kernel drops a lock when its holder dies, however it
 * dies, so a killed process never leaves a session locked.
 */

#include <stddef.h>

#include <keyutils.h>

/* 0 when dirfd is a directory owned by the effective user and closed to everyone else. */
int a0_lock_check_dir(int dirfd, const char *what, char *err, size_t errlen);
/* The lock directory, opened: 0 and the descriptor, or A0_ERR_SYSTEM with the reason. */
int a0_lock_open_dir(int *ret_dirfd, char *err, size_t errlen);
/*
 * Take the lock of record `name` in keyring (a serial, not a KEY_SPEC_*), waiting at most
 * wait_ms: 0 and the locked descriptor (close it, or a0_lock_release, to unlock), or
 * A0_ERR_SYSTEM / A0_ERR_TIMEOUT with the reason in err.
 */
int a0_lock_acquire(key_serial_t keyring, const char *name, unsigned wait_ms, int *ret_fd,
		    char *err, size_t errlen);
void a0_lock_release(int fd);

#endif
