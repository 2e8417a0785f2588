if ENABLE_TESTS
# tests/pam: the built module in real PAM stacks (pam_wrapper + libpamtest) against the fake
# tenant: sign-in and MFA, ID tokens and policy, and the session phases with pam_keyinit.
check_PROGRAMS += tests/pam/test_login tests/pam/test_idtoken tests/pam/test_session \
	tests/pam/test_heap tests/pam/test_offline tests/pam/test_enrol tests/pam/test_device \
	tests/pam/test_passwordless
PAM_TEST_LIBS = tests/libtestcommon.la $(TEST_LIBS) $(CJSON_LIBS) $(PAMTEST_LIBS) $(PAM_LIBS)

tests_pam_test_login_SOURCES = tests/pam/test_login.c
tests_pam_test_login_CFLAGS = $(TEST_CFLAGS) $(PAM_CFLAGS)
tests_pam_test_login_LDADD = $(PAM_TEST_LIBS)

# When Auth0 cannot be reached: the offline policies, the verifier, breakglass (auth0-pam(8)).
tests_pam_test_offline_SOURCES = tests/pam/test_offline.c
tests_pam_test_offline_CFLAGS = $(TEST_CFLAGS) $(PAM_CFLAGS)
tests_pam_test_offline_LDADD = $(PAM_TEST_LIBS)

# Enrolment at login (mfa_enroll) and the password change (chauthtok) against the fake.
tests_pam_test_enrol_SOURCES = tests/pam/test_enrol.c
tests_pam_test_enrol_CFLAGS = $(TEST_CFLAGS) $(PAM_CFLAGS)
tests_pam_test_enrol_LDADD = $(PAM_TEST_LIBS)

# The device method of login_methods: approved, denied, expired, slowed down, hostile answers.
tests_pam_test_device_SOURCES = tests/pam/test_device.c
tests_pam_test_device_CFLAGS = $(TEST_CFLAGS) $(PAM_CFLAGS)
tests_pam_test_device_LDADD = $(PAM_TEST_LIBS)

# Passwordless sign-in (login_methods = email, sms): the code from the fake's outbox.
tests_pam_test_passwordless_SOURCES = tests/pam/test_passwordless.c
tests_pam_test_passwordless_CFLAGS = $(TEST_CFLAGS) $(PAM_CFLAGS)
tests_pam_test_passwordless_LDADD = $(PAM_TEST_LIBS)

tests_pam_test_idtoken_SOURCES = tests/pam/test_idtoken.c $(TEST_USER)
tests_pam_test_idtoken_CFLAGS = $(TEST_CFLAGS) $(PAM_CFLAGS)
tests_pam_test_idtoken_LDADD = $(PAM_TEST_LIBS)

tests_pam_test_session_SOURCES = tests/pam/test_session.c $(TEST_USER)
tests_pam_test_session_CFLAGS = $(TEST_CFLAGS) $(PAM_CFLAGS) $(CRYPTO_CFLAGS)
tests_pam_test_session_LDADD = $(PAM_TEST_LIBS) $(CRYPTO_LIBS) $(KEYUTILS_LIBS)

# What a login leaves in the host process's memory; -rdynamic lets its libcurl definitions,
# which count the host's calls, interpose the library's for the module.
tests_pam_test_heap_SOURCES = tests/pam/test_heap.c
tests_pam_test_heap_CFLAGS = $(TEST_CFLAGS) $(PAM_CFLAGS) $(CURL_CFLAGS)
tests_pam_test_heap_LDFLAGS = $(AM_LDFLAGS) -rdynamic
tests_pam_test_heap_LDADD = $(PAM_TEST_LIBS) $(CURL_LIBS)
endif
