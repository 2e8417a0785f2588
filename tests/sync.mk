if ENABLE_TESTS
# tests/sync: auth0-sync(8) against the fake tenant's Management API (root only: the command
# is), and its systemd units (systemd-analyze verify, when there is one).
check_PROGRAMS += tests/sync/test_sync
tests_sync_test_sync_SOURCES = tests/sync/test_sync.c tests/sync/common.c tests/sync/common.h
tests_sync_test_sync_CPPFLAGS = $(AM_CPPFLAGS) -DA0_SYNC_BIN='"$(abs_builddir)/sync/auth0-sync"'
tests_sync_test_sync_CFLAGS = $(TEST_CFLAGS)
tests_sync_test_sync_LDADD = nss/libauth0cache.la lib/libauth0base.la tests/libtestcommon.la \
	$(CMOCKA_LIBS) $(CJSON_LIBS)
# The command it runs.
EXTRA_tests_sync_test_sync_DEPENDENCIES = sync/auth0-sync

TESTS += tests/sync/test_units
endif
EXTRA_DIST += tests/sync/test_units
