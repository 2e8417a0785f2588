# The PAM module: a thin layer over lib/, exporting pam_sm_* alone.
pammod_LTLIBRARIES += pam/pam_auth0.la
pam_pam_auth0_la_SOURCES = pam/module.h pam/module.c pam/auth.c pam/offline.c pam/account.c pam/session.c \
	pam/netchild.h pam/netchild.c
pam_pam_auth0_la_CFLAGS = $(AM_CFLAGS) $(PAM_CFLAGS) $(CJSON_CFLAGS)
pam_pam_auth0_la_LIBADD = lib/libauth0core.la $(PAM_LIBS)
pam_pam_auth0_la_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -shared \
	-Wl,--version-script=$(srcdir)/pam/export.sym -Wl,--no-undefined
EXTRA_DIST += pam/export.sym
EXTRA_DIST += pam/pam-configs/auth0
