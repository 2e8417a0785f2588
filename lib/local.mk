# lib/: convenience libraries.
#
# libauth0util.la, the one way of each small job (util.h): whole reads and writes, text checks,
# message buffers, copies, the domain check. libc alone, so that even the command line
# (credentials/local.mk) and the test helpers (tests/local.mk) can take it; part of the base.
noinst_LTLIBRARIES += lib/libauth0util.la
lib_libauth0util_la_SOURCES = lib/util.c lib/util.h

# libauth0base.la, the network-free base: errors, secret buffers, bounded JSON, base64url, the
# parsers of Auth0's answers, the identities file (auth0-sync writes it, the module reads it).
# It links neither libcurl nor OpenSSL, so the public credentials library can take it
# (credentials/local.mk) together with the keyring store (keyring/local.mk).
noinst_LTLIBRARIES += lib/libauth0base.la
lib_libauth0base_la_SOURCES = \
	lib/error.c lib/error.h \
	lib/secret.c lib/secret.h \
	lib/json.c lib/json.h \
	lib/base64url.c lib/base64url.h \
	lib/response.c lib/auth0.h \
	lib/identities.c lib/identities.h
lib_libauth0base_la_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS)
lib_libauth0base_la_LIBADD = lib/libauth0util.la $(CJSON_LIBS) -lm

# libauth0dpop.la, DPoP (RFC 9449, dpop.h): a login session's P-256 key and the proofs signed
# with it. libcrypto and cJSON over the base, never libcurl, so that the credentials library can
# make proofs for a session's API calls. Part of the core. Like broker/libauth0broker.la it does
# not take the base itself: whoever links it brings the base, which a convenience library that
# took it too would bring twice.
noinst_LTLIBRARIES += lib/libauth0dpop.la
lib_libauth0dpop_la_SOURCES = lib/dpop.c lib/dpop.h
lib_libauth0dpop_la_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS) $(CJSON_CFLAGS)
lib_libauth0dpop_la_LIBADD = $(CRYPTO_LIBS) $(CJSON_LIBS)

# libauth0core.la, the protocol core linked into the module, the tenant plug-in, the fuzzers
# and the tests: the base, DPoP (libauth0dpop.la) and the keyring store, plus configuration, the
# one HTTP client, the grants, the MFA flow, JWS and ID tokens, the policy, the guard, the outage
# state, the offline verifier (Argon2id: libargon2) and the breakglass window, the one privilege
# switch and what a login does with the keyring.
noinst_LTLIBRARIES += lib/libauth0core.la
lib_libauth0core_la_SOURCES = \
	lib/conf.c lib/conf.h \
	lib/http.c lib/http.h \
	lib/auth0.c lib/auth0.h \
	lib/mfa.c lib/mfa.h \
	lib/jwt.c lib/jwt.h \
	lib/assertion.c lib/assertion.h \
	lib/idtoken.c lib/idtoken.h \
	lib/policy.c lib/policy.h \
	lib/guard.c lib/guard.h \
	lib/outage.c lib/outage.h \
	lib/offline.c lib/breakglass.c lib/offline_conf.c lib/offline.h \
	lib/priv.c lib/priv.h \
	lib/device.c lib/device.h \
	lib/qr.c lib/qr.h
lib_libauth0core_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(CRYPTO_CFLAGS) $(CJSON_CFLAGS) \
	$(KEYUTILS_CFLAGS) $(ARGON2_CFLAGS) $(QRENCODE_CFLAGS)
lib_libauth0core_la_LIBADD = lib/libauth0base.la lib/libauth0dpop.la keyring/libauth0store.la \
	keyring/libauth0login.la $(CURL_LIBS) $(CRYPTO_LIBS) $(CJSON_LIBS) $(KEYUTILS_LIBS) \
	$(ARGON2_LIBS) $(QRENCODE_LIBS) -lm
