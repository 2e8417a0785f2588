/* SPDX-License-Identifier: MIT */
/*
 * The hardening of what the build links, read from the ELF files themselves: every object is
 * linked with full RELRO (a GNU_RELRO segment and BIND_NOW, so the GOT is read-only before
 * main), and an optimised build (this program is compiled with the module's flags) is
 * fortified: built with _FORTIFY_SOURCE, the objects call glibc's checked __*_chk functions.
 * Not under clang's ASan, where configure leaves _FORTIFY_SOURCE out. The objects: the module,
 * the credentials library, command and tenant module, auth0-sync, the NSS module, auth0-pam, and this
 * program itself (linked with the global flags alone).
 */
#include "config.h"

#include <elf.h>
#include <fcntl.h>
#include <limits.h>
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

struct elf {
	void *map;
	const unsigned char *data;
	size_t size;
	const Elf64_Ehdr *eh;
};

static void elf_open(const char *path, struct elf *e)
{
	struct stat st;
	void *p;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail_msg("%s: cannot open", path);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true((size_t)st.st_size > sizeof(Elf64_Ehdr));
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	assert_true(p != MAP_FAILED);
	close(fd);
	e->map = p;
	e->data = p;
	e->size = (size_t)st.st_size;
	e->eh = p;
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

static const Elf64_Phdr *phdr(const struct elf *e, unsigned i)
{
	return item(e, e->eh->e_phoff, e->eh->e_phnum, e->eh->e_phentsize, i);
}

static const Elf64_Shdr *shdr(const struct elf *e, unsigned i)
{
	return item(e, e->eh->e_shoff, e->eh->e_shnum, e->eh->e_shentsize, i);
}

/* A GNU_RELRO segment, and BIND_NOW (DT_BIND_NOW, DF_BIND_NOW or DF_1_NOW) in the dynamic
 * section. */
static void check_relro_now(const char *path)
{
	bool relro = false, now = false;
	struct elf e;

	elf_open(path, &e);
	for (unsigned i = 0; i < e.eh->e_phnum; i++) {
		const Elf64_Phdr *p = phdr(&e, i);

		if (p->p_type == PT_GNU_RELRO)
			relro = true;
		if (p->p_type != PT_DYNAMIC)
			continue;
		for (uint64_t j = 0; j < p->p_filesz / sizeof(Elf64_Dyn); j++) {
			const Elf64_Dyn *d = item(&e, p->p_offset, p->p_filesz / sizeof(Elf64_Dyn),
						  sizeof(Elf64_Dyn), j);

			if (d->d_tag == DT_NULL)
				break;
			if (d->d_tag == DT_BIND_NOW ||
			    (d->d_tag == DT_FLAGS && (d->d_un.d_val & DF_BIND_NOW)) ||
			    (d->d_tag == DT_FLAGS_1 && (d->d_un.d_val & DF_1_NOW)))
				now = true;
		}
	}
	elf_close(&e);
	if (!relro)
		fail_msg("%s: no GNU_RELRO segment (link with -Wl,-z,relro)", path);
	if (!now)
		fail_msg("%s: no BIND_NOW (link with -Wl,-z,now)", path);
}

/* How many of the dynamic symbols path imports are glibc's checked functions, __*_chk. */
static int fortified_imports(const char *path)
{
	struct elf e;
	int n = 0;

	elf_open(path, &e);
	for (unsigned i = 0; i < e.eh->e_shnum; i++) {
		const Elf64_Shdr *s = shdr(&e, i), *strtab;

		if (s->sh_type != SHT_DYNSYM)
			continue;
		strtab = shdr(&e, s->sh_link);
		for (uint64_t j = 1; j < s->sh_size / sizeof(Elf64_Sym); j++) {
			const Elf64_Sym *sym = item(&e, s->sh_offset,
						    s->sh_size / sizeof(Elf64_Sym),
						    sizeof(Elf64_Sym), j);
			const char *name;
			size_t len;

			if (sym->st_shndx != SHN_UNDEF || sym->st_name >= strtab->sh_size)
				continue;
			name = (const char *)item(&e, strtab->sh_offset, strtab->sh_size, 1,
						  sym->st_name);
			len = strnlen(name, strtab->sh_size - sym->st_name);
			if (len > 6 && strncmp(name, "__", 2) == 0 &&
			    strcmp(name + len - 4, "_chk") == 0)
				n++;
		}
	}
	elf_close(&e);
	return n;
}

/* The built objects: the module and the credentials library from the environment make check
 * gives; the command and the tenant module next to the library; auth0-sync and the NSS module
 * where the build puts them (tests/unit.mk); auth0-pam from the environment too. */
static void object(int i, char *path, size_t size)
{
	const char *module = getenv("A0_MODULE"), *lib = getenv("A0_HELPER_LIB");
	const char *slash = lib ? strrchr(lib, '/') : NULL;
	static const char *const beside[] = { "auth0-credentials", "auth0-credentials-tenant.so" };

	if (!module || !slash)
		fail_msg("run through make check: A0_MODULE and A0_HELPER_LIB name the objects");
	if (i == 0)
		snprintf(path, size, "%s", module);
	else if (i == 1)
		snprintf(path, size, "%s", lib);
	else if (i <= 3)
		snprintf(path, size, "%.*s/%s", (int)(slash - lib), lib, beside[i - 2]);
	else if (i == 4)
		snprintf(path, size, "%s", A0_SYNC_BIN);
	else if (i == 5)
		snprintf(path, size, "%s", A0_NSS_MODULE);
	else if (getenv("A0_ADMIN"))
		snprintf(path, size, "%s", getenv("A0_ADMIN"));
	else
		fail_msg("run through make check: A0_ADMIN names auth0-pam");
}

#define N_OBJECTS 7
#define NSS_MODULE 5

static void test_full_relro(void **state)
{
	char path[PATH_MAX];

	for (int i = 0; i < N_OBJECTS; i++) {
		object(i, path, sizeof(path));
		check_relro_now(path);
	}
	/* Linked with the global flags alone, as every test and benchmark is. */
	check_relro_now("/proc/self/exe");
}

static void test_fortified(void **state)
{
	char path[PATH_MAX];

#if !defined(__OPTIMIZE__)
	skip(); /* _FORTIFY_SOURCE needs optimisation */
#elif defined(__clang__) && defined(__has_feature)
#if __has_feature(address_sanitizer)
	skip(); /* configure leaves it out under clang's ASan */
#endif
#endif
#if !defined(_FORTIFY_SOURCE) || _FORTIFY_SOURCE < 1
	fail_msg("an optimised build without _FORTIFY_SOURCE");
#endif
	/* Not the NSS module: libc alone, its copies of a known size are inlined and its one
	 * other (nss_auth0.c) goes into the buffer glibc's caller hands over, whose size the
	 * compiler cannot know. Fortified or not, it imports no __*_chk function to look for. */
	for (int i = 0; i < N_OBJECTS; i++) {
		if (i == NSS_MODULE)
			continue;
		object(i, path, sizeof(path));
		if (fortified_imports(path) == 0)
			fail_msg("%s calls no __*_chk function: not built with _FORTIFY_SOURCE",
				 path);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_relro),
		cmocka_unit_test(test_fortified),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
