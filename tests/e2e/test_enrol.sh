#!/bin/bash
# Enrolment at login (issue 17) through the real sshd: a0noenroll has no authenticator and the
# tenant asks for MFA; with mfa_enroll = otp the module enrols an authenticator app there and then
# (keyboard-interactive): the QR code and the secret key are shown, the dialogue computes the
# first code from the key it read (as the person's app would), the recovery code is shown once
# behind "Press Enter"; the next login is a normal OTP login with that app, with no enrolment.
# Needs: A0_BUILD (a non-sanitized build tree), A0_FAKE_STATE and A0_FAKE_CA.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
e2e_init

module=${A0_BUILD:?}/pam/.libs/pam_auth0.so
[[ -f $module ]] || e2e_die "no module at $module"
port=$(e2e_fake_port)
count() { curl -fsS --cacert "$A0_FAKE_CA" --noproxy '*' "https://localhost:$port/__control/log" |
	/usr/bin/python3 -c "import json, sys; print(sum(1 for r in json.load(sys.stdin) if r['path'] == '$1'))"; }

install -m 0644 -- "$A0_FAKE_CA" "$E2E_WORK/ca.pem"
e2e_module_conf "$E2E_WORK/ca.pem" 'timeout = 5' 'mfa_enroll = otp'
svc=pam_auth0_e2e_en_$$
e2e_module_service "$svc"
e2e_add_user a0noenroll
e2e_secret pw 'Secret-a0noenroll-1'
e2e_start_sshd "$svc" "KbdInteractiveAuthentication yes"

# The first login enrols. The key shown ("Secret key: ABCD EFGH ...", read to the end of its
# line: a match on what has arrived so far could stop inside the key) is kept in a file of the
# work directory for the second login, as the app keeps it, and removed after.
key_file=$E2E_WORK/enrolled-key
if e2e_ssh -m keyboard-interactive a0noenroll 'id -un' <<EXP
answer "Password: " pw
await -re {Secret key: [A-Z2-7 ]+\r?\n}
set key [string trim [string map {{Secret key: } {} { } {}} \$e2e_match]]
set f [open $key_file w]; puts \$f \$key; close \$f
await "One-time code from the app: "
send_line [exec $here/totp \$key]
await "Your recovery code is: "
reply "Press Enter to continue: " ""
EXP
then
	e2e_assert_eq "ssh login enrols an authenticator app" a0noenroll "$E2E_OUT"
	e2e_assert_contains "the QR code is drawn" "$E2E_TRANSCRIPT" "Scan this QR code with your authenticator app:"
	e2e_assert_contains "the setup address is shown" "$E2E_TRANSCRIPT" "otpauth://totp/"
else
	e2e_fail "ssh login enrols an authenticator app" "$E2E_ERR"
fi
e2e_assert_eq "one enrolment at the tenant" 1 "$(count /mfa/associate)"

# The second login is a normal one with the app's code.
if [[ -s $key_file ]] && e2e_ssh -m keyboard-interactive a0noenroll 'id -un' <<EXP
answer "Password: " pw
await "One-time code"
send_line [exec $here/totp [string trim [read [open $key_file]]]]
EXP
then
	e2e_assert_eq "then a normal OTP login" a0noenroll "$E2E_OUT"
	e2e_assert_not_contains "no enrolment the second time" "$E2E_TRANSCRIPT" "Secret key"
else
	e2e_fail "then a normal OTP login" "${E2E_ERR:-no key was read at enrolment}"
fi
e2e_assert_eq "still one enrolment at the tenant" 1 "$(count /mfa/associate)"
# The key is a secret the app keeps: not in the work directory the run leaves behind.
rm -f -- "$key_file"
e2e_summary
