#!/bin/bash
# When Auth0 cannot be reached (issue 14), through the real sshd, ssh and sudo: an administrator
# who signed in once online (password + one-time code) signs in over ssh while the tenant is
# down, with offline = password, and sudo works in that session; the offline session holds no
# Auth0 credentials; the verifier is root's alone; with offline = deny both are refused at once
# with a plain message. Everything on the host is restored afterwards (lib.sh).
# Needs: A0_BUILD (a non-sanitized build tree), A0_FAKE_STATE and A0_FAKE_CA.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
e2e_init

module=${A0_BUILD:?}/pam/.libs/pam_auth0.so
helper=$A0_BUILD/credentials/auth0-credentials
admin=$A0_BUILD/admin/auth0-pam
for f in "$module" "$helper" "$admin"; do [[ -f $f ]] || e2e_die "no $f"; done
port=$(e2e_fake_port)
fake() { # METHOD PATH [JSON]: the fake's control API
	curl -sS --fail-with-body --cacert "$A0_FAKE_CA" --noproxy '*' -X "$1" -H 'Content-Type: application/json' \
		${3:+--data "$3"} "https://localhost:$port/__control/$2" >/dev/null
}
totp() { "$here/totp" "$1"; }
OTP_SECRET=JBSWY3DPEHPK3PXP # a0otp's, from tests/fake-tenant/tenant.json

ssh_svc=pam_auth0_e2e_off_$$
sudo_svc=pam_auth0_e2e_offsudo_$$
offline_dir=$E2E_WORK/offline
# The policy per service in the configuration; Argon2id at its default cost.
e2e_module_conf "$A0_FAKE_CA" 'timeout = 3' "offline_dir = $offline_dir" \
	"host_key_file = $E2E_WORK/keys/host.key" "offline = $ssh_svc:password, $sudo_svc:password, deny" \
	'offline_backoff_min = 600' 'offline_backoff_max = 600'
conf=$E2E_CONF
e2e_pam_service "$ssh_svc" <<EOF
auth     required  $module config=$conf
account  required  $module config=$conf
account  required  pam_unix.so
session  required  pam_keyinit.so force revoke
session  required  pam_unix.so
session  optional  $module config=$conf
EOF
e2e_pam_service "$sudo_svc" <<EOF
auth     required  $module config=$conf
account  required  $module config=$conf
account  required  pam_unix.so
session  required  pam_unix.so
EOF
e2e_add_user a0otp
e2e_secret otp_pw 'Secret-a0otp-1'
e2e_secret wrong 'not-the-password'
e2e_sudoers_dropin "pam_auth0_e2e_off_$$" "Defaults:a0otp pam_service=$sudo_svc
a0otp ALL=(root) /usr/bin/id"
e2e_start_sshd "$ssh_svc" "PasswordAuthentication yes" "KbdInteractiveAuthentication yes"

# --- online: password + one-time code; the verifier is kept, root's alone ---
e2e_secret otp "$(totp $OTP_SECRET)"
if e2e_ssh -m keyboard-interactive a0otp 'id -un' <<'EXP'
answer "Password: " otp_pw
answer "One-time code: " otp
EXP
then
	e2e_assert_eq "online ssh login (password + OTP)" a0otp "$E2E_OUT"
else
	e2e_fail "online ssh login (password + OTP)" "$E2E_ERR"
fi
verifier=$(find "$offline_dir" -maxdepth 1 -regextype egrep -regex '.*/[0-9a-f]{64}' | head -1)
e2e_check "a verifier was kept" test -n "$verifier"
e2e_assert_eq "verifier: root's, 0600; directory 0700" "root 600 root 700" \
	"$(stat -c '%U %a' "$verifier") $(stat -c '%U %a' "$offline_dir")"
e2e_check "verifier: the user cannot read it" \
	bash -c "! setpriv --reuid=a0otp --regid=a0otp --clear-groups -- cat '$verifier' 2>/dev/null"
e2e_check "verifier: holds no password" bash -c "! grep -q 'Secret-a0otp' '$verifier'"

# --- the tenant goes down ---
# Black-holed: the first login waits for the timeout and marks the host offline; the others
# take the fast path (offline_backoff_min outlasts this script).
fake POST fault '{"path":"/oauth/*","kind":"silence","seconds":10,"count":-1}'
fake POST fault '{"path":"/.well-known/*","kind":"silence","seconds":10,"count":-1}'

# ssh with offline = password: the password alone, told plainly; then sudo in that session.
if e2e_ssh -m keyboard-interactive -t a0otp \
	'echo OFFLINE-AS-$(id -un); sudo -k -p SUDO-PW: /usr/bin/id -un; echo SUDO-RC=$?' <<'EXP'
answer "Password: " otp_pw
answer "SUDO-PW:" otp_pw
await "SUDO-RC="
EXP
then
	e2e_assert_contains "offline ssh login with offline = password" "$E2E_TRANSCRIPT" "OFFLINE-AS-a0otp"
	e2e_assert_contains "offline login: the user is told" "$E2E_TRANSCRIPT" \
		"Your second factor was not checked"
	e2e_assert_contains "sudo in the offline session" "$E2E_TRANSCRIPT" "SUDO-RC=0"
	e2e_assert_contains "sudo in the offline session: root" "$(grep -v SUDO-RC <<<"$E2E_TRANSCRIPT")" root
else
	e2e_fail "offline ssh login with offline = password" "$E2E_ERR"
fi

# The offline session holds no Auth0 credentials: the credentials manager says so.
if e2e_ssh -m keyboard-interactive a0otp "$helper get; echo RC=\$?" <<'EXP'
answer "Password: " otp_pw
EXP
then
	e2e_assert_contains "offline session: auth0-credentials has nothing" "$E2E_OUT$E2E_TRANSCRIPT" \
		"NO_CREDENTIALS"
else
	e2e_fail "offline session: auth0-credentials has nothing" "$E2E_ERR"
fi

# A wrong password offline is refused.
e2e_ssh -m keyboard-interactive a0otp 'id -un' <<'EXP' || true
answer "Password: " wrong
await "Permission denied"
EXP
e2e_assert_eq "offline ssh login: wrong password refused" 255 "$E2E_RC"

# --- offline = deny: refused at once, with a plain message ---
sed -i 's/^offline = .*/offline = deny/' "$conf"
start=$(date +%s%N)
e2e_ssh -m keyboard-interactive a0otp 'id -un' <<'EXP' || true
answer "Password: " otp_pw
await "Permission denied"
EXP
took=$((($(date +%s%N) - start) / 1000000))
e2e_assert_eq "offline = deny: ssh refused" 255 "$E2E_RC"
e2e_assert_contains "offline = deny: ssh says why" "$E2E_TRANSCRIPT" "The sign-in service cannot be reached."
e2e_check "offline = deny: ssh refused without a network wait (${took} ms)" test "$took" -lt 3000
if e2e_spawn -u a0otp -O -- sudo -k /usr/bin/id -un <<'EXP'
answer "password for a0otp: " otp_pw
await "The sign-in service cannot be reached."
# sudo asks again ("Sorry, try again."): ^C at that prompt ends it. Sent earlier, while sudo is
# still in PAM, it can be lost, and sudo waits at the next prompt.
await "password for a0otp: "
send "\003"
EXP
then
	e2e_assert_not_contains "offline = deny: sudo refused" "$E2E_OUT" root
else
	e2e_fail "offline = deny: sudo refused" "$E2E_ERR"
fi

# The administrator forgets the user's verifier: no offline login even when allowed again.
sed -i "s/^offline = .*/offline = $ssh_svc:password, deny/" "$conf"
e2e_check "auth0-pam offline forget" "$admin" --config "$conf" offline forget a0otp
e2e_ssh -m keyboard-interactive a0otp 'id -un' <<'EXP' || true
answer "Password: " otp_pw
await "Permission denied"
EXP
e2e_assert_eq "after forget: no offline login" 255 "$E2E_RC"

fake DELETE fault
e2e_summary
