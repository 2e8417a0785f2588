if ENABLE_TESTS
# The credential store against the real kernel keyring (root: real uids, throwaway accounts)
# and the module's session phases in a PAM stack with pam_keyinit, against the fake tenant.
# Both are in check_PROGRAMS, hence in TESTS (tests/local.mk), run under with-fake-tenant.
check_PROGRAMS += tests/unit/test_store
tests_unit_test_store_SOURCES = tests/unit/test_store.c \
	tests/common/testuser.c tests/common/testuser.h
tests_unit_test_store_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_store_LDADD = $(TEST_LIBS) $(KEYUTILS_LIBS)

check_PROGRAMS += tests/pam/test_session
tests_pam_test_session_SOURCES = tests/pam/test_session.c \
	tests/common/testuser.c tests/common/testuser.h
tests_pam_test_session_CFLAGS = $(TEST_CFLAGS) $(PAM_CFLAGS) $(CRYPTO_CFLAGS)
tests_pam_test_session_LDADD = tests/libtestcommon.la $(TEST_LIBS) $(PAM_LIBS) $(CRYPTO_LIBS) \
	$(KEYUTILS_LIBS) $(CJSON_LIBS)
endif
