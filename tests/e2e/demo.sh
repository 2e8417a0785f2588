#!/bin/bash
# The demo behind tools/demo: a real sshd on loopback using pam_auth0 against the fake tenant,
# and the real ssh client logging the demo user in with password + one-time code. Prints what
# the person at the keyboard sees. Cleans up after itself like every e2e test.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
E2E_DIAG=${E2E_DIAG:-1}
. "$here/lib.sh"
e2e_init

module=${A0_BUILD:?}/pam/.libs/pam_auth0.so
helper=$A0_BUILD/credentials/auth0-credentials
port=$(e2e_fake_port)
user=a0otp
e2e_module_conf "$A0_FAKE_CA" 'mfa_poll_interval = 1'
conf=$E2E_CONF
svc=pam_auth0_demo_$$
e2e_module_service "$svc"
e2e_add_user "$user"
e2e_start_sshd "$svc" "KbdInteractiveAuthentication yes"

say() { if [ -t 1 ]; then printf '\n\033[1m%s\033[0m\n' "$*"; else printf '\n%s\n' "$*"; fi; }
say "== pam_auth0 demo"
echo "Fake Auth0 tenant:  https://localhost:$port/ (users in tests/fake-tenant/tenant.json)"
echo "sshd:               127.0.0.1:$E2E_SSH_PORT, PAM service /etc/pam.d/$svc:"
sed 's/^/                      /' "/etc/pam.d/$svc"
echo "Demo user:          $user, password Secret-$user-1, TOTP secret JBSWY3DPEHPK3PXP"

e2e_secret pw "Secret-$user-1"
e2e_secret otp "$("$here/totp" JBSWY3DPEHPK3PXP)"
remote='echo "Signed in as $(id -un) on $(hostname)"'
if [ -x "$helper" ]; then
	# The session's credentials: the record in its keyring, and through the helper (libtool's
	# wrapper script: it only sets LD_LIBRARY_PATH and execs credentials/.libs/auth0-credentials, so
	# the demo user can run it from the build tree). Tokens are shortened to their first 20
	# characters and an ellipsis inside the session, for readability: no whole token leaves it.
	shorten='s/"([A-Za-z0-9_-]{20})[A-Za-z0-9_.-]+"/"\1…"/g'
	remote="$remote; echo; echo '\$ keyctl show @s'; keyctl show @s"
	remote="$remote; echo; echo '\$ auth0-credentials get --format json'; $helper get --format json | sed -E '$shorten'"
fi
say "== ssh -o PreferredAuthentications=keyboard-interactive $user@127.0.0.1"
if e2e_ssh -m keyboard-interactive "$user" "$remote" <<'EXP'
answer "Password: " pw
answer "One-time code: " otp
EXP
then
	printf '%s\n' "$E2E_TRANSCRIPT" | sed 's/^/  /'
	echo "  (typed: the password, then the current one-time code)"
	say "== what the session printed"
	printf '%s\n' "$E2E_OUT" | sed 's/^/  /'
	e2e_assert_contains "demo login" "$E2E_OUT" "Signed in as $user"
	if [ -x "$helper" ]; then
		e2e_assert_contains "demo: the record is in the session keyring" "$E2E_OUT" "user: pam_auth0:main"
		e2e_assert_contains "demo: the helper prints the session's credentials" "$E2E_OUT" '"token_type":"Bearer"'
	fi
else
	printf '%s\n' "$E2E_TRANSCRIPT" | sed 's/^/  /'
	e2e_fail "demo login" "$E2E_ERR"
fi
say "== what the fake tenant saw"
curl -fsS --cacert "$A0_FAKE_CA" --noproxy '*' "https://localhost:$port/__control/log" |
	/usr/bin/python3 -c 'import json,sys
for r in json.load(sys.stdin):
    print("  %-6s %-22s %-52s -> %s %s" % (r["method"], r["path"], r.get("grant_type") or "", r["status"], r.get("error") or ""))'
e2e_summary
