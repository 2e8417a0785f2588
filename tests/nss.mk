if ENABLE_TESTS
# The identity cache and the NSS module (nss/).
check_PROGRAMS += tests/unit/test_cache tests/unit/test_nss_module tests/unit/test_nss_wrapper \
	tests/unit/test_nss_glibc

# Where the tests find the built modules: the installed one and the test build (nss/local.mk).
NSS_TEST_CPPFLAGS = $(AM_CPPFLAGS) \
	-DA0_NSS_MODULE='"$(abs_builddir)/nss/.libs/libnss_auth0.so.2"' \
	-DA0_NSS_TEST_MODULE='"$(abs_builddir)/nss/.libs/libnss_auth0_test.so"'
if SANITIZERS
NSS_TEST_CPPFLAGS += -DA0_SANITIZERS
endif

# The writer and the reader on files in a temporary directory (libauth0base.la: the error names).
tests_unit_test_cache_SOURCES = tests/unit/test_cache.c tests/unit/test_nss_fixture.h
tests_unit_test_cache_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_cache_LDADD = nss/libauth0cache.la lib/libauth0base.la $(CMOCKA_LIBS)

# The module's ELF file: its name, what it needs (libc alone), what it exports.
tests_unit_test_nss_module_SOURCES = tests/unit/test_nss_module.c
tests_unit_test_nss_module_CPPFLAGS = $(NSS_TEST_CPPFLAGS)
tests_unit_test_nss_module_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_nss_module_LDADD = $(CMOCKA_LIBS) -ldl
EXTRA_tests_unit_test_nss_module_DEPENDENCIES = nss/libnss_auth0.la nss/libnss_auth0_test.la

# glibc's calls under nss_wrapper, which loads the test build (tests/common: the re-exec).
tests_unit_test_nss_wrapper_SOURCES = tests/unit/test_nss_wrapper.c tests/unit/test_nss_fixture.h
tests_unit_test_nss_wrapper_CPPFLAGS = $(NSS_TEST_CPPFLAGS)
tests_unit_test_nss_wrapper_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_nss_wrapper_LDADD = tests/libtestcommon.la nss/libauth0cache.la \
	lib/libauth0base.la $(CMOCKA_LIBS)
EXTRA_tests_unit_test_nss_wrapper_DEPENDENCIES = nss/libnss_auth0_test.la

# The entry points called as glibc calls them, with threads; glibc itself in a mount namespace.
tests_unit_test_nss_glibc_SOURCES = tests/unit/test_nss_glibc.c tests/unit/test_nss_fixture.h
tests_unit_test_nss_glibc_CPPFLAGS = $(NSS_TEST_CPPFLAGS)
tests_unit_test_nss_glibc_CFLAGS = $(TEST_CFLAGS) -pthread
tests_unit_test_nss_glibc_LDADD = nss/libauth0cache.la lib/libauth0base.la $(CMOCKA_LIBS) -ldl
tests_unit_test_nss_glibc_LDFLAGS = $(AM_LDFLAGS) -pthread
EXTRA_tests_unit_test_nss_glibc_DEPENDENCIES = nss/libnss_auth0_test.la
endif
