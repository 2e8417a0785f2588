#!/bin/bash
# The device authorization flow (issue 17) through the real sshd and ssh's keyboard-interactive
# method: login_methods = device, no password asked; the module shows the host, the address, the
# user code, the QR code and the warning with the "Press Enter after approving" prompt (OpenSSH
# bug 2876: messages reach the client only with a prompt); the person approves at the fake's
# control API, as at a browser, then presses Enter and the session opens as the bound user. A
# denial refuses the login; another user's approval is refused by the identity binding.
# Needs: A0_BUILD (a non-sanitized build tree), A0_FAKE_STATE and A0_FAKE_CA.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
e2e_init

module=${A0_BUILD:?}/pam/.libs/pam_auth0.so
[[ -f $module ]] || e2e_die "no $module"
port=$(e2e_fake_port)
fake() { curl -fsS --cacert "$A0_FAKE_CA" --noproxy '*' "https://localhost:$port/__control/$1" "${@:2}"; }
device_stat() { fake stats | /usr/bin/python3 -c "import json, sys; print(json.load(sys.stdin)['device']['$1'])"; }

install -m 0644 -- "$A0_FAKE_CA" "$E2E_WORK/ca.pem"
e2e_module_conf "$E2E_WORK/ca.pem" 'timeout = 5' 'client_id = pam-device' 'login_methods = device' \
	'device_timeout = 60'
svc=pam_auth0_e2e_dev_$$
e2e_module_service "$svc"
e2e_add_user a0alice
e2e_start_sshd "$svc" "KbdInteractiveAuthentication yes"
fake device -H 'Content-Type: application/json' -d '{"interval": 1}' >/dev/null

# In the dialogue, the person at the browser: the fake's control API (curl, from expect).
person() {
	printf 'exec curl -fsS --cacert {%s} --noproxy * -X POST -H {Content-Type: application/json} -d {%s} {https://localhost:%s/__control/%s}\n' \
		"$A0_FAKE_CA" "$2" "$port" "$1"
}

if e2e_ssh -m keyboard-interactive a0alice 'id -un' <<EXP
await "enter the code: "
await "Press Enter after approving"
$(person device-approve '{"username": "a0alice"}')
send_line ""
EXP
then
	e2e_assert_eq "ssh device flow approved" a0alice "$E2E_OUT"
	e2e_assert_contains "the host is named" "$E2E_TRANSCRIPT" "To sign in to $(hostname)"
	e2e_assert_contains "the warning is shown" "$E2E_TRANSCRIPT" "Continue only if you started this sign-in"
	e2e_assert_contains "the QR code is drawn" "$E2E_TRANSCRIPT" "█"
	e2e_assert_not_contains "no password asked" "$E2E_TRANSCRIPT" "Password:"
else
	e2e_fail "ssh device flow approved" "$E2E_ERR"
fi
e2e_assert_eq "one approval taken" 1 "$(device_stat approved)"

e2e_ssh -m keyboard-interactive a0alice 'id -un' <<EXP || true
await "Press Enter after approving"
$(person device-deny '{}')
send_line ""
finish
EXP
e2e_assert_eq "ssh device flow denied: refused" 255 "$E2E_RC"
e2e_assert_eq "the denial reached the tenant's client" 1 "$(device_stat denied)"

e2e_ssh -m keyboard-interactive a0alice 'id -un' <<EXP || true
await "Press Enter after approving"
$(person device-approve '{"username": "a0bob"}')
send_line ""
finish
EXP
e2e_assert_eq "another user's approval: refused" 255 "$E2E_RC"
e2e_assert_eq "another user's approval reached the tenant's client" 2 "$(device_stat approved)"
e2e_summary
