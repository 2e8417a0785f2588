if ENABLE_TESTS
# tests/unit/test_broker_protocol: broker/protocol.h (frames, requests, responses, the call).
check_PROGRAMS += tests/unit/test_broker_protocol
tests_unit_test_broker_protocol_SOURCES = tests/unit/test_broker_protocol.c
tests_unit_test_broker_protocol_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_broker_protocol_LDADD = broker/libauth0broker.la lib/libauth0base.la \
	$(CMOCKA_LIBS) $(CJSON_LIBS)

# tests/broker: auth0-broker(8) in the foreground against the fake tenant (root only: it binds
# callers' uids), and its systemd units (tests/sync/test_units verifies them with auth0-sync's).
check_PROGRAMS += tests/broker/test_broker
tests_broker_test_broker_SOURCES = tests/broker/test_broker.c
tests_broker_test_broker_CPPFLAGS = $(AM_CPPFLAGS) \
	-DA0_BROKER_BIN='"$(abs_builddir)/broker/auth0-broker"'
tests_broker_test_broker_CFLAGS = $(TEST_CFLAGS)
tests_broker_test_broker_LDADD = broker/libauth0broker.la lib/libauth0base.la \
	tests/libtestcommon.la $(CMOCKA_LIBS) $(CJSON_LIBS)
EXTRA_tests_broker_test_broker_DEPENDENCIES = broker/auth0-broker
endif
