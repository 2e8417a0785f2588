# sync/: auth0-sync(8), which fills the identity cache (nss/) from Auth0's Management API.

# --- sync-rules: the network-free core ---------------------------------------------------------
# libauth0sync.la: the data of a run and the state (sync.h, data.c), the state's JSON file
# (state.h), the identity rules (rules.h: names, uids and gids, tombstones, groups; the host's
# own accounts in accounts.c) and the outputs they write (outputs.c: the identities file and
# the NSS cache, through nss/libauth0cache.la). Linked by the command and its unit tests.
noinst_LTLIBRARIES += sync/libauth0sync.la
sync_libauth0sync_la_SOURCES = \
	sync/sync.h sync/data.c \
	sync/state.c sync/state.h \
	sync/rules.c sync/rules.h sync/accounts.c \
	sync/outputs.c
sync_libauth0sync_la_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS)
sync_libauth0sync_la_LIBADD = nss/libauth0cache.la lib/libauth0core.la $(CJSON_LIBS)
# --- end sync-rules ----------------------------------------------------------------------------

# --- sync-net: the Management API client, the command and its systemd units -----------------
# libauth0mgmt.la: the requests (mgmt.c): token, users by search or export job, roles. zlib
# inflates the users-export file, which Auth0 serves gzipped as a plain download (no
# Content-Encoding for libcurl to undo).
noinst_LTLIBRARIES += sync/libauth0mgmt.la
sync_libauth0mgmt_la_SOURCES = sync/mgmt.c sync/mgmt.h sync/sync.h
sync_libauth0mgmt_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(CRYPTO_CFLAGS) $(CJSON_CFLAGS) \
	$(ZLIB_CFLAGS)
sync_libauth0mgmt_la_LIBADD = sync/libauth0sync.la lib/libauth0core.la $(CURL_LIBS) \
	$(CRYPTO_LIBS) $(CJSON_LIBS) $(ZLIB_LIBS)

# auth0-sync(8), root's: the Management API (libauth0mgmt.la), the identity rules
# (libauth0sync.la), signed snapshots (libauth0snapshot.la).
sbin_PROGRAMS = sync/auth0-sync
sync_auth0_sync_SOURCES = sync/main.c
sync_auth0_sync_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS)
sync_auth0_sync_LDADD = sync/libauth0mgmt.la sync/libauth0sync.la sync/libauth0snapshot.la \
	nss/libauth0cache.la lib/libauth0core.la $(CJSON_LIBS)

# Its systemd units: the service names the installed command.
systemdsystemunit_DATA = sync/auth0-sync.service sync/auth0-sync.timer
sync/auth0-sync.service: sync/auth0-sync.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) sync && sed -e 's|@sbindir[@]|$(sbindir)|g' \
		$(srcdir)/sync/auth0-sync.service.in >$@.tmp && mv $@.tmp $@
CLEANFILES += sync/auth0-sync.service
EXTRA_DIST += sync/auth0-sync.service.in sync/auth0-sync.timer
AM_DISTCHECK_CONFIGURE_FLAGS = \
	--with-systemdsystemunitdir='$$(prefix)/lib/systemd/system' \
	--with-sysusersdir='$$(prefix)/lib/sysusers.d'
# --- end sync-net -------------------------------------------------------------------------
