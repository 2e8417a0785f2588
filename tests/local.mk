if ENABLE_TESTS
# Unit tests link the core library directly; PAM-stack tests load the built module through
# pam_wrapper and run against the fake tenant (tests/with-fake-tenant starts one per program).
noinst_LTLIBRARIES += tests/libtestcommon.la
tests_libtestcommon_la_SOURCES = tests/common/fake.c tests/common/fake.h \
	tests/common/pamwrap.c tests/common/pamwrap.h tests/common/util.c tests/common/util.h
tests_libtestcommon_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(CJSON_CFLAGS) $(CRYPTO_CFLAGS) \
	$(KEYUTILS_CFLAGS)
tests_libtestcommon_la_LIBADD = $(CURL_LIBS) $(CJSON_LIBS) $(CRYPTO_LIBS) $(KEYUTILS_LIBS)

TEST_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(CJSON_CFLAGS) -I$(top_srcdir)/tests/common
TEST_LIBS = lib/libauth0core.la $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test_conf tests/unit/test_auth0 tests/unit/test_exports \
	tests/unit/test_http
tests_unit_test_conf_SOURCES = tests/unit/test_conf.c
tests_unit_test_conf_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_conf_LDADD = $(TEST_LIBS)
tests_unit_test_auth0_SOURCES = tests/unit/test_auth0.c
tests_unit_test_auth0_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_auth0_LDADD = $(TEST_LIBS)
tests_unit_test_http_SOURCES = tests/unit/test_http.c
tests_unit_test_http_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_http_LDADD = $(TEST_LIBS) $(CJSON_LIBS)
tests_unit_test_exports_SOURCES = tests/unit/test_exports.c
tests_unit_test_exports_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_exports_LDADD = $(CMOCKA_LIBS) -ldl

check_PROGRAMS += tests/pam/test_login
tests_pam_test_login_SOURCES = tests/pam/test_login.c
tests_pam_test_login_CFLAGS = $(TEST_CFLAGS) $(PAM_CFLAGS)
tests_pam_test_login_LDADD = tests/libtestcommon.la $(TEST_LIBS) $(PAMTEST_LIBS) $(PAM_LIBS)

TESTS += $(check_PROGRAMS)
LOG_COMPILER = $(srcdir)/tests/with-fake-tenant
AM_TESTS_ENVIRONMENT = \
	A0_MODULE=$(abs_builddir)/pam/.libs/pam_auth0.so \
	A0_PAM_WRAPPER=$(PAM_WRAPPER_LIB) \
	A0_PAM_WRAPPER_MODULES=$(PAM_WRAPPER_MODULES) \
	A0_CERTS_DIR=$(abs_builddir)/tests/certs \
	ASAN_OPTIONS=detect_leaks=1 ; export A0_MODULE A0_PAM_WRAPPER A0_PAM_WRAPPER_MODULES A0_CERTS_DIR ASAN_OPTIONS ;
CLEANFILES += tests/certs.lock
endif
EXTRA_DIST += tests/with-fake-tenant tests/fake-tenant tests/e2e tests/secrets tests/valgrind
