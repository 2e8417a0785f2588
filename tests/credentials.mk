if ENABLE_TESTS
# tests/credentials: the auth0-credentials command and the C API against the fake tenant. Each
# joins a fresh session keyring.
check_PROGRAMS += tests/credentials/test_cli tests/credentials/test_capi \
	tests/credentials/test_broker tests/credentials/test_dpop tests/credentials/test_session

tests_credentials_test_cli_SOURCES = tests/credentials/test_cli.c tests/credentials/common.c \
	tests/credentials/common.h
tests_credentials_test_cli_CPPFLAGS = $(CREDENTIALS_TEST_CPPFLAGS)
tests_credentials_test_cli_CFLAGS = $(CREDENTIALS_TEST_CFLAGS)
# The library only for auth0_credentials_code_name: failed assertions name the exit codes.
tests_credentials_test_cli_LDADD = credentials/libauth0-credentials.la $(CREDENTIALS_TEST_LIBS)

# The C API test links the public library and its header only.
tests_credentials_test_capi_SOURCES = tests/credentials/test_capi.c tests/credentials/common.c \
	tests/credentials/common.h
tests_credentials_test_capi_CPPFLAGS = $(CREDENTIALS_TEST_CPPFLAGS)
tests_credentials_test_capi_CFLAGS = $(CREDENTIALS_TEST_CFLAGS)
tests_credentials_test_capi_LDADD = credentials/libauth0-credentials.la $(CREDENTIALS_TEST_LIBS) -ldl

# A confidential application's records (client_auth "broker"): the command with the installed
# library's socket, and the C API of the library's test build (its socket in the build tree,
# where the test starts auth0-broker, $A0_BROKER, when it is built). The store, to mark a saved
# record as the module marks a confidential login's; the core, for a DPoP sign-in.
tests_credentials_test_broker_SOURCES = tests/credentials/test_broker.c \
	tests/credentials/common.c tests/credentials/common.h $(TEST_USER)
tests_credentials_test_broker_CPPFLAGS = $(CREDENTIALS_TEST_CPPFLAGS) \
	-DA0_TEST_BROKER_SOCKET='"$(CREDENTIALS_TEST_BROKER_SOCKET)"'
tests_credentials_test_broker_CFLAGS = $(CREDENTIALS_TEST_CFLAGS) $(CURL_CFLAGS)
tests_credentials_test_broker_LDADD = credentials/libauth0-credentials-test.la \
	keyring/libauth0store.la lib/libauth0core.la $(CREDENTIALS_TEST_LIBS)

# A DPoP-bound session: the sign-in by lib/auth0.c (the core), the rest by the command.
tests_credentials_test_dpop_SOURCES = tests/credentials/test_dpop.c \
	tests/credentials/common.c tests/credentials/common.h
tests_credentials_test_dpop_CPPFLAGS = $(CREDENTIALS_TEST_CPPFLAGS)
tests_credentials_test_dpop_CFLAGS = $(CREDENTIALS_TEST_CFLAGS) $(CURL_CFLAGS)
tests_credentials_test_dpop_LDADD = credentials/libauth0-credentials.la lib/libauth0core.la \
	$(CREDENTIALS_TEST_LIBS)

# From inside a session (issue 17): userinfo, Custom Token Exchange, login and logout; the DPoP
# session's sign-in by lib/auth0.c (the core), the rest by the command.
tests_credentials_test_session_SOURCES = tests/credentials/test_session.c \
	tests/credentials/common.c tests/credentials/common.h
tests_credentials_test_session_CPPFLAGS = $(CREDENTIALS_TEST_CPPFLAGS)
tests_credentials_test_session_CFLAGS = $(CREDENTIALS_TEST_CFLAGS) $(CURL_CFLAGS)
tests_credentials_test_session_LDADD = credentials/libauth0-credentials.la lib/libauth0core.la \
	$(CREDENTIALS_TEST_LIBS)
endif
