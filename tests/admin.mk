if ENABLE_TESTS
# tests/admin: auth0-pam(8) run as a command (root; both skip otherwise), every file in a
# temporary directory named by a configuration of its own.
# test_breakglass_cmd: breakglass open, status (text and --json), close; usage errors; exit codes.
TESTS += tests/admin/test_breakglass_cmd
# test_offline_cmd: offline list (text and --json) and forget USER / --all over verifiers that
# the test writes with a0_offline_online, as an online login does.
check_PROGRAMS += tests/admin/test_offline_cmd
tests_admin_test_offline_cmd_SOURCES = tests/admin/test_offline_cmd.c
tests_admin_test_offline_cmd_CPPFLAGS = $(AM_CPPFLAGS) \
	-DA0_ADMIN_BIN='"$(abs_builddir)/admin/auth0-pam"'
tests_admin_test_offline_cmd_CFLAGS = $(TEST_CFLAGS)
tests_admin_test_offline_cmd_LDADD = tests/libtestcommon.la $(TEST_LIBS) $(CJSON_LIBS)
EXTRA_tests_admin_test_offline_cmd_DEPENDENCIES = admin/auth0-pam
# test_check: check on a host built under --root (a healthy one, then one broken set-up per
# rule: id in text and JSON, exit code), nsswitch enable/disable/--dry-run (byte for byte,
# idempotent, owner and mode kept), test-login under pam_wrapper (pam_permit, pam_deny, and
# pam_auth0 against the fake tenant).
check_PROGRAMS += tests/admin/test_check
tests_admin_test_check_SOURCES = tests/admin/test_check.c
tests_admin_test_check_CPPFLAGS = $(AM_CPPFLAGS) \
	-DA0_ADMIN_BIN='"$(abs_builddir)/admin/auth0-pam"'
tests_admin_test_check_CFLAGS = $(TEST_CFLAGS)
tests_admin_test_check_LDADD = tests/libtestcommon.la $(TEST_LIBS) $(CJSON_LIBS)
EXTRA_tests_admin_test_check_DEPENDENCIES = admin/auth0-pam pam/pam_auth0.la
# test_tenant: admin/tenant.c against the fake: check's tenant steps (healthy, a closed port,
# another CA, a skewed Date header, refused grants, a refused client secret) and status (empty,
# known offline, a verifier, a broker socket), by the findings of the report's JSON.
check_PROGRAMS += tests/admin/test_tenant
tests_admin_test_tenant_SOURCES = tests/admin/test_tenant.c admin/tenant.c admin/report.c
tests_admin_test_tenant_CFLAGS = $(TEST_CFLAGS)
tests_admin_test_tenant_LDADD = tests/libtestcommon.la $(TEST_LIBS) $(CJSON_LIBS)
endif
EXTRA_DIST += tests/admin/test_breakglass_cmd
