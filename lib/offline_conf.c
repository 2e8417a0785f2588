/* SPDX-License-Identifier: MIT */
/* The offline verifier's settings of a configuration, for the module and auth0-pam(8). */
#include "config.h"

#include "lib/conf.h"
#include "lib/offline.h"

void a0_offline_of(const struct a0_config *cfg, struct a0_offline *ret)
{
	*ret = (struct a0_offline){
		.dir = cfg->offline_dir,
		.host_key = cfg->host_key_file,
		.run_dir = cfg->state_dir,
		.memory_kib = cfg->offline_memory,
		.passes = cfg->offline_passes,
		.max_age = cfg->offline_max_age,
		.max_failures = cfg->offline_max_failures,
		.rewrite_age = cfg->offline_rewrite_age,
	};
}
