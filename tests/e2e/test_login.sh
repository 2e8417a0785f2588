#!/bin/bash
# pam_auth0 through the real programs that load it: sshd (password and keyboard-interactive)
# with the real ssh client, sudo, su and login, against the fake tenant.
# Needs: A0_BUILD (a non-sanitized build tree), A0_FAKE_STATE and A0_FAKE_CA (tests/with-fake-tenant).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
e2e_init

module=${A0_BUILD:?}/pam/.libs/pam_auth0.so
[[ -f $module ]] || e2e_die "no module at $module"
port=$(e2e_fake_port)
totp() { "$here/totp" "$1"; }
OTP_SECRET=JBSWY3DPEHPK3PXP # a0otp's, from tests/fake-tenant/tenant.json

e2e_module_conf "$A0_FAKE_CA" 'timeout = 5' 'mfa_poll_interval = 1' 'mfa_timeout = 20'
conf=$E2E_CONF

# pam_auth0 in the session stack too, as pam_auth0(8) says: there it takes the hand-off each
# keyboard-interactive login leaves (without it the key stays in the user keyring for 120 s).
svc=pam_auth0_e2e_$$
e2e_pam_service "$svc" <<EOF
auth     required  $module config=$conf
account  required  pam_unix.so
session  required  pam_keyinit.so force revoke
session  required  $module config=$conf
session  required  pam_unix.so
EOF

# The fake tenant's users are also Linux users here (tests/fake-tenant/tenant.json).
for u in a0alice a0otp a0push a0recovery; do
	e2e_add_user "$u"
done
e2e_secret alice 'Secret-a0alice-1'
e2e_secret otp_pw 'Secret-a0otp-1'
e2e_secret push_pw 'Secret-a0push-1'
e2e_secret rec_pw 'Secret-a0recovery-1'
e2e_secret wrong 'not-the-password'
e2e_secret recovery 'ABCDEFGHJKLMNPQRSTUVWXYZ'
e2e_secret bad_otp '000000'

e2e_start_sshd "$svc" "PasswordAuthentication yes" "KbdInteractiveAuthentication yes"

# --- sshd, password authentication ---
if e2e_ssh -m password a0alice 'id -un' <<'EXP'
answer "password: " alice
EXP
then
	e2e_assert_eq "ssh password login" a0alice "$E2E_OUT"
else
	e2e_fail "ssh password login" "$E2E_ERR"
fi

e2e_ssh -m password a0alice 'id -un' <<'EXP' || true
answer "password: " wrong
await "Permission denied"
EXP
e2e_assert_eq "ssh wrong password refused" 255 "$E2E_RC"

# --- sshd, keyboard-interactive with MFA ---
e2e_secret otp "$(totp $OTP_SECRET)"
if e2e_ssh -m keyboard-interactive a0otp 'id -un' <<'EXP'
answer "Password: " otp_pw
answer "One-time code: " otp
EXP
then
	e2e_assert_eq "ssh password + OTP" a0otp "$E2E_OUT"
else
	e2e_fail "ssh password + OTP" "$E2E_ERR"
fi

sleep 1
e2e_secret otp "$(totp $OTP_SECRET)"
if [[ $(e2e_secret_print otp) == 000000 ]]; then e2e_secret bad_otp 111111; fi
if e2e_ssh -m keyboard-interactive a0otp 'id -un' <<'EXP'
answer "Password: " otp_pw
answer "One-time code: " bad_otp
answer "One-time code: " otp
EXP
then
	e2e_assert_eq "ssh wrong OTP then right OTP" a0otp "$E2E_OUT"
	e2e_assert_contains "ssh wrong OTP message shown" "$E2E_TRANSCRIPT" "That code is not right"
else
	e2e_fail "ssh wrong OTP then right OTP" "$E2E_ERR"
fi

if e2e_ssh -m keyboard-interactive a0push 'id -un' <<'EXP'
answer "Password: " push_pw
reply "Press Enter once you have approved" ""
EXP
then
	e2e_assert_eq "ssh password + push" a0push "$E2E_OUT"
	e2e_assert_contains "ssh push instruction shown" "$E2E_TRANSCRIPT" "Approve the sign-in request on your phone"
else
	e2e_fail "ssh password + push" "$E2E_ERR"
fi

if e2e_ssh -m keyboard-interactive a0recovery 'id -un' <<'EXP'
answer "Password: " rec_pw
answer "One-time code: " recovery
reply "Press Enter to continue" ""
EXP
then
	e2e_assert_eq "ssh password + recovery code" a0recovery "$E2E_OUT"
	e2e_assert_contains "ssh new recovery code visible" "$E2E_TRANSCRIPT" "Your new recovery code is: "
	e2e_assert_not_contains "ssh old recovery code not echoed back" \
		"$(grep 'new recovery code' <<<"$E2E_TRANSCRIPT")" "ABCDEFGHJKLMNPQRSTUVWXYZ"
else
	e2e_fail "ssh password + recovery code" "$E2E_ERR"
fi
e2e_check "no token or code in the sshd log" \
	bash -c "! grep -E 'ABCDEFGHJKLMNPQRSTUVWXYZ|Secret-a0|eyJ' '$E2E_SSHD_LOG'"

# --- sudo with MFA, with a hostile environment ---
# sudo runs PAM in a process whose environment the invoking user chose. Here: every proxy
# variable points at the fake's listener that has another CA's certificate, that CA is the CA
# bundle, libcurl's TLS key log is set, and LD_* name a canary library (also as libcurl.so.4).
# The module must still reach only the configured tenant through its configured CA: the fake's
# log and listener counts say where the requests went; the canary says what was loaded.
# No -p: sudo would show its own prompt for every PAM prompt, the one-time code's too.
e2e_sudoers_dropin "pam_auth0_e2e_$$" "Defaults:a0otp pam_service=$svc
a0otp ALL=(root) /usr/bin/id"
fake_json() { curl -fsS --cacert "$A0_FAKE_CA" --noproxy '*' "https://localhost:$port/__control/$1"; }
other_port=$(e2e_fake_port port_other_ca)
other_ca=$(dirname "$A0_FAKE_CA")/other-ca.pem
[[ -s $other_ca ]] || e2e_die "no other CA at $other_ca"
canary=$E2E_WORK/canary
mkdir -m 1777 "$canary"
cc -shared -fPIC -o "$canary/canary.so" -DMARK="\"$canary/loaded\"" -x c - <<'C'
#include <stdio.h>
#include <unistd.h>
__attribute__((constructor)) static void canary(void)
{
	FILE *f = fopen(MARK, "a");

	if (f) {
		fprintf(f, "pid %d euid %d\n", (int)getpid(), (int)geteuid());
		fclose(f);
	}
}
C
chmod 0755 "$canary/canary.so"
cp -p "$canary/canary.so" "$canary/libcurl.so.4"
# The canary works: a process that honours LD_PRELOAD loads it and leaves its mark.
setpriv --reuid=a0otp --regid=a0otp --clear-groups -- env LD_PRELOAD="$canary/canary.so" /bin/true
e2e_check "the LD_PRELOAD canary marks a process that loads it" test -s "$canary/loaded"
rm -f "$canary/loaded"
before_log=$(fake_json log | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
before_other=$(fake_json stats | /usr/bin/python3 -c 'import json,sys; l=json.load(sys.stdin)["listeners"].get("other_ca", {}); print(l.get("handshakes", 0) + l.get("handshake_failures", 0))')
sleep 1
e2e_secret otp "$(totp $OTP_SECRET)"
# libcurl would write TLS session keys to $SSLKEYLOGFILE, as root, where the user says.
keylog=/tmp/pam_auth0_e2e_keylog_$$
decoy=http://127.0.0.1:$other_port
if e2e_spawn -u a0otp -O -- env https_proxy=$decoy HTTPS_PROXY=$decoy http_proxy=$decoy \
	ALL_PROXY=$decoy all_proxy=$decoy NO_PROXY= no_proxy= \
	CURL_CA_BUNDLE=$other_ca SSL_CERT_FILE=$other_ca SSL_CERT_DIR=$canary SSLKEYLOGFILE=$keylog \
	LD_PRELOAD=$canary/canary.so LD_LIBRARY_PATH=$canary LD_AUDIT=$canary/canary.so \
	sudo -k /usr/bin/id -un <<'EXP'
answer "password for a0otp: " otp_pw
answer "One-time code: " otp
EXP
then
	e2e_assert_eq "sudo with password + OTP" root "$E2E_OUT"
	if [ -e "$keylog" ]; then
		rm -f "$keylog"
		e2e_fail "sudo: SSLKEYLOGFILE ignored" "TLS keys were written to $keylog"
	else
		e2e_pass "sudo: SSLKEYLOGFILE ignored"
	fi
else
	e2e_fail "sudo with password + OTP" "$E2E_ERR"
fi
# What reached the fake in the meantime: the login's requests, on the main listener only.
where=$(fake_json log | /usr/bin/python3 -c '
import json, sys
log = json.load(sys.stdin)[int(sys.argv[1]):]
grants = [r["grant_type"].rsplit("/", 1)[-1] for r in log if r["username"] == "a0otp" and r["grant_type"]]
families = {r["rt_family"] for r in log if r["grant_type"] and r["rt_family"]}
revoked = [r["status"] for r in log if r["path"] == "/oauth/revoke" and r["rt_family"] in families]
listeners = sorted({r["listener"] for r in log})
print(" ".join(grants), "| revoked", *revoked, "|", " ".join(listeners))' "$before_log")
after_other=$(fake_json stats | /usr/bin/python3 -c 'import json,sys; l=json.load(sys.stdin)["listeners"].get("other_ca", {}); print(l.get("handshakes", 0) + l.get("handshake_failures", 0))')
# sudo's session is root's: the sign-in's refresh token, which nothing keeps, is revoked.
e2e_assert_eq "sudo: the login went to the configured tenant (grants | revocations | listeners)" \
	"password-realm mfa-otp | revoked 200 | main" "$where"
e2e_assert_eq "sudo: nothing reached the proxy/CA decoy listener" "$before_other" "$after_other"
if [[ -e $canary/loaded ]]; then
	e2e_fail "sudo: LD_* from the user loaded nothing" "$(cat "$canary/loaded")"
else
	e2e_pass "sudo: LD_* from the user loaded nothing"
fi
# sudo's session is root's (PAM_USER changes after authentication) and sudo ends PAM with
# PAM_DATA_SILENT: the hand-off of a0otp's authentication must still be gone, not left to its
# two-minute timeout in a0otp's user keyring.
e2e_check "sudo: no hand-off left in the caller's user keyring" bash -c \
	"! setpriv --reuid=a0otp --regid=a0otp --clear-groups -- keyctl show @u | grep -q pam_auth0_handoff"
# A wrong password: refused, and sudo asks again (then Ctrl-C at that prompt ends it).
if e2e_spawn -u a0otp -O -- sudo -k /usr/bin/id -un <<'EXP'
answer "password for a0otp: " wrong
await "Sorry, try again."
await "password for a0otp: "
send "\003"
EXP
then
	e2e_assert_not_contains "sudo wrong password refused" "$E2E_OUT" root
	e2e_assert_eq "sudo wrong password: sudo did not run the command" 1 "$E2E_RC"
else
	e2e_fail "sudo wrong password refused" "$E2E_ERR"
fi

# --- su and login (console) with MFA ---
sleep 1
e2e_secret otp "$(totp $OTP_SECRET)"
if e2e_spawn -u a0alice -O -P "su=$svc" -- su -c 'id -un' a0otp <<'EXP'
answer "Password: " otp_pw
answer "One-time code: " otp
EXP
then
	e2e_assert_eq "su with password + OTP" a0otp "$E2E_OUT"
else
	e2e_fail "su with password + OTP" "$E2E_ERR"
fi

sleep 1
e2e_secret otp "$(totp $OTP_SECRET)"
if e2e_spawn -P "login=$svc" -- login a0otp <<'EXP'
answer "Password: " otp_pw
answer "One-time code: " otp
await -re {\$ $}
send_line "echo LOGGED-IN-AS-\$(id -un); exit"
await "LOGGED-IN-AS-a0otp"
EXP
then
	e2e_pass "login with password + OTP"
else
	e2e_fail "login with password + OTP" "$E2E_ERR"
fi

e2e_check "the fake saw the MFA logins" bash -c "[ \$(curl -fsS --cacert '$A0_FAKE_CA' --noproxy '*' https://localhost:$port/__control/log | grep -o 'mfa-otp' | wc -l) -ge 5 ]"

e2e_summary
