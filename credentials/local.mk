# libauth0-credentials and auth0-credentials(1): Auth0's CredentialsManager semantics for the
# processes of a login session, over the records pam_auth0 keeps in its keyring.
CREDENTIALS_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/include

# The manager (its decisions, and the jobs that run under the lock), the lock and the worker:
# linked into the shared library and the unit tests (which link lib/libauth0core.la
# themselves).
noinst_LTLIBRARIES += credentials/libcredentials-core.la
credentials_libcredentials_core_la_SOURCES = \
	credentials/manager.c credentials/manager.h credentials/jobs.c \
	credentials/lock.c credentials/lock.h \
	credentials/worker.c credentials/worker.h
credentials_libcredentials_core_la_CPPFLAGS = $(CREDENTIALS_CPPFLAGS)
credentials_libcredentials_core_la_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS) $(KEYUTILS_CFLAGS)

# The public library: auth0_credentials_* alone are exported (visibility and version script).
# It links neither libcurl nor OpenSSL: loading them and the libraries behind them took several
# times as long as a cached `auth0-credentials get` itself. Requests to the tenant are in the
# module below (credentials/tenant.h). Of lib/ it takes the network-free base
# (lib/libauth0base.la: the answers' parsers, not the requests) and the keyring store. Should
# code of the library ever call into lib/auth0.c or lib/http.c, the link fails (--no-undefined)
# instead of pulling libcurl back in.
#
# A confidential application's requests go to auth0-broker(8) (credentials/broker.h) over the
# protocol of broker/libauth0broker.la, which needs libc and cJSON alone.
lib_LTLIBRARIES = credentials/libauth0-credentials.la credentials/auth0-credentials-tenant.la \
	credentials/auth0-credentials-dpop.la
CREDENTIALS_LIB_SOURCES = credentials/credentials.c include/auth0/credentials.h \
	credentials/tenant.h credentials/broker.c credentials/broker.h credentials/dpop.h
CREDENTIALS_LIB_LIBADD = credentials/libcredentials-core.la broker/libauth0broker.la \
	lib/libauth0base.la keyring/libauth0store.la $(CJSON_LIBS) $(KEYUTILS_LIBS) -lm
CREDENTIALS_LIB_LDFLAGS = $(AM_LDFLAGS) \
	-Wl,--version-script=$(srcdir)/credentials/libauth0-credentials.sym -Wl,--no-undefined
credentials_libauth0_credentials_la_SOURCES = $(CREDENTIALS_LIB_SOURCES)
credentials_libauth0_credentials_la_CPPFLAGS = $(CREDENTIALS_CPPFLAGS)
credentials_libauth0_credentials_la_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS) $(KEYUTILS_CFLAGS)
credentials_libauth0_credentials_la_LIBADD = $(CREDENTIALS_LIB_LIBADD)
credentials_libauth0_credentials_la_LDFLAGS = $(CREDENTIALS_LIB_LDFLAGS) -version-info 0:0:0

if ENABLE_TESTS
# The test build of the library (credentials/.libs/libauth0-credentials-test.so), for the tests
# that run auth0-broker: the broker's socket fixed at build time in the build tree, as the
# installed library's is at A0_BROKER_SOCKET (credentials/broker.h: never from the environment
# or the record). Never installed.
check_LTLIBRARIES += credentials/libauth0-credentials-test.la
credentials_libauth0_credentials_test_la_SOURCES = $(CREDENTIALS_LIB_SOURCES)
CREDENTIALS_TEST_BROKER_SOCKET = $(abs_builddir)/tests/credentials/broker.sock
credentials_libauth0_credentials_test_la_CPPFLAGS = $(CREDENTIALS_CPPFLAGS) \
	-DA0_BROKER_SOCKET_PATH='"$(CREDENTIALS_TEST_BROKER_SOCKET)"'
credentials_libauth0_credentials_test_la_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS) \
	$(KEYUTILS_CFLAGS)
credentials_libauth0_credentials_test_la_LIBADD = $(CREDENTIALS_LIB_LIBADD)
credentials_libauth0_credentials_test_la_LDFLAGS = $(CREDENTIALS_LIB_LDFLAGS) \
	-rpath $(abs_builddir)/credentials
endif
EXTRA_DIST += credentials/libauth0-credentials.sym credentials/auth0-credentials.pc.in

# The tenant module, auth0-credentials-tenant.so: the refresh and revocation requests, userinfo,
# Custom Token Exchange and `login`'s sign-in (signin.c), which the library loads from its own
# directory when a job needs them. Exports a0_tenant alone.
credentials_auth0_credentials_tenant_la_SOURCES = credentials/tenant.c credentials/tenant.h \
	credentials/signin.c
credentials_auth0_credentials_tenant_la_CPPFLAGS = $(CREDENTIALS_CPPFLAGS)
credentials_auth0_credentials_tenant_la_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS) $(KEYUTILS_CFLAGS)
credentials_auth0_credentials_tenant_la_LIBADD = lib/libauth0core.la
credentials_auth0_credentials_tenant_la_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -shared \
	-Wl,--no-undefined

# The DPoP module, auth0-credentials-dpop.so (credentials/dpop.h): the proofs of a DPoP session's
# API calls, with Nettle and neither libcurl nor OpenSSL. Exports a0_dpop_module alone.
credentials_auth0_credentials_dpop_la_SOURCES = credentials/dpop.c credentials/dpop.h
credentials_auth0_credentials_dpop_la_CPPFLAGS = $(CREDENTIALS_CPPFLAGS)
credentials_auth0_credentials_dpop_la_CFLAGS = $(AM_CFLAGS)
credentials_auth0_credentials_dpop_la_LIBADD = lib/libauth0dpop.la lib/libauth0base.la \
	$(HOGWEED_LIBS) $(GMP_LIBS) $(CJSON_LIBS)
credentials_auth0_credentials_dpop_la_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -shared \
	-Wl,--no-undefined

auth0includedir = $(includedir)/auth0
auth0include_HEADERS = include/auth0/credentials.h

pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = credentials/auth0-credentials.pc

# The command: no setuid bit; the public API only, and lib/util.h (libc alone).
bin_PROGRAMS = credentials/auth0-credentials
credentials_auth0_credentials_SOURCES = credentials/cli.c
credentials_auth0_credentials_CPPFLAGS = $(CREDENTIALS_CPPFLAGS)
credentials_auth0_credentials_LDADD = credentials/libauth0-credentials.la lib/libauth0util.la

# man/local.mk sets dist_man_MANS with "=" after this file is included: a variable of our own.
dist_man1_MANS = man/auth0-credentials.1
