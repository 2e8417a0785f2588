# libFuzzer targets, one per parser of outside data (configure --enable-fuzzers, CC=clang).
# `make fuzzers` builds them; tools/fuzz runs them long, tools/test briefly. Seeds are in
# tests/fuzz/corpus/<target>/ (tests/fuzz/make-seeds.py writes them).
FUZZ_TARGETS = tests/fuzz/fuzz_token tests/fuzz/fuzz_error tests/fuzz/fuzz_authenticators \
	tests/fuzz/fuzz_config tests/fuzz/fuzz_jwks tests/fuzz/fuzz_jwt tests/fuzz/fuzz_record \
	tests/fuzz/fuzz_snapshot tests/fuzz/fuzz_cache tests/fuzz/fuzz_mgmt tests/fuzz/fuzz_offline tests/fuzz/fuzz_broker \
	tests/fuzz/fuzz_dpop
if ENABLE_FUZZERS
noinst_PROGRAMS += $(FUZZ_TARGETS)
FUZZ_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS) $(CRYPTO_CFLAGS)
FUZZ_LDADD = lib/libauth0core.la $(CJSON_LIBS) $(CRYPTO_LIBS)
FUZZ_LINK = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)

tests_fuzz_fuzz_token_SOURCES = tests/fuzz/fuzz_token.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_token_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_token_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_token_LDFLAGS = $(FUZZ_LINK)

tests_fuzz_fuzz_error_SOURCES = tests/fuzz/fuzz_error.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_error_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_error_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_error_LDFLAGS = $(FUZZ_LINK)

tests_fuzz_fuzz_authenticators_SOURCES = tests/fuzz/fuzz_authenticators.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_authenticators_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_authenticators_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_authenticators_LDFLAGS = $(FUZZ_LINK)

tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz_config.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_config_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_config_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_config_LDFLAGS = $(FUZZ_LINK)

FUZZ_SIGN = tests/fuzz/sign.c tests/fuzz/sign.h tests/fuzz/fuzz_keys.h tests/fuzz/fuzz.h
tests_fuzz_fuzz_jwks_SOURCES = tests/fuzz/fuzz_jwks.c $(FUZZ_SIGN)
tests_fuzz_fuzz_jwks_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_jwks_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_jwks_LDFLAGS = $(FUZZ_LINK)

tests_fuzz_fuzz_jwt_SOURCES = tests/fuzz/fuzz_jwt.c $(FUZZ_SIGN)
tests_fuzz_fuzz_jwt_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_jwt_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_jwt_LDFLAGS = $(FUZZ_LINK)

tests_fuzz_fuzz_record_SOURCES = tests/fuzz/fuzz_record.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_record_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_record_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_record_LDFLAGS = $(FUZZ_LINK)

# Signed snapshots (sync/snapshot.c): the base and OpenSSL only, no network core.
tests_fuzz_fuzz_snapshot_SOURCES = tests/fuzz/fuzz_snapshot.c tests/fuzz/fuzz_keys.h \
	tests/fuzz/fuzz.h
tests_fuzz_fuzz_snapshot_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_snapshot_LDADD = sync/libauth0snapshot.la $(CJSON_LIBS) $(CRYPTO_LIBS)
tests_fuzz_fuzz_snapshot_LDFLAGS = $(FUZZ_LINK)

# The identity cache's reader, which libnss_auth0 runs in every process (nss/: libc alone).
tests_fuzz_fuzz_cache_SOURCES = tests/fuzz/fuzz_cache.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_cache_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_cache_LDADD = nss/libauth0cache.la
tests_fuzz_fuzz_cache_LDFLAGS = $(FUZZ_LINK)

# What auth0-sync parses of the Management API's answers (sync/mgmt.h), then the identity rules
# over it (sync/rules.h); zlib gzips export files as Auth0 serves them.
tests_fuzz_fuzz_mgmt_SOURCES = tests/fuzz/fuzz_mgmt.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_mgmt_CFLAGS = $(FUZZ_CFLAGS) $(ZLIB_CFLAGS)
tests_fuzz_fuzz_mgmt_LDADD = sync/libauth0mgmt.la sync/libauth0sync.la nss/libauth0cache.la \
	lib/libauth0core.la $(CJSON_LIBS) $(ZLIB_LIBS)
tests_fuzz_fuzz_mgmt_LDFLAGS = $(FUZZ_LINK)

# The offline verifier's file (lib/offline.c), as root's offline_dir holds it.
tests_fuzz_fuzz_offline_SOURCES = tests/fuzz/fuzz_offline.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_offline_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_offline_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_offline_LDFLAGS = $(FUZZ_LINK)

# auth0-broker's protocol (broker/protocol.h): requests from any local caller, and answers.
tests_fuzz_fuzz_broker_SOURCES = tests/fuzz/fuzz_broker.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_broker_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_broker_LDADD = broker/libauth0broker.la lib/libauth0base.la $(CJSON_LIBS)
tests_fuzz_fuzz_broker_LDFLAGS = $(FUZZ_LINK)

# DPoP (lib/dpop.h): the private JWK a keyring record holds, and proofs of outside nonces and URLs.
tests_fuzz_fuzz_dpop_SOURCES = tests/fuzz/fuzz_dpop.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_dpop_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_dpop_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_dpop_LDFLAGS = $(FUZZ_LINK)

# The fuzz targets alone (a fuzzing build need not build the module or the helper).
fuzzers: $(FUZZ_TARGETS)
else
fuzzers:
	@echo "the fuzz targets need: CC=clang ./configure --enable-fuzzers" >&2; exit 1
endif
.PHONY: fuzzers
EXTRA_DIST += tests/fuzz/corpus tests/fuzz/make-seeds.py
