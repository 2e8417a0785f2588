#!/bin/bash
# The password change (issue 17), through the real `passwd` command: an Auth0 user who runs
# `passwd` is not asked for any password; the module has Auth0 mail them the change link (the
# fake's outbox holds the mail, to their address), tells them where it went, masked, and their
# local shadow entry is untouched (pam_unix below it never runs). A local user's `passwd` (root
# changing it) still goes to pam_unix, and Auth0 is not asked. The stack is the line
# pam_auth0(8) shows; `passwd` always uses the service "passwd", so the test's service is bound
# over /etc/pam.d/passwd in a private mount namespace (e2e_spawn -P), never installed there.
# Needs: A0_BUILD (a non-sanitized build tree), A0_FAKE_STATE and A0_FAKE_CA.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
e2e_init

module=${A0_BUILD:?}/pam/.libs/pam_auth0.so
[[ -f $module ]] || e2e_die "no $module"
port=$(e2e_fake_port)
fake() { curl -fsS --cacert "$A0_FAKE_CA" --noproxy '*' -H 'Content-Type: application/json' \
	"https://localhost:$port/__control/$1" "${@:2}"; }
outbox() { fake outbox | /usr/bin/python3 -c "$1"; }

svc=pam_auth0_e2e_pw_$$
local_user=a0pwlocal$$
# The users sign in with their email address: the username template is where the module
# finds the address to mail (pam_auth0.conf(5)), never typed by the user.
e2e_module_conf "$A0_FAKE_CA" 'timeout = 5' 'username = %u@example.com'
e2e_pam_service "$svc" <<EOF
password [success=done ignore=ignore default=die] $module config=$E2E_CONF
password required pam_unix.so obscure yescrypt
EOF
e2e_add_user a0alice
e2e_add_user "$local_user"
fake reset -X POST --data '{}' >/dev/null

# --- an Auth0 user runs passwd: a mail, no prompt, the shadow entry as it was ---
shadow_before=$(getent shadow a0alice)
if e2e_spawn -u a0alice -P "passwd=$svc" -- passwd <<'EXP'
await "was sent to"
EXP
then
	e2e_assert_eq "passwd of an Auth0 user succeeds" 0 "$E2E_RC"
	e2e_assert_contains "passwd says where the mail went, masked" "$E2E_TRANSCRIPT" \
		"was sent to a***@example.com"
	e2e_assert_not_contains "passwd never shows the whole address" "$E2E_TRANSCRIPT" \
		"a0alice@example.com"
	e2e_assert_not_contains "passwd asks for no password" "$E2E_TRANSCRIPT" "password:"
else
	e2e_fail "passwd of an Auth0 user succeeds" "$E2E_ERR"
fi
e2e_assert_eq "the Auth0 user's shadow entry is untouched" "$shadow_before" "$(getent shadow a0alice)"
e2e_assert_eq "the tenant mailed the user's address" "a0alice@example.com change_password" \
	"$(outbox 'import json,sys; print(*[m["to"] + " " + m["template"] for m in json.load(sys.stdin)], sep="\n")')"

# --- a local user (root changes it): pam_unix, and Auth0 is not asked ---
e2e_secret newpw 'Local-Pass-Word-7'
shadow_before=$(getent shadow "$local_user" | cut -d: -f2)
if e2e_spawn -P "passwd=$svc" -- passwd "$local_user" <<'EXP'
answer "New password: " newpw
answer "Retype new password: " newpw
await "updated successfully"
EXP
then
	e2e_assert_eq "passwd of a local user succeeds" 0 "$E2E_RC"
else
	e2e_fail "passwd of a local user succeeds" "$E2E_ERR"
fi
e2e_check "the local user's shadow entry changed" \
	test "$shadow_before" != "$(getent shadow "$local_user" | cut -d: -f2)"
e2e_assert_eq "no mail for a local user" 1 \
	"$(outbox 'import json,sys; print(len(json.load(sys.stdin)))')"

e2e_summary
