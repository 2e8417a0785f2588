# libauth0-credentials and auth0-credentials(1): Auth0's CredentialsManager semantics for the
# processes of a login session, over the records pam_auth0 keeps in its keyring (issue 5).
HELPER_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir) -I$(top_srcdir)/include

# The manager, the lock and the worker: linked into the shared library and the unit tests
# (which link lib/libauth0core.la themselves).
noinst_LTLIBRARIES += helpers/libcredentials-core.la
helpers_libcredentials_core_la_SOURCES = \
	helpers/manager.c helpers/manager.h \
	helpers/lock.c helpers/lock.h \
	helpers/worker.c helpers/worker.h
helpers_libcredentials_core_la_CPPFLAGS = $(HELPER_CPPFLAGS)
helpers_libcredentials_core_la_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS) $(KEYUTILS_CFLAGS)

# The public library: auth0_credentials_* alone are exported (visibility and version script).
# It links neither libcurl nor OpenSSL: loading them and the libraries behind them took several
# times as long as a cached `auth0-credentials get` itself. Requests to the tenant are in the
# module below (helpers/tenant.h). Of lib/ it takes the files without network: the answers'
# parsers (lib/response.c), not the requests (lib/auth0.c). Should code of the library ever
# call into lib/auth0.c or lib/http.c, the link fails (--no-undefined) instead of pulling
# libcurl back in.
lib_LTLIBRARIES = helpers/libauth0-credentials.la helpers/auth0-credentials-tenant.la
helpers_libauth0_credentials_la_SOURCES = helpers/credentials.c include/auth0/credentials.h \
	helpers/tenant.h \
	lib/error.c lib/secret.c lib/json.c lib/response.c keyring/store.c
helpers_libauth0_credentials_la_CPPFLAGS = $(HELPER_CPPFLAGS)
helpers_libauth0_credentials_la_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS) $(KEYUTILS_CFLAGS)
helpers_libauth0_credentials_la_LIBADD = helpers/libcredentials-core.la $(CJSON_LIBS) \
	$(KEYUTILS_LIBS) -lm
helpers_libauth0_credentials_la_LDFLAGS = $(AM_LDFLAGS) -version-info 0:0:0 \
	-Wl,--version-script=$(srcdir)/helpers/libauth0-credentials.sym \
	-Wl,-z,relro -Wl,-z,now -Wl,--no-undefined
EXTRA_DIST += helpers/libauth0-credentials.sym helpers/auth0-credentials.pc.in

# The tenant module, auth0-credentials-tenant.so: the refresh and revocation requests, which the
# library loads from its own directory when a job needs them. Exports a0_tenant alone.
helpers_auth0_credentials_tenant_la_SOURCES = helpers/tenant.c helpers/tenant.h
helpers_auth0_credentials_tenant_la_CPPFLAGS = $(HELPER_CPPFLAGS)
helpers_auth0_credentials_tenant_la_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS) $(KEYUTILS_CFLAGS)
helpers_auth0_credentials_tenant_la_LIBADD = lib/libauth0core.la
helpers_auth0_credentials_tenant_la_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -shared \
	-Wl,-z,relro -Wl,-z,now -Wl,--no-undefined

auth0includedir = $(includedir)/auth0
auth0include_HEADERS = include/auth0/credentials.h

pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = helpers/auth0-credentials.pc

# The command: no setuid bit; the public API only.
bin_PROGRAMS = helpers/auth0-credentials
helpers_auth0_credentials_SOURCES = helpers/cli.c
helpers_auth0_credentials_CPPFLAGS = $(HELPER_CPPFLAGS)
helpers_auth0_credentials_LDADD = helpers/libauth0-credentials.la
helpers_auth0_credentials_LDFLAGS = $(AM_LDFLAGS) -Wl,-z,relro -Wl,-z,now

# man/local.mk sets dist_man_MANS with "=" after this file is included: a variable of our own.
dist_man1_MANS = man/auth0-credentials.1
