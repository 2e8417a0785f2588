/* SPDX-License-Identifier: MIT */
/*
 * PAM-stack test programs need pam_wrapper preloaded with their own service directory, so each
 * runs itself again in a child: pamwrap_run() does that once, for every program.
 */
#ifndef A0_TEST_PAMWRAP_H
#define A0_TEST_PAMWRAP_H

#include <stdbool.h>

/* Writes the program's service files into services/ (paths may name run_dir). */
typedef void (*pamwrap_services_fn)(const char *run_dir, const char *services);

/* True in the re-executed child. */
bool pamwrap_is_child(void);
/* The child's run dir (the parent's mkdtemp). */
const char *pamwrap_run_dir(void);

/*
 * In the parent: make /tmp/<prefix>-XXXXXX, write the services, run this program again with
 * pam_wrapper preloaded (and extra_env, "NAME=VALUE" strings, NULL-terminated, set in the child
 * only), remove the run dir, and return the child's exit status.
 */
int pamwrap_run(char **argv, const char *prefix, pamwrap_services_fn services,
		const char *const *extra_env);

#endif
