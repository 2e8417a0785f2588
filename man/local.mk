dist_man_MANS = man/pam_auth0.8 man/pam_auth0.conf.5 man/nss-auth0.8 man/auth0-sync.8 man/auth0-pam.8 man/auth0-broker.8
