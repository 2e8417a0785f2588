if ENABLE_TESTS
# What every test program shares: the helpers in tests/common (assert.h is header-only, so that
# the programs that do not link this library can use it too), the flags, and the environment
# `make check` gives them. Every check program is a test (TESTS += $(check_PROGRAMS)), run under
# tests/with-fake-tenant, which starts a fake tenant for it. The programs themselves are listed
# in the fragment of their folder: tests/unit.mk, tests/pam.mk, tests/credentials.mk.
noinst_LTLIBRARIES += tests/libtestcommon.la
tests_libtestcommon_la_SOURCES = tests/common/fake.c tests/common/fake.h \
	tests/common/pamwrap.c tests/common/pamwrap.h tests/common/util.c tests/common/util.h \
	tests/common/assert.h
tests_libtestcommon_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(CJSON_CFLAGS) $(CRYPTO_CFLAGS) \
	$(KEYUTILS_CFLAGS)
tests_libtestcommon_la_LIBADD = lib/libauth0util.la $(CURL_LIBS) $(CJSON_LIBS) $(CRYPTO_LIBS) \
	$(KEYUTILS_LIBS)

TEST_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(CJSON_CFLAGS)
TEST_LIBS = lib/libauth0core.la $(CMOCKA_LIBS)
TEST_USER = tests/common/testuser.c tests/common/testuser.h

# Tests of the credentials library and command: its public header too.
CREDENTIALS_TEST_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/include
CREDENTIALS_TEST_CFLAGS = $(TEST_CFLAGS) $(KEYUTILS_CFLAGS) $(CURL_CFLAGS)
CREDENTIALS_TEST_LIBS = tests/libtestcommon.la $(CMOCKA_LIBS) $(CJSON_LIBS) $(CURL_LIBS) \
	$(KEYUTILS_LIBS)

TESTS += $(check_PROGRAMS)
LOG_COMPILER = $(srcdir)/tests/with-fake-tenant
AM_TESTS_ENVIRONMENT = \
	A0_MODULE=$(abs_builddir)/pam/.libs/pam_auth0.so \
	A0_PAM_WRAPPER=$(PAM_WRAPPER_LIB) \
	A0_PAM_WRAPPER_MODULES=$(PAM_WRAPPER_MODULES) \
	A0_CERTS_DIR=$(abs_builddir)/tests/certs \
	A0_HELPER=$(abs_builddir)/credentials/auth0-credentials \
	A0_HELPER_LIB=$(abs_builddir)/credentials/.libs/libauth0-credentials.so \
	A0_ADMIN=$(abs_builddir)/admin/auth0-pam \
	A0_BROKER=$(abs_builddir)/broker/auth0-broker \
	ASAN_OPTIONS=detect_leaks=1 ; \
	export A0_MODULE A0_PAM_WRAPPER A0_PAM_WRAPPER_MODULES A0_CERTS_DIR A0_HELPER \
	A0_HELPER_LIB A0_ADMIN A0_BROKER ASAN_OPTIONS ;
CLEANFILES += tests/certs.lock
endif
EXTRA_DIST += tests/with-fake-tenant tests/fake-tenant tests/e2e tests/secrets tests/valgrind
