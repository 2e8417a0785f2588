# The protocol core, linked into the module, the helper and the tests.
noinst_LTLIBRARIES += lib/libauth0core.la
lib_libauth0core_la_SOURCES = \
	lib/error.c lib/error.h \
	lib/secret.c lib/secret.h \
	lib/json.c lib/json.h \
	lib/conf.c lib/conf.h \
	lib/http.c lib/http.h \
	lib/auth0.c lib/response.c lib/auth0.h \
	lib/mfa.c lib/mfa.h \
	lib/jwt.c lib/jwt.h \
	lib/jwks.c lib/jwks.h \
	lib/policy.c lib/policy.h
lib_libauth0core_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(CRYPTO_CFLAGS) $(CJSON_CFLAGS) \
	$(KEYUTILS_CFLAGS)
lib_libauth0core_la_LIBADD = $(CURL_LIBS) $(CRYPTO_LIBS) $(CJSON_LIBS) $(KEYUTILS_LIBS) -lm
