if ENABLE_TESTS
# tests/unit: cmocka tests of one part each, linked against the convenience libraries.
check_PROGRAMS += tests/unit/test_conf tests/unit/test_auth0 tests/unit/test_http \
	tests/unit/test_exports tests/unit/test_jwt tests/unit/test_policy tests/unit/test_store \
	tests/unit/test_manager tests/unit/test_lock tests/unit/test_hardening

tests_unit_test_conf_SOURCES = tests/unit/test_conf.c
tests_unit_test_conf_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_conf_LDADD = $(TEST_LIBS)

tests_unit_test_auth0_SOURCES = tests/unit/test_auth0.c
tests_unit_test_auth0_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_auth0_LDADD = $(TEST_LIBS)

tests_unit_test_http_SOURCES = tests/unit/test_http.c
tests_unit_test_http_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_http_LDADD = $(TEST_LIBS) $(CJSON_LIBS)

# dlopens the built module and checks it exports pam_sm_* alone.
tests_unit_test_exports_SOURCES = tests/unit/test_exports.c
tests_unit_test_exports_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_exports_LDADD = $(CMOCKA_LIBS) -ldl

# The JWS verifier and key sets; the mapping and policy.
tests_unit_test_jwt_SOURCES = tests/unit/test_jwt.c
tests_unit_test_jwt_CFLAGS = $(TEST_CFLAGS) $(CRYPTO_CFLAGS)
tests_unit_test_jwt_LDADD = tests/libtestcommon.la $(TEST_LIBS) $(CJSON_LIBS) $(CRYPTO_LIBS)
tests_unit_test_policy_SOURCES = tests/unit/test_policy.c
tests_unit_test_policy_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_policy_LDADD = $(TEST_LIBS) $(CJSON_LIBS)

# The credential store against the real kernel keyring (root: real uids, throwaway accounts).
tests_unit_test_store_SOURCES = tests/unit/test_store.c $(TEST_USER)
tests_unit_test_store_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_store_LDADD = $(TEST_LIBS) $(KEYUTILS_LIBS)

# The credentials manager's decisions with a fake store, tenant and clock; the refresh lock.
tests_unit_test_manager_SOURCES = tests/unit/test_manager.c
tests_unit_test_manager_CPPFLAGS = $(CREDENTIALS_TEST_CPPFLAGS)
tests_unit_test_manager_CFLAGS = $(CREDENTIALS_TEST_CFLAGS)
tests_unit_test_manager_LDADD = credentials/libcredentials-core.la $(TEST_LIBS)
tests_unit_test_lock_SOURCES = tests/unit/test_lock.c
tests_unit_test_lock_CPPFLAGS = $(CREDENTIALS_TEST_CPPFLAGS)
tests_unit_test_lock_CFLAGS = $(CREDENTIALS_TEST_CFLAGS)
tests_unit_test_lock_LDADD = credentials/libcredentials-core.la $(TEST_LIBS)

# Full RELRO and _FORTIFY_SOURCE, read from the built ELF files.
tests_unit_test_hardening_SOURCES = tests/unit/test_hardening.c
tests_unit_test_hardening_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_hardening_LDADD = $(CMOCKA_LIBS)
endif
