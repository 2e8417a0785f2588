# admin/: auth0-pam(8), the administrator's command. One table of verbs (main.c): the breakglass
# window (lib/breakglass.c) and the offline verifiers (lib/offline.h); the diagnostics check,
# status and test-login (report.c the findings; host.c the host's files under --root, the
# configuration and the files it names; check.c the PAM services, nsswitch.conf and sshd;
# testlogin.c the PAM conversation; tenant.c the tenant and runtime state of diag.h) and
# nsswitch enable|disable (nsswitch.c). Installed next to auth0-sync; its manual is in
# man/local.mk.
sbin_PROGRAMS += admin/auth0-pam
admin_auth0_pam_SOURCES = admin/main.c admin/report.c admin/report.h admin/diag.h \
	admin/host.c admin/host.h admin/check.c admin/nsswitch.c admin/testlogin.c \
	admin/tenant.c
admin_auth0_pam_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS)
admin_auth0_pam_LDADD = lib/libauth0core.la $(CJSON_LIBS) $(PAM_LIBS)
