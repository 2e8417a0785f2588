if ENABLE_TESTS
# Benchmarks: built and run by tools/bench only (`make bench-programs`), never by make check.
EXTRA_PROGRAMS += bench/bench_login bench/bench_credentials bench/bench_grants
bench_bench_login_SOURCES = bench/bench_login.c
bench_bench_login_CFLAGS = $(TEST_CFLAGS) $(PAM_CFLAGS)
bench_bench_login_LDADD = tests/libtestcommon.la $(CJSON_LIBS) $(PAMTEST_LIBS) $(PAM_LIBS)
# auth0-credentials and libauth0-credentials: the public header and library; the core and the
# store to sign in with a DPoP key and keep it in the record as the module does (dpop mode).
bench_bench_credentials_SOURCES = bench/bench_credentials.c
bench_bench_credentials_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/include
bench_bench_credentials_CFLAGS = $(TEST_CFLAGS) $(KEYUTILS_CFLAGS) $(CURL_CFLAGS)
bench_bench_credentials_LDADD = credentials/libauth0-credentials.la tests/libtestcommon.la \
	keyring/libauth0store.la lib/libauth0core.la $(CJSON_LIBS) $(KEYUTILS_LIBS)
# lib/'s grants next to Auth0's Node SDK (bench/bench_sdk.mjs).
bench_bench_grants_SOURCES = bench/bench_grants.c
bench_bench_grants_CFLAGS = $(TEST_CFLAGS)
bench_bench_grants_LDADD = tests/libtestcommon.la lib/libauth0core.la $(CJSON_LIBS)
# libnss_auth0 (its test build) next to glibc's nss_files, in a mount namespace of its own.
EXTRA_PROGRAMS += bench/bench_nss
bench_bench_nss_SOURCES = bench/bench_nss.c tests/unit/test_nss_fixture.h
bench_bench_nss_CPPFLAGS = $(NSS_TEST_CPPFLAGS)
bench_bench_nss_CFLAGS = $(TEST_CFLAGS)
bench_bench_nss_LDADD = tests/libtestcommon.la nss/libauth0cache.la -ldl

# auth0-sync: a full sync of 10,000 users (time, the command's peak RSS), an incremental one.
EXTRA_PROGRAMS += bench/bench_sync
bench_bench_sync_SOURCES = bench/bench_sync.c
bench_bench_sync_CPPFLAGS = $(AM_CPPFLAGS) -DA0_SYNC_BIN='"$(abs_builddir)/sync/auth0-sync"'
bench_bench_sync_CFLAGS = $(TEST_CFLAGS)
bench_bench_sync_LDADD = tests/libtestcommon.la $(CJSON_LIBS)
EXTRA_bench_bench_sync_DEPENDENCIES = sync/auth0-sync

# auth0-broker: a refresh through it next to the library's own, Token Vault from many processes
# at once, the broker's RSS. The test build of the library and of the command (the same
# credentials/cli.c) talk to the broker socket of the build tree (credentials/local.mk).
EXTRA_PROGRAMS += bench/bench_broker bench/auth0-credentials-testsock
bench_bench_broker_SOURCES = bench/bench_broker.c
bench_bench_broker_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/include \
	-DA0_TEST_BROKER_SOCKET='"$(CREDENTIALS_TEST_BROKER_SOCKET)"'
bench_bench_broker_CFLAGS = $(TEST_CFLAGS) $(KEYUTILS_CFLAGS)
bench_bench_broker_LDADD = credentials/libauth0-credentials-test.la keyring/libauth0store.la \
	lib/libauth0base.la tests/libtestcommon.la $(CJSON_LIBS) $(KEYUTILS_LIBS)
EXTRA_bench_bench_broker_DEPENDENCIES = broker/auth0-broker
bench_auth0_credentials_testsock_SOURCES = credentials/cli.c
bench_auth0_credentials_testsock_CPPFLAGS = $(CREDENTIALS_CPPFLAGS)
bench_auth0_credentials_testsock_LDADD = credentials/libauth0-credentials-test.la \
	lib/libauth0util.la
BENCH_BINS = bench/bench_login bench/bench_credentials bench/bench_grants bench/bench_nss \
	bench/bench_sync bench/bench_broker bench/auth0-credentials-testsock
bench-programs: $(BENCH_BINS) nss/libnss_auth0_test.la
CLEANFILES += $(BENCH_BINS)
endif
EXTRA_DIST += bench/bench_sdk.mjs
