# Who may log in (issue 6): the ID-token verifier and JWKS cache, the mapping and policy, and
# the module's use of them in a PAM stack against the fake tenant. tests/local.mk runs every
# check program (TESTS += $(check_PROGRAMS)), so adding them here is enough.
if ENABLE_TESTS
check_PROGRAMS += tests/unit/test_jwt tests/unit/test_policy tests/pam/test_idtoken
tests_unit_test_jwt_SOURCES = tests/unit/test_jwt.c
tests_unit_test_jwt_CFLAGS = $(TEST_CFLAGS) $(CRYPTO_CFLAGS)
tests_unit_test_jwt_LDADD = tests/libtestcommon.la $(TEST_LIBS) $(CJSON_LIBS) $(CRYPTO_LIBS)
tests_unit_test_policy_SOURCES = tests/unit/test_policy.c
tests_unit_test_policy_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_policy_LDADD = $(TEST_LIBS) $(CJSON_LIBS)
tests_pam_test_idtoken_SOURCES = tests/pam/test_idtoken.c
tests_pam_test_idtoken_CFLAGS = $(TEST_CFLAGS) $(PAM_CFLAGS)
tests_pam_test_idtoken_LDADD = tests/libtestcommon.la $(TEST_LIBS) $(CJSON_LIBS) \
	$(PAMTEST_LIBS) $(PAM_LIBS)
endif
