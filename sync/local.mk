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
