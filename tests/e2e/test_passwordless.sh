#!/bin/bash
# Passwordless sign-in (issue 17) through the real sshd: login_methods = email, then sms, sends a
# code to the address /etc/pam_auth0/users gives the account (tests/fake-tenant/users), shown
# masked; the dialogue reads the code from the fake's outbox, as the person reads their mail,
# and types it (keyboard-interactive, echo off). A wrong code is asked again; a0otp's sign-in
# ends with its authenticator's one-time code (MFA after passwordless).
# Needs: A0_BUILD (a non-sanitized build tree), A0_FAKE_STATE and A0_FAKE_CA.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
e2e_init

module=${A0_BUILD:?}/pam/.libs/pam_auth0.so
[[ -f $module ]] || e2e_die "no module at $module"
port=$(e2e_fake_port)
fake() { curl -fsS --cacert "$A0_FAKE_CA" --noproxy '*' "$@"; }
count() { fake "https://localhost:$port/__control/log" | /usr/bin/python3 -c \
	"import json, sys; print(sum(1 for r in json.load(sys.stdin) if r['path'] == '$1'))"; }
OTP_SECRET=JBSWY3DPEHPK3PXP # a0otp's, from tests/fake-tenant/tenant.json

install -m 0644 -- "$A0_FAKE_CA" "$E2E_WORK/ca.pem"
# The dialogue's helper: the last code the outbox holds for an address, on stdout only (the
# dialogue sends it; no log sees it).
cat >"$E2E_WORK/code" <<EOF2
#!/bin/sh
curl -fsS --cacert $E2E_WORK/ca.pem --noproxy '*' https://localhost:$port/__control/passwordless/outbox |
	/usr/bin/python3 -c 'import json, sys; print([m["code"] for m in json.load(sys.stdin) if m["to"] == sys.argv[1]][-1])' "\$1"
EOF2
chmod 0755 "$E2E_WORK/code"

for u in a0alice a0otp; do e2e_add_user "$u"; done

run_method() { # METHOD: a fresh configuration and service for that login method
	e2e_module_conf "$E2E_WORK/ca.pem" 'timeout = 5' "login_methods = $1"
	svc=pam_auth0_e2e_pl_$1_$$
	e2e_module_service "$svc"
	e2e_start_sshd "$svc" "KbdInteractiveAuthentication yes"
}

# ---- by email
run_method email
starts=$(count /passwordless/start)
if e2e_ssh -m keyboard-interactive a0alice 'id -un' <<EXP
await "a***@example.com"
await "Code sent by email: "
send_line [exec $E2E_WORK/code a0alice@example.com]
EXP
then
	e2e_assert_eq "ssh passwordless by email" a0alice "$E2E_OUT"
	e2e_assert_eq "the address was shown masked, never whole" 0 \
		"$(grep -c 'a0alice@example.com' <<<"$E2E_TRANSCRIPT" || true)"
else
	e2e_fail "ssh passwordless by email" "$E2E_ERR"
fi
e2e_assert_eq "one code sent" $((starts + 1)) "$(count /passwordless/start)"

# MFA after passwordless: a0otp's authenticator app (its code a secret of the dialogue: the
# app's key never enters the dialogue's files).
e2e_secret otp "$("$here/totp" "$OTP_SECRET")"
if e2e_ssh -m keyboard-interactive a0otp 'id -un' <<EXP
await "Code sent by email: "
send_line [exec $E2E_WORK/code a0otp@example.com]
answer "One-time code: " otp
EXP
then
	e2e_assert_eq "ssh passwordless by email, then OTP" a0otp "$E2E_OUT"
else
	e2e_fail "ssh passwordless by email, then OTP" "$E2E_ERR"
fi
# ---- by SMS (another sshd, its own service), a wrong code first
run_method sms
if e2e_ssh -m keyboard-interactive a0alice 'id -un' <<EXP
await "+*********01"
await "Code sent by SMS: "
send_line 000001
await "Code sent by SMS: "
send_line [exec $E2E_WORK/code +15550100001]
EXP
then
	e2e_assert_eq "ssh passwordless by SMS after a wrong code" a0alice "$E2E_OUT"
else
	e2e_fail "ssh passwordless by SMS after a wrong code" "$E2E_ERR"
fi
e2e_summary
