# admin/: auth0-pam(8), the administrator's command (root). One table of verbs (main.c): the
# breakglass window (lib/breakglass.c) and the offline verifiers (lib/offline.h); the future home
# of the diagnostics verbs. Installed next to auth0-sync; its manual is in man/local.mk.
sbin_PROGRAMS += admin/auth0-pam
admin_auth0_pam_SOURCES = admin/main.c
admin_auth0_pam_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS)
admin_auth0_pam_LDADD = lib/libauth0core.la $(CJSON_LIBS)
