#!/bin/bash
# DPoP-bound sessions (issue 16) through the real sshd: the module signs in with dpop = yes (a
# key of the sign-in's own, the nonce the tenant demands of a public client), and inside the
# session auth0-credentials renews the tokens with the same key and prints the headers of one
# API request, which the fake's DPoP-enforcing API (/__resource) accepts once; the header format
# without the request's method and URL is refused; sso proves the key too.
# Needs: A0_BUILD (a non-sanitized build tree), A0_FAKE_STATE and A0_FAKE_CA.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
e2e_init

module=${A0_BUILD:?}/pam/.libs/pam_auth0.so
helper=$A0_BUILD/credentials/auth0-credentials
for f in "$module" "$helper"; do [[ -f $f ]] || e2e_die "no $f"; done
port=$(e2e_fake_port)
fake() { curl -fsS --cacert "$A0_FAKE_CA" --noproxy '*' "https://localhost:$port/__control/$1"; }
dpop_stat() { fake stats | /usr/bin/python3 -c "import json, sys; d = json.load(sys.stdin)['dpop']; print($1)"; }

install -m 0644 -- "$A0_FAKE_CA" "$E2E_WORK/ca.pem"
e2e_module_conf "$E2E_WORK/ca.pem" 'timeout = 5' 'dpop = yes'
svc=pam_auth0_e2e_dp_$$
e2e_module_service "$svc"
e2e_add_user a0alice
e2e_user_runtime_dir a0alice
e2e_secret alice 'Secret-a0alice-1'
e2e_start_sshd "$svc" "PasswordAuthentication yes"

url=https://localhost:$port/__resource/reports
api=https://api.example.com/
# In the session: the record's token type, a refresh, the API's headers sent twice (the second a
# replay), and the header format without a request. Only outcomes are printed, never a token.
remote="set -u
echo TYPE=\$($helper get --format json | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)[\"token_type\"])')
$helper get --force-refresh --format token >/dev/null 2>\$HOME/.err; echo REFRESH=\$? \$(head -c 300 \$HOME/.err)
h=\$($helper api get $api --format header --dpop-method GET --dpop-url $url 2>\$HOME/.err) || echo HEADERS_FAILED \$(head -c 300 \$HOME/.err)
send() { printf '%s\n' \"\$h\" | curl -s -o /dev/null -w '%{http_code}' --noproxy '*' --cacert $E2E_WORK/ca.pem -H @- $url; }
echo FIRST=\$(send)
echo REPLAY=\$(send)
$helper get --format header >/dev/null 2>&1; echo BARE=\$?
$helper sso >/dev/null 2>\$HOME/.err; echo SSO=\$? \$(head -c 300 \$HOME/.err)"
accepted=$(dpop_stat 'd["proofs"]["accepted"]')
if e2e_ssh -m password a0alice "$remote" <<'EXP'
answer "password: " alice
EXP
then
	e2e_assert_eq "the session's tokens are DPoP-bound" "TYPE=DPoP" "$(grep ^TYPE= <<<"$E2E_OUT")"
	e2e_assert_eq "a refresh proves the session's key" "REFRESH=0" "$(grep ^REFRESH= <<<"$E2E_OUT")"
	e2e_assert_eq "the API takes the printed headers" "FIRST=200" "$(grep ^FIRST= <<<"$E2E_OUT")"
	e2e_assert_eq "the same proof again is refused" "REPLAY=401" "$(grep ^REPLAY= <<<"$E2E_OUT")"
	e2e_assert_eq "no header without the request's method and URL (DPOP_MISSING_PARAMETER)" \
		"BARE=16" "$(grep ^BARE= <<<"$E2E_OUT")"
	e2e_assert_eq "sso (a session transfer token) proves the key" "SSO=0" \
		"$(grep ^SSO= <<<"$E2E_OUT")"
else
	e2e_fail "a DPoP session" "$E2E_ERR"
fi
# The sign-in (password-realm, and its nonce retry), the refresh, the API's refresh and sso.
e2e_check "the tenant took at least four proofs" test "$(($(dpop_stat 'd["proofs"]["accepted"]') - accepted))" -ge 4
e2e_assert_eq "no refresh with another key or none" 0 \
	"$(dpop_stat 'sum(d["binding_refused"].values())')"
e2e_summary
