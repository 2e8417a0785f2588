# keyring/: the records and their format, and the credential store in the kernel keyring, both
# network-free (libauth0store.la, also in the public credentials library), and what a login
# does with it (libauth0login.la: store, hand-off from sshd's auth child, logout). Both are
# part of lib/libauth0core.la.
noinst_LTLIBRARIES += keyring/libauth0store.la
keyring_libauth0store_la_SOURCES = \
	keyring/record.c keyring/record.h \
	keyring/store.c keyring/store.h keyring/keys.h
keyring_libauth0store_la_CFLAGS = $(AM_CFLAGS) $(KEYUTILS_CFLAGS)
keyring_libauth0store_la_LIBADD = $(KEYUTILS_LIBS)

noinst_LTLIBRARIES += keyring/libauth0login.la
keyring_libauth0login_la_SOURCES = keyring/login.c keyring/login.h
keyring_libauth0login_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(CJSON_CFLAGS) $(KEYUTILS_CFLAGS)
