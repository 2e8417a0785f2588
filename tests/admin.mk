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
endif
EXTRA_DIST += tests/admin/test_breakglass_cmd
