/* SPDX-License-Identifier: MIT */
/*
 * The built NSS module, read from its ELF file: it is libnss_auth0.so.2 by file name and
 * SONAME; it needs libc alone (every process on the host loads it: no libcurl, OpenSSL, cJSON
 * or keyutils; the sanitizers' runtimes in a sanitized build); it exports the _nss_auth0_*
 * entry points and nothing else, and dlopen resolves them; it is linked with full RELRO; and
 * the installed module holds no trace of the test build's A0_NSS_CACHE (the test build does,
 * so the search can fail).
 */
#include "config.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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
#include "nss/cache.h"

static const char *const entry_points[] = {
	"_nss_auth0_getpwnam_r", "_nss_auth0_getpwuid_r",     "_nss_auth0_setpwent",
	"_nss_auth0_getpwent_r", "_nss_auth0_endpwent",       "_nss_auth0_getgrnam_r",
	"_nss_auth0_getgrgid_r", "_nss_auth0_setgrent",       "_nss_auth0_getgrent_r",
	"_nss_auth0_endgrent",   "_nss_auth0_initgroups_dyn",
};

/* What the module may need: libc, the loader; the sanitizers' runtimes when built with them. */
static const char *const allowed_needed[] = {
	"libc.so.6",
	"ld-linux-x86-64.so.2",
#ifdef A0_SANITIZERS
	"libasan.so.8",
	"libubsan.so.1",
#endif
};

struct elf {
	void *map;
	const unsigned char *data;
	size_t size;
	const Elf64_Ehdr *eh;
};

static void elf_open(const char *path, struct elf *e)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		fail_msg("%s: cannot open", path);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true((size_t)st.st_size > sizeof(Elf64_Ehdr));
	e->map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	assert_true(e->map != MAP_FAILED);
	close(fd);
	e->data = e->map;
	e->size = (size_t)st.st_size;
	e->eh = e->map;
	if (memcmp(e->eh->e_ident, ELFMAG, SELFMAG) != 0 || e->eh->e_ident[EI_CLASS] != ELFCLASS64)
		fail_msg("%s: not a 64-bit ELF file", path);
}

static void elf_close(struct elf *e)
{
	munmap(e->map, e->size);
}

/* The n-th item of a table at off of count items of size bytes, checked against the file. */
static const void *item(const struct elf *e, uint64_t off, uint64_t count, uint64_t size,
			uint64_t n)
{
	assert_true(n < count && size > 0 && off <= e->size && count <= (e->size - off) / size);
	return e->data + off + n * size;
}

static const Elf64_Shdr *shdr(const struct elf *e, unsigned i)
{
	return item(e, e->eh->e_shoff, e->eh->e_shnum, e->eh->e_shentsize, i);
}

/* The string at off of the string table section s. */
static const char *str(const struct elf *e, const Elf64_Shdr *s, uint64_t off)
{
	const char *p = item(e, s->sh_offset, s->sh_size, 1, off);

	assert_non_null(memchr(p, '\0', s->sh_size - off));
	return p;
}

static void test_file_name_and_soname(void **state)
{
	const char *slash = strrchr(A0_NSS_MODULE, '/');
	bool soname = false;
	struct elf e;

	assert_string_equal(slash ? slash + 1 : A0_NSS_MODULE, "libnss_auth0.so.2");
	elf_open(A0_NSS_MODULE, &e);
	for (unsigned i = 0; i < e.eh->e_shnum; i++) {
		const Elf64_Shdr *s = shdr(&e, i);

		if (s->sh_type != SHT_DYNAMIC)
			continue;
		for (uint64_t j = 0; j < s->sh_size / sizeof(Elf64_Dyn); j++) {
			const Elf64_Dyn *d = item(&e, s->sh_offset, s->sh_size / sizeof(Elf64_Dyn),
						  sizeof(Elf64_Dyn), j);

			if (d->d_tag == DT_SONAME) {
				assert_string_equal(str(&e, shdr(&e, s->sh_link), d->d_un.d_val),
						    "libnss_auth0.so.2");
				soname = true;
			}
		}
	}
	elf_close(&e);
	assert_true(soname);
}

static void test_needs_libc_alone(void **state)
{
	bool libc = false, relro = false, now = false;
	struct elf e;

	elf_open(A0_NSS_MODULE, &e);
	for (unsigned i = 0; i < e.eh->e_shnum; i++) {
		const Elf64_Shdr *s = shdr(&e, i);

		if (s->sh_type != SHT_DYNAMIC)
			continue;
		for (uint64_t j = 0; j < s->sh_size / sizeof(Elf64_Dyn); j++) {
			const Elf64_Dyn *d = item(&e, s->sh_offset, s->sh_size / sizeof(Elf64_Dyn),
						  sizeof(Elf64_Dyn), j);
			bool allowed = false;
			const char *name;

			if (d->d_tag == DT_BIND_NOW ||
			    (d->d_tag == DT_FLAGS && (d->d_un.d_val & DF_BIND_NOW)) ||
			    (d->d_tag == DT_FLAGS_1 && (d->d_un.d_val & DF_1_NOW)))
				now = true;
			if (d->d_tag != DT_NEEDED)
				continue;
			name = str(&e, shdr(&e, s->sh_link), d->d_un.d_val);
			for (size_t k = 0; k < A0_ARRAY_SIZE(allowed_needed); k++)
				allowed |= strcmp(name, allowed_needed[k]) == 0;
			if (!allowed)
				fail_msg("the NSS module needs %s", name);
			libc |= strcmp(name, "libc.so.6") == 0;
		}
	}
	for (unsigned i = 0; i < e.eh->e_phnum; i++) {
		const Elf64_Phdr *p = item(&e, e.eh->e_phoff, e.eh->e_phnum, e.eh->e_phentsize, i);

		relro |= p->p_type == PT_GNU_RELRO;
	}
	elf_close(&e);
	assert_true(libc);
	if (!relro || !now)
		fail_msg("the NSS module is not linked with full RELRO (-z relro -z now)");
}

static void test_exports_nss_auth0_alone(void **state)
{
	bool found[A0_ARRAY_SIZE(entry_points)] = { false };
	struct elf e;
	void *h;

	elf_open(A0_NSS_MODULE, &e);
	for (unsigned i = 0; i < e.eh->e_shnum; i++) {
		const Elf64_Shdr *s = shdr(&e, i);

		if (s->sh_type != SHT_DYNSYM)
			continue;
		for (uint64_t j = 1; j < s->sh_size / sizeof(Elf64_Sym); j++) {
			const Elf64_Sym *sym = item(&e, s->sh_offset,
						    s->sh_size / sizeof(Elf64_Sym),
						    sizeof(Elf64_Sym), j);
			int bind = ELF64_ST_BIND(sym->st_info);
			const char *name = str(&e, shdr(&e, s->sh_link), sym->st_name);
			bool known = false;

			if (sym->st_shndx == SHN_UNDEF || (bind != STB_GLOBAL && bind != STB_WEAK))
				continue;
			if (strcmp(name, "_init") == 0 || strcmp(name, "_fini") == 0)
				continue;
			for (size_t k = 0; k < A0_ARRAY_SIZE(entry_points); k++) {
				if (strcmp(name, entry_points[k]) == 0) {
					found[k] = known = true;
				}
			}
			if (!known)
				fail_msg("the NSS module exports '%s'", name);
		}
	}
	elf_close(&e);
	for (size_t k = 0; k < A0_ARRAY_SIZE(entry_points); k++)
		if (!found[k])
			fail_msg("the NSS module does not export %s", entry_points[k]);
	/* And the loader resolves them; the reader is linked in but hidden. */
	h = dlopen(A0_NSS_MODULE, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		fail_msg("dlopen: %s", dlerror());
	for (size_t k = 0; k < A0_ARRAY_SIZE(entry_points); k++)
		assert_non_null(dlsym(h, entry_points[k]));
	assert_null(dlsym(h, "a0_cache_open"));
	assert_null(dlsym(h, "a0_cache_user_by_name"));
	dlclose(h);
}

/* Whether the file at path holds the bytes of s. */
static bool contains(const char *path, const char *s)
{
	struct elf e;
	bool found;

	elf_open(path, &e);
	found = memmem(e.data, e.size, s, strlen(s)) != NULL;
	elf_close(&e);
	return found;
}

static void test_installed_module_has_no_test_path(void **state)
{
	assert_true(contains(A0_NSS_TEST_MODULE, "A0_NSS_CACHE"));
	assert_false(contains(A0_NSS_MODULE, "A0_NSS_CACHE"));
	assert_false(contains(A0_NSS_MODULE, "secure_getenv"));
	assert_true(contains(A0_NSS_MODULE, A0_CACHE_PATH));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_name_and_soname),
		cmocka_unit_test(test_needs_libc_alone),
		cmocka_unit_test(test_exports_nss_auth0_alone),
		cmocka_unit_test(test_installed_module_has_no_test_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
