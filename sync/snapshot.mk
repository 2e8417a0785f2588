# sync/snapshot.c: signed snapshots for fleets (auth0-sync --export / --import; the format is in
# sync/snapshot.h). Network-free: the base library and OpenSSL's libcrypto, nothing else, so
# that auth0-sync and the tests link it as they like.
noinst_LTLIBRARIES += sync/libauth0snapshot.la
sync_libauth0snapshot_la_SOURCES = sync/snapshot.c sync/snapshot.h
sync_libauth0snapshot_la_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS)
sync_libauth0snapshot_la_LIBADD = lib/libauth0base.la $(CRYPTO_LIBS)
