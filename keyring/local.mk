# The credential store and the module's keyring logic, in the core library so that the module,
# the helper and the tests share them; lib/priv.c is the one privilege switch they use.
AM_CPPFLAGS += -I$(top_srcdir)/keyring
lib_libauth0core_la_SOURCES += \
	lib/priv.c lib/priv.h \
	keyring/store.c keyring/store.h keyring/keys.h \
	keyring/login.c keyring/login.h
