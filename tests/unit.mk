if ENABLE_TESTS
# tests/unit: cmocka tests of one part each, linked against the convenience libraries.
check_PROGRAMS += tests/unit/test_conf tests/unit/test_auth0 tests/unit/test_http \
	tests/unit/test_exports tests/unit/test_jwt tests/unit/test_policy tests/unit/test_record \
	tests/unit/test_store tests/unit/test_manager tests/unit/test_lock tests/unit/test_guard \
	tests/unit/test_outage tests/unit/test_offline tests/unit/test_breakglass \
	tests/unit/test_util tests/unit/test_hardening tests/unit/test_snapshot \
	tests/unit/test_identities tests/unit/test_sync_rules tests/unit/test_sync_state \
	tests/unit/test_dpop tests/unit/test_qr tests/unit/test_device

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
tests_unit_test_policy_LDADD = tests/libtestcommon.la $(TEST_LIBS) $(CJSON_LIBS)

# DPoP keys and proofs (lib/dpop.h), verified with OpenSSL: libauth0dpop.la and the base alone,
# no libcurl.
tests_unit_test_dpop_SOURCES = tests/unit/test_dpop.c
tests_unit_test_dpop_CFLAGS = $(TEST_CFLAGS) $(CRYPTO_CFLAGS)
tests_unit_test_dpop_LDADD = lib/libauth0dpop.la lib/libauth0base.la $(CMOCKA_LIBS) \
	$(CJSON_LIBS) $(CRYPTO_LIBS)

# The QR drawing (lib/qr.h): its snapshots, and zbarimg decoding what it draws.
tests_unit_test_qr_SOURCES = tests/unit/test_qr.c
tests_unit_test_qr_CFLAGS = $(TEST_CFLAGS) -DA0_QR_SNAPSHOTS='"$(abs_top_srcdir)/tests/unit/qr"'
tests_unit_test_qr_LDADD = $(TEST_LIBS)

# The device flow's check of the tenant's answer (lib/device.h).
tests_unit_test_device_SOURCES = tests/unit/test_device.c
tests_unit_test_device_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_device_LDADD = $(TEST_LIBS)

# The local guard against password guessing, on a real directory (root).
tests_unit_test_guard_SOURCES = tests/unit/test_guard.c
tests_unit_test_guard_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_guard_LDADD = $(TEST_LIBS)

# When Auth0 cannot be reached: the classification table and the known-offline state (root).
tests_unit_test_outage_SOURCES = tests/unit/test_outage.c
tests_unit_test_outage_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_outage_LDADD = $(TEST_LIBS)

# The offline verifier (lib/offline.h) on real files in a temporary directory (root).
tests_unit_test_offline_SOURCES = tests/unit/test_offline.c
tests_unit_test_offline_CFLAGS = $(TEST_CFLAGS) $(CRYPTO_CFLAGS)
tests_unit_test_offline_LDADD = tests/libtestcommon.la $(TEST_LIBS) $(CRYPTO_LIBS)

# The breakglass window on a real directory: open, close, replace, bounds, untrusted files (root).
tests_unit_test_breakglass_SOURCES = tests/unit/test_breakglass.c
tests_unit_test_breakglass_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_breakglass_LDADD = tests/libtestcommon.la $(TEST_LIBS)

# Records and their format: neither root nor a keyring, nor the network code.
tests_unit_test_record_SOURCES = tests/unit/test_record.c tests/common/record.h
tests_unit_test_record_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_record_LDADD = keyring/libauth0store.la lib/libauth0base.la $(CMOCKA_LIBS) \
	$(KEYUTILS_LIBS)

# The credential store against the real kernel keyring (root: real uids, throwaway accounts).
tests_unit_test_store_SOURCES = tests/unit/test_store.c tests/common/record.h $(TEST_USER)
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

# lib/util.h. A0_ARRAY_SIZE refuses a pointer at build time: before test_util is built, an
# array must compile and a pointer must fail with the macro's own message.
tests_unit_test_util_SOURCES = tests/unit/test_util.c
tests_unit_test_util_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_util_LDADD = lib/libauth0util.la $(CMOCKA_LIBS)
EXTRA_tests_unit_test_util_DEPENDENCIES = tests/unit/array_size.stamp
CLEANFILES += tests/unit/array_size.stamp tests/unit/array_size.err
tests/unit/array_size.stamp: tests/unit/array_size.c lib/util.h
	$(AM_V_GEN)$(MKDIR_P) tests/unit && \
	$(COMPILE) -fsyntax-only -DA0_ARRAY_OK $(srcdir)/tests/unit/array_size.c && \
	if $(COMPILE) -fsyntax-only $(srcdir)/tests/unit/array_size.c \
		2>tests/unit/array_size.err; then \
		echo "A0_ARRAY_SIZE took a pointer" >&2; exit 1; \
	fi && \
	if ! grep -q 'A0_ARRAY_SIZE: not an array' tests/unit/array_size.err; then \
		cat tests/unit/array_size.err >&2; exit 1; \
	fi && \
	touch $@

# Signed snapshots (sync/snapshot.c) with keys the test makes with OpenSSL in a temporary dir.
tests_unit_test_snapshot_SOURCES = tests/unit/test_snapshot.c
tests_unit_test_snapshot_CFLAGS = $(TEST_CFLAGS) $(CRYPTO_CFLAGS)
tests_unit_test_snapshot_LDADD = sync/libauth0snapshot.la $(CMOCKA_LIBS) $(CRYPTO_LIBS)

# The identities file of synced users (lib/identities.h): the base alone.
tests_unit_test_identities_SOURCES = tests/unit/test_identities.c
tests_unit_test_identities_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_identities_LDADD = tests/libtestcommon.la lib/libauth0base.la $(CMOCKA_LIBS)

# auth0-sync's network-free core: the identity rules and their outputs, the state's JSON.
tests_unit_test_sync_rules_SOURCES = tests/unit/test_sync_rules.c
tests_unit_test_sync_rules_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_sync_rules_LDADD = sync/libauth0sync.la tests/libtestcommon.la $(TEST_LIBS) \
	$(CJSON_LIBS)
tests_unit_test_sync_state_SOURCES = tests/unit/test_sync_state.c
tests_unit_test_sync_state_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_sync_state_LDADD = sync/libauth0sync.la tests/libtestcommon.la $(TEST_LIBS) \
	$(CJSON_LIBS)

# Full RELRO and _FORTIFY_SOURCE, read from the built ELF files.
tests_unit_test_hardening_SOURCES = tests/unit/test_hardening.c
tests_unit_test_hardening_CPPFLAGS = $(AM_CPPFLAGS) \
	-DA0_SYNC_BIN='"$(abs_builddir)/sync/auth0-sync"' \
	-DA0_NSS_MODULE='"$(abs_builddir)/nss/.libs/libnss_auth0.so.2"'
tests_unit_test_hardening_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_hardening_LDADD = $(CMOCKA_LIBS)
# What it reads (make check builds them anyway; this is for the program made alone).
EXTRA_tests_unit_test_hardening_DEPENDENCIES = sync/auth0-sync nss/libnss_auth0.la
endif
EXTRA_DIST += tests/unit/array_size.c
