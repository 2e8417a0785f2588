# sync/: auth0-sync(8), which fills the identity cache (nss/) from Auth0's Management API.

# --- sync-net: the Management API client, the command and its systemd units -----------------
# libauth0mgmt.la: the requests (mgmt.c): token, users by search or export job, roles. zlib
# inflates the users-export file, which Auth0 serves gzipped as a plain download (no
# Content-Encoding for libcurl to undo).
noinst_LTLIBRARIES += sync/libauth0mgmt.la
sync_libauth0mgmt_la_SOURCES = sync/mgmt.c sync/mgmt.h sync/sync.h
sync_libauth0mgmt_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(CRYPTO_CFLAGS) $(CJSON_CFLAGS) \
	$(ZLIB_CFLAGS)
sync_libauth0mgmt_la_LIBADD = lib/libauth0core.la $(CURL_LIBS) $(CRYPTO_LIBS) $(CJSON_LIBS) \
	$(ZLIB_LIBS)
# --- end sync-net -------------------------------------------------------------------------
