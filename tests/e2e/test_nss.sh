#!/bin/bash
# Users who exist only in Auth0 (issue 13), through the real glibc and the real programs:
# auth0-sync fills the identity cache from the fake tenant's Management API, libnss_auth0 is in
# /etc/nsswitch.conf, and then getent, id and initgroups see Auth0's users and roles; such a
# user logs in over the real sshd with password + one-time code and gets a home directory from
# pam_mkhomedir; a role mapped to a local group can sudo; a user blocked in Auth0 after a sync
# is refused by the account phase even with an ssh key; a snapshot signed by another key is
# refused and changes nothing. Everything on the host is restored afterwards (lib.sh).
# Needs: A0_BUILD (a non-sanitized build tree), A0_FAKE_STATE and A0_FAKE_CA.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
e2e_init

module=${A0_BUILD:?}/pam/.libs/pam_auth0.so
nss=$A0_BUILD/nss/.libs/libnss_auth0.so.2
sync=$A0_BUILD/sync/auth0-sync
for f in "$module" "$nss" "$sync"; do [[ -f $f ]] || e2e_die "no $f"; done
port=$(e2e_fake_port)
fake() { # METHOD PATH [JSON]: the fake's control API
	curl -sS --fail-with-body --cacert "$A0_FAKE_CA" --noproxy '*' -X "$1" -H 'Content-Type: application/json' \
		${3:+--data "$3"} "https://localhost:$port/__control/$2"
}
totp() { "$here/totp" "$1"; }
OTP_SECRET=JBSWY3DPEHPK3PXP

# --- Auth0's side: users who have no account here, and roles ---
# linux-admins is one of the fake's own roles (tests/fake-tenant/tenant.json).
fake POST role '{"name":"linux-staff"}' >/dev/null
NINA=7e0000000000000000000001 KIM=7e0000000000000000000002
fake POST create-user '{"user_id":"'$NINA'","email":"nina@example.com","username":"a0nina",
	"password":"Secret-a0nina-1","email_verified":true,"otp_secret":"'$OTP_SECRET'",
	"app_metadata":{"posix":{"username":"a0nina"}},"roles":["linux-admins","linux-staff"]}' >/dev/null
fake POST create-user '{"user_id":"'$KIM'","email":"kim@example.com","username":"a0kim",
	"password":"Secret-a0kim-1","email_verified":true,
	"app_metadata":{"posix":{"username":"a0kim"}},"roles":["linux-staff"]}' >/dev/null

# --- this host: the cache directory, the NSS module, the sync's configuration ---
e2e_sync_dir
e2e_nss_install "$nss"
e2e_auth0_user a0nina
e2e_auth0_user a0kim
secret_file=$E2E_WORK/client_secret # a name tests/secrets/sweep knows as an input
install -m 0600 /dev/null "$secret_file"
/usr/bin/python3 -c 'import json,sys
print(next(c["client_secret"] for c in json.load(open(sys.argv[1]))["clients"] if c["client_id"] == "sync-client"))' \
	"$here/../fake-tenant/tenant.json" >"$secret_file"
e2e_module_conf "$A0_FAKE_CA" 'timeout = 5' "sync_dir = $E2E_SYNC_DIR" \
	'sync_client_id = sync-client' "sync_client_secret_file = $secret_file" \
	'sync_connections = Username-Password-Authentication' 'group_map = linux-admins:sudo'
conf=$E2E_CONF

if "$sync" --config "$conf" --full >"$E2E_WORK/sync.out" 2>&1; then
	e2e_pass "auth0-sync --full"
else
	e2e_fail "auth0-sync --full" "$(cat "$E2E_WORK/sync.out")"
fi

# --- the real glibc ---
# What the README's example shows, as this run saw it.
printf '  | %s\n' "# auth0-sync --full" "$(cat "$E2E_WORK/sync.out")" "# getent passwd a0nina" \
	"$(getent passwd a0nina)" "# id a0nina" "$(id a0nina)"
entry=$(getent passwd a0nina || true)
IFS=: read -r name _ uid gid _ home shell <<<"$entry"
e2e_assert_eq "getent passwd: an Auth0-only user" a0nina "${name:-}"
e2e_check "getent passwd: uid in the derived range" test "${uid:-0}" -ge 200000 -a "${uid:-0}" -le 999999999
e2e_assert_eq "getent passwd: home from home_template" /home/a0nina "${home:-}"
e2e_assert_eq "getent passwd: by uid" a0nina "$(getent passwd "${uid:-1}" | cut -d: -f1)"
e2e_assert_eq "getent group: the user's own group" "a0nina:x:$gid:" "$(getent group a0nina)"
staff=$(getent group linux-staff || true)
e2e_assert_contains "getent group: a role is a group with its members" "$staff" a0nina
e2e_assert_contains "getent group: a role is a group, every member" "$staff" a0kim
e2e_check "getent passwd enumerates Auth0 users" bash -c "getent passwd | grep -q '^a0kim:'"
groups=$(id -Gn a0nina)
e2e_assert_contains "id/initgroups: role group" "$groups" linux-admins
e2e_assert_contains "id/initgroups: mapped local group" "$groups" sudo
e2e_assert_not_contains "id/initgroups: unmapped user has no sudo" "$(id -Gn a0kim)" sudo
e2e_assert_eq "getent group sudo: still the local entry" \
	"$(getent -s files group sudo)" "$(getent group sudo)"

# --- sshd: password + one-time code, home directory from pam_mkhomedir ---
svc=pam_auth0_e2e_nss_$$
e2e_pam_service "$svc" <<EOF
auth     required  $module config=$conf
account  required  $module config=$conf
session  required  pam_mkhomedir.so skel=/etc/skel umask=0077
session  required  pam_keyinit.so force revoke
session  required  $module config=$conf
session  required  pam_unix.so
EOF
mkdir -m 0755 "$E2E_WORK/keys"
ssh-keygen -q -t ed25519 -N '' -f "$E2E_WORK/kim_key"
install -m 0644 "$E2E_WORK/kim_key.pub" "$E2E_WORK/keys/a0kim"
# StrictModes no: the keys live under /tmp, which is world-writable (the file itself is root's).
e2e_start_sshd "$svc" "PubkeyAuthentication yes" "AuthorizedKeysFile $E2E_WORK/keys/%u" \
	"StrictModes no"

e2e_secret nina_pw 'Secret-a0nina-1'
e2e_secret otp "$(totp $OTP_SECRET)"
if e2e_ssh -m keyboard-interactive a0nina 'id -un; pwd; stat -c %U:%a .' <<'EXP'; then
answer "Password: " nina_pw
answer "One-time code: " otp
EXP
	e2e_assert_eq "ssh: an Auth0-only user logs in with password + OTP" \
		"a0nina
/home/a0nina
a0nina:700" "$E2E_OUT"
else
	e2e_fail "ssh: an Auth0-only user logs in with password + OTP" "$E2E_ERR"
fi

# --- sudo through a mapped role (group_map = linux-admins:sudo) ---
e2e_sudoers_dropin "pam_auth0_e2e_nss_$$" "%sudo ALL=(root) NOPASSWD: /usr/bin/id -un"
e2e_assert_eq "sudo: a role-mapped user" root "$(e2e_run_as a0nina sudo -n /usr/bin/id -un 2>&1)"
if e2e_run_as a0kim sudo -n /usr/bin/id -un >/dev/null 2>&1; then
	e2e_fail "sudo: a user without the role is refused"
else
	e2e_pass "sudo: a user without the role is refused"
fi

# --- an ssh key does not bypass Auth0: blocked after the last sync ---
key_login() {
	e2e_ssh -m publickey -o "IdentityFile=$E2E_WORK/kim_key" -o PubkeyAuthentication=yes \
		-o IdentitiesOnly=yes a0kim 'id -un' </dev/null || true
}
key_login
e2e_assert_eq "ssh key: an active Auth0 user" a0kim "$E2E_OUT"
fake POST user '{"user_id":"auth0|'$KIM'","blocked":true}' >/dev/null
key_login
e2e_assert_eq "ssh key: blocked in Auth0 but not yet synced still works" a0kim "$E2E_OUT"
"$sync" --config "$conf" >"$E2E_WORK/sync2.out" 2>&1 || e2e_fail "auth0-sync (incremental)" "$(cat "$E2E_WORK/sync2.out")"
key_login
e2e_assert_eq "ssh key: refused by the account phase after the sync" 255 "$E2E_RC"
e2e_check "the refusal came from the account phase (pam_acct_mgmt)" \
	grep -qE "pam_acct_mgmt = [1-9]" "$E2E_SSHD_LOG"

# --- fleets: a snapshot signed by another key is refused and changes nothing ---
openssl genpkey -algorithm ed25519 -out "$E2E_WORK/fleet.key" 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$E2E_WORK/other.key" 2>/dev/null
openssl pkey -in "$E2E_WORK/fleet.key" -pubout -out "$E2E_WORK/fleet.pub" 2>/dev/null
chmod 0600 "$E2E_WORK/fleet.key" "$E2E_WORK/other.key"
printf '%s\n' "snapshot_public_key = $E2E_WORK/fleet.pub" >>"$conf"
"$sync" --config "$conf" --export "$E2E_WORK/good.snap" --signing-key "$E2E_WORK/fleet.key" >/dev/null 2>&1 ||
	e2e_fail "auth0-sync --export"
"$sync" --config "$conf" --export "$E2E_WORK/bad.snap" --signing-key "$E2E_WORK/other.key" >/dev/null 2>&1 ||
	e2e_fail "auth0-sync --export (other key)"
cp -p "$E2E_SYNC_DIR/nss.cache" "$E2E_WORK/cache.before"
rc=0
"$sync" --config "$conf" --import "$E2E_WORK/bad.snap" >"$E2E_WORK/import.out" 2>&1 || rc=$?
e2e_assert_eq "snapshot signed by another key: refused (exit 7)" 7 "$rc"
e2e_check "refused snapshot: the cache is byte-identical" cmp -s "$E2E_WORK/cache.before" "$E2E_SYNC_DIR/nss.cache"
rc=0
"$sync" --config "$conf" --import "$E2E_WORK/good.snap" >"$E2E_WORK/import2.out" 2>&1 || rc=$?
e2e_assert_eq "snapshot signed by the fleet key: accepted" 0 "$rc"
e2e_assert_eq "after the import: users still resolve" a0nina "$(getent passwd a0nina | cut -d: -f1)"

e2e_summary
