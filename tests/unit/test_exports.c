/* SPDX-License-Identifier: MIT */
/*
 * The built module loads with every symbol resolved and exports the PAM entry points and
 * nothing else: its dynamic symbol table is read from the ELF file itself.
 */
#include "config.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/util.h"

static const char *const entry_points[] = {
	"pam_sm_authenticate", "pam_sm_setcred",       "pam_sm_acct_mgmt",
	"pam_sm_open_session", "pam_sm_close_session", "pam_sm_chauthtok",
};

static const char *module_path(void)
{
	const char *p = getenv("A0_MODULE");

	if (!p)
		fail_msg("A0_MODULE is not set");
	return p;
}

static void test_dlopen_resolves_entry_points(void **state)
{
	void *h = dlopen(module_path(), RTLD_NOW | RTLD_LOCAL);

	if (!h)
		fail_msg("dlopen: %s", dlerror());
	for (size_t i = 0; i < A0_ARRAY_SIZE(entry_points); i++)
		assert_non_null(dlsym(h, entry_points[i]));
	/* The core library is linked in but hidden. */
	assert_null(dlsym(h, "a0_config_load"));
	assert_null(dlsym(h, "a0_http_request"));
	dlclose(h);
}

static void test_only_pam_sm_exported(void **state)
{
	int fd = open(module_path(), O_RDONLY);
	struct stat st;
	void *mapping;
	const unsigned char *map;
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
	size_t found = 0;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	mapping = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	assert_true(mapping != MAP_FAILED);
	map = mapping;
	eh = (const Elf64_Ehdr *)map;
	assert_memory_equal(eh->e_ident, ELFMAG, SELFMAG);
	assert_int_equal(eh->e_ident[EI_CLASS], ELFCLASS64);
	sh = (const Elf64_Shdr *)(map + eh->e_shoff);
	for (int i = 0; i < eh->e_shnum; i++) {
		const Elf64_Sym *syms;
		const char *names;
		size_t n;

		if (sh[i].sh_type != SHT_DYNSYM)
			continue;
		syms = (const Elf64_Sym *)(map + sh[i].sh_offset);
		names = (const char *)(map + sh[sh[i].sh_link].sh_offset);
		n = sh[i].sh_size / sizeof(Elf64_Sym);
		for (size_t j = 0; j < n; j++) {
			const char *name = names + syms[j].st_name;
			int bind = ELF64_ST_BIND(syms[j].st_info);

			if (syms[j].st_shndx == SHN_UNDEF ||
			    (bind != STB_GLOBAL && bind != STB_WEAK))
				continue;
			if (strcmp(name, "_init") == 0 || strcmp(name, "_fini") == 0)
				continue;
			if (strncmp(name, "pam_sm_", 7) != 0)
				fail_msg("the module exports '%s'", name);
			found++;
		}
	}
	assert_int_equal(found, A0_ARRAY_SIZE(entry_points));
	munmap(mapping, (size_t)st.st_size);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dlopen_resolves_entry_points),
		cmocka_unit_test(test_only_pam_sm_exported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
