# nss/: the identity cache of the users who exist only in Auth0 (nss/cache.h) and the NSS
# module that serves it, libnss_auth0.so.2.
#
# libauth0cache.la, the reader and the writer, for auth0-sync and the PAM module. The writer
# uses lib/util.h (libc alone).
noinst_LTLIBRARIES += nss/libauth0cache.la
nss_libauth0cache_la_SOURCES = nss/cache.c nss/cache.h nss/format.h nss/writer.c
nss_libauth0cache_la_CFLAGS = $(AM_CFLAGS)
nss_libauth0cache_la_LIBADD = lib/libauth0util.la

# The NSS module: the reader and the entry points alone, libc (and its pthread functions)
# alone, _nss_auth0_* alone exported. glibc loads "libnss_auth0.so.2" by that name: libtool's
# -shrext gives exactly that file (and no other link). --with-nssdir: where glibc looks (Debian:
# /usr/lib/x86_64-linux-gnu).
nss_LTLIBRARIES = nss/libnss_auth0.la
NSS_MODULE_SOURCES = nss/nss_auth0.c nss/nss_auth0.h nss/cache.c nss/cache.h nss/format.h
NSS_MODULE_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -shared -pthread \
	-Wl,--version-script=$(srcdir)/nss/export.sym -Wl,--no-undefined
nss_libnss_auth0_la_SOURCES = $(NSS_MODULE_SOURCES)
nss_libnss_auth0_la_CFLAGS = $(AM_CFLAGS) -pthread
nss_libnss_auth0_la_LDFLAGS = $(NSS_MODULE_LDFLAGS) -shrext .so.2
EXTRA_DIST += nss/export.sym

if ENABLE_TESTS
# The test build of the module (nss/.libs/libnss_auth0_test.so), for nss_wrapper, the tests
# that call it as glibc does, and the benchmark: the cache's path from A0_NSS_CACHE, owned by
# the caller. Never installed; the installed module holds none of that code (test_nss_module).
check_LTLIBRARIES = nss/libnss_auth0_test.la
nss_libnss_auth0_test_la_SOURCES = $(NSS_MODULE_SOURCES)
nss_libnss_auth0_test_la_CPPFLAGS = $(AM_CPPFLAGS) -DA0_NSS_TESTING
nss_libnss_auth0_test_la_CFLAGS = $(AM_CFLAGS) -pthread
nss_libnss_auth0_test_la_LDFLAGS = $(NSS_MODULE_LDFLAGS) -rpath $(abs_builddir)/nss
endif
