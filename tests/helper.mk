if ENABLE_TESTS
# auth0-credentials and libauth0-credentials (issue 5): the manager's decisions with a fake store,
# tenant and clock; the lock; then the command and the C API against the fake tenant (every
# program in TESTS runs under tests/with-fake-tenant). Each joins a fresh session keyring.
HELPER_TEST_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir) -I$(top_srcdir)/include
HELPER_TEST_CFLAGS = $(TEST_CFLAGS) $(KEYUTILS_CFLAGS) $(CURL_CFLAGS)
HELPER_TEST_LIBS = tests/libtestcommon.la $(CMOCKA_LIBS) $(CJSON_LIBS) $(CURL_LIBS) \
	$(KEYUTILS_LIBS)

check_PROGRAMS += tests/unit/test_manager tests/unit/test_lock
tests_unit_test_manager_SOURCES = tests/unit/test_manager.c
tests_unit_test_manager_CPPFLAGS = $(HELPER_TEST_CPPFLAGS)
tests_unit_test_manager_CFLAGS = $(HELPER_TEST_CFLAGS)
tests_unit_test_manager_LDADD = helpers/libcredentials-core.la $(TEST_LIBS)
tests_unit_test_lock_SOURCES = tests/unit/test_lock.c
tests_unit_test_lock_CPPFLAGS = $(HELPER_TEST_CPPFLAGS)
tests_unit_test_lock_CFLAGS = $(HELPER_TEST_CFLAGS)
tests_unit_test_lock_LDADD = helpers/libcredentials-core.la $(TEST_LIBS)

check_PROGRAMS += tests/helper/test_cli tests/helper/test_capi
tests_helper_test_cli_SOURCES = tests/helper/test_cli.c tests/helper/common.c \
	tests/helper/common.h
tests_helper_test_cli_CPPFLAGS = $(HELPER_TEST_CPPFLAGS)
tests_helper_test_cli_CFLAGS = $(HELPER_TEST_CFLAGS)
tests_helper_test_cli_LDADD = $(HELPER_TEST_LIBS)
# The C API test links the public library and its header only.
tests_helper_test_capi_SOURCES = tests/helper/test_capi.c tests/helper/common.c \
	tests/helper/common.h
tests_helper_test_capi_CPPFLAGS = $(HELPER_TEST_CPPFLAGS)
tests_helper_test_capi_CFLAGS = $(HELPER_TEST_CFLAGS)
tests_helper_test_capi_LDADD = helpers/libauth0-credentials.la $(HELPER_TEST_LIBS) -ldl

AM_TESTS_ENVIRONMENT += \
	A0_HELPER=$(abs_builddir)/helpers/auth0-credentials \
	A0_HELPER_LIB=$(abs_builddir)/helpers/.libs/libauth0-credentials.so ; \
	export A0_HELPER A0_HELPER_LIB ;
endif
