# broker/: auth0-broker(8), which holds a confidential application's client authentication and
# performs an allow-list of requests for the session processes (issue 15).

# libauth0broker.la: the protocol (protocol.h): frames, the request and response JSON, and the
# caller's side (a0_broker_call). The network-free base and cJSON only, no libcurl or OpenSSL:
# libauth0-credentials links it.
noinst_LTLIBRARIES += broker/libauth0broker.la
broker_libauth0broker_la_SOURCES = broker/protocol.c broker/protocol.h
broker_libauth0broker_la_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS)
# The base comes with whoever links it (the credentials library, or the core for the service):
# a convenience library that took it too would bring it twice.
broker_libauth0broker_la_LIBADD = $(CJSON_LIBS)

# The service: the protocol and the network core (grants, ID tokens, the policy).
sbin_PROGRAMS += broker/auth0-broker
broker_auth0_broker_SOURCES = broker/main.c
broker_auth0_broker_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS)
broker_auth0_broker_LDADD = broker/libauth0broker.la lib/libauth0core.la $(CJSON_LIBS)

# Its systemd units: socket activation, and the service naming the installed command.
systemdsystemunit_DATA += broker/auth0-broker.service broker/auth0-broker.socket
broker/auth0-broker.service: broker/auth0-broker.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) broker && sed -e 's|@sbindir[@]|$(sbindir)|g' \
		$(srcdir)/broker/auth0-broker.service.in >$@.tmp && mv $@.tmp $@
CLEANFILES += broker/auth0-broker.service
EXTRA_DIST += broker/auth0-broker.service.in broker/auth0-broker.socket

# Its system user, made by systemd-sysusers (sysusers.d(5) wants the name NAME.conf).
sysusers_DATA = broker/auth0-broker.conf
broker/auth0-broker.conf: broker/auth0-broker.sysusers
	$(AM_V_GEN)$(MKDIR_P) broker && cp $(srcdir)/broker/auth0-broker.sysusers $@
CLEANFILES += broker/auth0-broker.conf
EXTRA_DIST += broker/auth0-broker.sysusers
