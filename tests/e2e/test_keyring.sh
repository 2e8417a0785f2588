#!/bin/bash
# pam_auth0's credentials in the kernel keyring (#4) and auth0-credentials (#5), end to end:
# real sshd logins (password, and keyboard-interactive with a one-time code) against the fake
# tenant, then, inside the sessions, keyctl(1) and the helper; what happens at logout; two
# sessions of one user at once; other users (their own session, no session, sudo) reaching for
# the first user's tokens.
# Needs: A0_BUILD (a non-sanitized build tree), A0_FAKE_STATE and A0_FAKE_CA (tests/with-fake-tenant).
#
# The helper is run through libtool's wrapper script, $A0_BUILD/credentials/auth0-credentials: it has
# no relink step on Linux (relink_command=""), it only sets LD_LIBRARY_PATH to credentials/.libs and
# execs .libs/auth0-credentials, so it works for any user who can traverse the build tree, also
# under sudo's reset environment. Checked below before anything else.
#
# Nothing here prints a token: tests/e2e/keyring-probe, which runs inside the sessions, shows
# tokens as the first 12 hex digits of their SHA-256 (the fake's rt_sha) and JWTs by their claims.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
e2e_init

module=${A0_BUILD:?}/pam/.libs/pam_auth0.so
helper=$A0_BUILD/credentials/auth0-credentials
probe=$here/keyring-probe
[[ -f $module ]] || e2e_die "no module at $module"
[[ -x $helper ]] || e2e_die "no helper at $helper"
port=$(e2e_fake_port)
totp() { "$here/totp" "$1"; }
OTP_SECRET=JBSWY3DPEHPK3PXP # a0otp's, from tests/fake-tenant/tenant.json
api=https://api.example.com/ # in pam-native's refresh_audiences
P="$probe $helper"           # the remote commands' probe

# The fake tenant: its control API, and its request log (records r, filtered by a Python
# expression over r).
fake() { curl -fsS --cacert "$A0_FAKE_CA" --noproxy '*' "https://localhost:$port/__control/$1"; }
# log_get EXPR FIELD [N]: FIELD of the Nth (default: last; 1 = first) record matching EXPR
log_get() {
	fake log | /usr/bin/python3 -c 'import json, sys
m = [r for r in json.load(sys.stdin) if eval(sys.argv[1])]
n = int(sys.argv[3])
v = (m[n - 1] if n > 0 else m[-1])[sys.argv[2]] if len(m) >= abs(n) and m else ""
print("" if v is None else v)' "$1" "$2" "${3:-0}"
}
log_count() { fake log | /usr/bin/python3 -c 'import json, sys
print(sum(1 for r in json.load(sys.stdin) if eval(sys.argv[1])))' "$1"; }
log_seq() { fake log | /usr/bin/python3 -c 'import json, sys; l = json.load(sys.stdin); print(l[-1]["seq"] if l else 0)'; }
stat_of() { fake stats | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
# revoked FAMILY: the fake has seen a revocation of a refresh token of FAMILY
revoked() { [[ -n $(log_get "r['path'] == '/oauth/revoke' and r['rt_family'] == '$1'" rt_sha) ]]; }
PW_GRANT='http://auth0.com/oauth/grant-type/password-realm'
OTP_GRANT='http://auth0.com/oauth/grant-type/mfa-otp'

# v NAME TEXT: the value of the probe's "NAME=value" line in TEXT
v() { awk -v k="$1=" 'index($0, k) == 1 { print substr($0, length(k) + 1); exit }' <<<"$2"; }

# denied RC MESSAGE: a keyctl call that failed with EACCES
denied() { [[ $1 != 0 && $2 == *"Permission denied" ]]; }
# other_keyring SERIAL OTHER: SERIAL is a keyring serial, and not OTHER
other_keyring() { [[ $1 =~ ^[0-9]+$ && $1 != "$2" ]]; }

# wait_for SECONDS CMD...: retry CMD every 0.2 s until it succeeds (sshd closes the session, and
# pam_auth0 revokes, after the client has gone).
wait_for() {
	local t=$1 i
	shift
	for ((i = 0; i < t * 5; i++)); do
		"$@" && return 0
		sleep 0.2
	done
	return 1
}

# The record keeps ca_file for the helper, which runs as the user and reads it then; the test CA's
# directory (tests/with-fake-tenant, gen-certs) is 0700 root, so give the users a readable copy.
install -m 0644 -- "$A0_FAKE_CA" "$E2E_WORK/ca.pem"
e2e_module_conf "$E2E_WORK/ca.pem" 'timeout = 5' 'mfa_poll_interval = 1' 'mfa_timeout = 20'
conf=$E2E_CONF

svc=pam_auth0_e2e_kr_$$
e2e_module_service "$svc"

# The helper's lock files go to XDG_RUNTIME_DIR or /run/user/UID, never to a name in /tmp
# that another user could create first. There is no pam_systemd here: this run makes
# /run/user/UID (0700, the user's) for each test user as pam_systemd would, and removes it
# (userdel does not). Registered before the users exist so that it runs after they and their
# processes are gone (the cleanup is last-in, first-out); only a directory that did not exist
# before the user was made, and that still belongs to that uid, is removed.
rundirs=$E2E_WORK/rundir-uids
: >"$rundirs"
# shellcheck disable=SC2016 # expanded by the inner bash, at cleanup time
_e2e_defer bash -c 'while read -r u; do d=/run/user/$u
	if [ -d "$d" ] && [ ! -L "$d" ] && [ "$(stat -c %u "$d")" = "$u" ]; then rm -rf --one-file-system -- "$d"; fi
	done <"$1"' e2e-rundirs "$rundirs"
for u in a0alice a0bob a0otp; do
	e2e_add_user "$u"
	uid=$(id -u "$u")
	if [[ ! -e /run/user/$uid ]]; then
		install -d -m 0700 -o "$uid" -g "$(id -g "$u")" "/run/user/$uid"
		echo "$uid" >>"$rundirs"
	fi
done
alice_uid=$(id -u a0alice) otp_uid=$(id -u a0otp)
e2e_secret alice 'Secret-a0alice-1'
e2e_secret bob 'Secret-a0bob-1'
e2e_secret otp_pw 'Secret-a0otp-1'

# sudo to a0bob: sudo's own PAM service (Debian's /etc/pam.d/sudo: no pam_keyinit), as on a
# stock system. sudo to a0otp: a service with pam_keyinit (sudo opens the session for the
# target user). NOPASSWD, so no auth stack runs.
sudo_svc=pam_auth0_e2e_krsudo_$$
e2e_pam_service "$sudo_svc" <<EOF
auth     required  pam_deny.so
account  required  pam_unix.so
session  required  pam_keyinit.so force revoke
session  required  pam_unix.so
EOF
e2e_sudoers_dropin "pam_auth0_e2e_kr_$$" "Defaults>a0otp pam_service=$sudo_svc
a0alice ALL=(a0bob, a0otp) NOPASSWD: $helper, /usr/bin/keyctl"

# The wrapper must work for a user other than the build's owner.
if out=$(e2e_run_as a0bob "$helper" --help 2>&1) && [[ $out == *has-valid* ]]; then
	e2e_pass "helper (libtool wrapper) runs as another user"
else
	e2e_die "$helper does not run as a0bob: $out"
fi

e2e_start_sshd "$svc" "PasswordAuthentication yes" "KbdInteractiveAuthentication yes"

# pam_auth0 keys of USER, looked at as USER outside any session: the owner's "view" is what
# makes them appear in /proc/keys (root sees none of them; see the "outside" checks below).
# An invalidated key (flag "i") is gone for every caller already; /proc/keys shows it until the
# kernel's garbage collector has run, which under load has been seen to take over 5 s.
# shellcheck disable=SC2016 # awk's $1, $2
user_keys() { e2e_run_as "$1" awk '/ pam_auth0/ && $2 !~ /i/ { print $1 }' /proc/keys | sort; }
# keyrings_gone USER: no pam_auth0 key of USER is left but those the uid had before this run
# made the user. Keys outlive their owner's account: a hand-off nobody took (e.g. test_login.sh's
# sudo to root: the session is root's, which pam_auth0 leaves alone, and sudo ends PAM with
# PAM_DATA_SILENT) stays for its 120 s, and a new account that gets the same uid owns it (see
# the NOTE printed when that happens).
declare -A keys_before=()
keyrings_gone() { [[ -z $(comm -13 <(printf '%s\n' "${keys_before[$1]}") <(user_keys "$1")) ]]; }
for u in a0alice a0bob a0otp; do
	keys_before[$u]=$(user_keys "$u")
	[[ -z ${keys_before[$u]} ]] || printf 'NOTE: %s (uid %s) owns pam_auth0 keys from an earlier account with that uid: %s\n' \
		"$u" "$(id -u "$u")" "$(e2e_run_as "$u" grep ' pam_auth0' /proc/keys | cut -c1-110 | tr '\n' ';')"
done

# check_record TAG USER UID OUT: the login's record as the probe saw it inside the session.
check_record() {
	local t=$1 user=$2 uid=$3 o=$4 desc ses
	desc=$(v "$t.desc" "$o")
	ses=$(v "$t.ses" "$o")
	if [[ $desc =~ ^(user|big_key)\;$uid\;[0-9]+\;002f0000\;pam_auth0:main$ ]]; then
		e2e_pass "$t: pam_auth0:main key of $user in the session, owner vrwsa only (no possessor bits)"
	else
		e2e_fail "$t: pam_auth0:main key of $user in the session, owner vrwsa only (no possessor bits)" "rdescribe: '$desc'"
	fi
	e2e_check "$t: the session keyring is a fresh _ses of $user (pam_keyinit force)" \
		test "${ses%%;*}" = keyring -a "$(cut -d';' -f2 <<<"$ses")" = "$uid" -a "${ses##*;}" = _ses
	e2e_assert_eq "$t: the record is linked in the session keyring itself" yes "$(v "$t.in_ses" "$o")"
	e2e_assert_eq "$t: no record in the user keyring" no "$(v "$t.in_user" "$o")"
	e2e_assert_eq "$t: get --format json exits 0" 0 "$(v "$t.get_rc" "$o")"
	e2e_assert_eq "$t: get prints one JSON object" ok "$(v "$t.json" "$o")"
	e2e_assert_eq "$t: JSON members" access_token,expires_at,id_token,scope,token_type "$(v "$t.keys" "$o")"
	e2e_assert_eq "$t: token_type" Bearer "$(v "$t.token_type" "$o")"
	e2e_assert_eq "$t: expires_at is a number" int "$(v "$t.expires_at_type" "$o")"
	e2e_check "$t: the access token is valid for hours (ttl $(v "$t.ttl" "$o") s)" \
		test "$(v "$t.ttl" "$o")" -gt 3600 2>/dev/null
	e2e_assert_eq "$t: the access token is a JWT for pam-native" "3 pam-native" \
		"$(v "$t.at_parts" "$o") $(v "$t.at_azp" "$o")"
	e2e_assert_eq "$t: the ID token is $user's" "$user" "$(v "$t.id_user" "$o")"
	e2e_assert_eq "$t: scope" "openid profile email offline_access" "$(v "$t.scope" "$o")"
	e2e_check "$t: the record holds a refresh token" test "$(v "$t.rt" "$o")" != none
	e2e_assert_eq "$t: get --format token exits 0" 0 "$(v "$t.token_rc" "$o")"
	e2e_check "$t: --format token prints the JSON's access token" \
		test "$(v "$t.token" "$o")" = "$(v "$t.at" "$o")" -a "$(v "$t.token" "$o")" != empty
	e2e_assert_eq "$t: --format token is not the refresh token" no "$(v "$t.token_is_rt" "$o")"
	e2e_assert_eq "$t: the JSON has no refresh token" no "$(v "$t.json_has_rt" "$o")"
	e2e_assert_eq "$t: has-valid exits 0" 0 "$(v "$t.has_valid" "$o")"
}

# check_logout TAG USER FAMILY RT: after the session ended, the refresh token the record held
# last (RT, its hash) was revoked, and the user has no pam_auth0 key left.
check_logout() {
	local t=$1 user=$2 fam=$3 rt=$4 rsha
	if [[ -z $fam ]]; then
		e2e_fail "$t: logout revokes the refresh token" "no refresh family in the fake's log for the login"
		return 0
	fi
	if wait_for 10 revoked "$fam"; then
		rsha=$(log_get "r['path'] == '/oauth/revoke' and r['rt_family'] == '$fam'" rt_sha)
		e2e_assert_eq "$t: logout revoked the refresh token the record held last" "$rt" "$rsha"
		e2e_assert_eq "$t: the revocation succeeded" 200 \
			"$(log_get "r['path'] == '/oauth/revoke' and r['rt_family'] == '$fam'" status)"
		e2e_assert_eq "$t: one revocation for the family" 1 \
			"$(log_count "r['path'] == '/oauth/revoke' and r['rt_family'] == '$fam'")"
	else
		e2e_fail "$t: logout revokes the refresh token" "no /oauth/revoke of family $fam within 10 s"
	fi
	if wait_for 5 keyrings_gone "$user"; then
		e2e_pass "$t: no pam_auth0 key of $user left after logout"
	else
		e2e_fail "$t: no pam_auth0 key of $user left after logout" \
			"$(e2e_run_as "$user" grep ' pam_auth0' /proc/keys | cut -c1-110 | tr '\n' ';')"
	fi
}

# ---------------------------------------------------------------------------------------------
# 1, 2, 4: a0alice, password. In the session: the record, the helper, an API's credentials
# (multi-resource refresh), a forced refresh; after it: the revocation and the keys.
mark=$(log_seq)
revoked0=$(stat_of revoked_families)
if e2e_ssh -m password a0alice "$P info s1; $P api s1api $api; $P refresh s1r" <<'EXP'
answer "password: " alice
EXP
then
	o=$E2E_OUT
	e2e_assert_eq "s1: ssh password login" 0 "$E2E_RC"
	check_record s1 a0alice "$alice_uid" "$o"
	fam1=$(log_get "r['seq'] > $mark and r['grant_type'] == '$PW_GRANT' and r['username'] == 'a0alice' and r['status'] == 200" rt_family)

	# 4: api get
	e2e_assert_eq "s1: api get $api exits 0" 0 "$(v s1api.api_rc "$o")"
	e2e_assert_eq "s1: api get prints one JSON object" ok "$(v s1api.json "$o")"
	e2e_assert_contains "s1: the API token is for $api" " $(v s1api.at_aud "$o") " " $api "
	e2e_check "s1: the API token is not the login's" test "$(v s1api.at "$o")" != "$(v s1.at "$o")"
	if [[ $(v s1api.api_desc "$o") =~ ^(user|big_key)\;$alice_uid\;[0-9]+\;002f0000\;pam_auth0:api:https://api\.example\.com/$ ]]; then
		e2e_pass "s1: api record pam_auth0:api:$api, same permissions"
	else
		e2e_fail "s1: api record pam_auth0:api:$api, same permissions" "rdescribe: '$(v s1api.api_desc "$o")'"
	fi
	e2e_assert_eq "s1: the api record is in the session keyring" yes "$(v s1api.api_in_ses "$o")"
	e2e_assert_eq "s1: the fake saw the refresh grant with audience $api, from the login's token" \
		"200 $fam1 $(v s1.rt "$o")" \
		"$(log_get "r['seq'] > $mark and r['grant_type'] == 'refresh_token' and r['audience'] == '$api'" status) $(
			log_get "r['seq'] > $mark and r['grant_type'] == 'refresh_token' and r['audience'] == '$api'" rt_family) $(
			log_get "r['seq'] > $mark and r['grant_type'] == 'refresh_token' and r['audience'] == '$api'" rt_sha)"
	e2e_check "s1: the rotated refresh token (api get) replaced the session's" \
		test "$(v s1api.rt "$o")" != "$(v s1.rt "$o")" -a "$(v s1api.rt "$o")" != none

	# a forced refresh: rotates again, updates the same key in place
	e2e_assert_eq "s1: get --force-refresh exits 0" 0 "$(v s1r.refresh_rc "$o")"
	e2e_assert_eq "s1: the refresh used the refresh token api get stored" "$(v s1api.rt "$o")" \
		"$(log_get "r['seq'] > $mark and r['grant_type'] == 'refresh_token' and r['audience'] != '$api'" rt_sha)"
	e2e_check "s1: a new refresh token after the refresh" test "$(v s1r.rt "$o")" != "$(v s1api.rt "$o")"
	e2e_assert_eq "s1: the refresh updated the record's key in place" "$(v s1.ser "$o")" "$(v s1r.ser "$o")"
	e2e_assert_eq "s1: after the refresh --format token is still not the refresh token" no "$(v s1r.token_is_rt "$o")"

	# 2: logout
	check_logout s1 a0alice "$fam1" "$(v s1r.rt "$o")"
	e2e_check "s1: the fake counts the revoked family" test "$(stat_of revoked_families)" -gt "$revoked0"
else
	e2e_fail "s1: ssh password login" "$E2E_ERR"
fi

# ---------------------------------------------------------------------------------------------
# 1, 2: a0otp, keyboard-interactive, password + one-time code (the record arrives through the
# hand-off from sshd's authentication child).
mark=$(log_seq)
e2e_secret otp "$(totp $OTP_SECRET)"
if e2e_ssh -m keyboard-interactive a0otp "$P info s2" <<'EXP'
answer "Password: " otp_pw
answer "One-time code: " otp
EXP
then
	o=$E2E_OUT
	e2e_assert_eq "s2: ssh password + OTP login" 0 "$E2E_RC"
	check_record s2 a0otp "$otp_uid" "$o"
	fam2=$(log_get "r['seq'] > $mark and r['grant_type'] == '$OTP_GRANT' and r['status'] == 200" rt_family)
	check_logout s2 a0otp "$fam2" "$(v s2.rt "$o")"
else
	e2e_fail "s2: ssh password + OTP login" "$E2E_ERR"
fi

# ---------------------------------------------------------------------------------------------
# 3, 5, 6 in one dialogue, with sessions open at the same time:
#   A  a0alice, interactive, open throughout;
#   B  a second a0alice session, opened while A is: its own record, and a forced refresh there
#      must leave A's alone;
#   A  again: unchanged;
#   -  root, a0alice and a0bob outside any session (setpriv) reaching for A's key by serial;
#   C  a0bob in his own ssh session: his credentials, never A's; A's key by serial;
#   A  sudo -u a0bob (stock sudo service: the session keyring stays A's): the helper and keyctl.
#   A  a forced refresh still works (B's refresh and B's logout did not touch A's family).
export KR_P=$P KR_PROBE=$probe KR_HELPER=$helper
mark=$(log_seq)
if e2e_ssh -t a0alice <<'EXP'
answer "password: " alice
await -re {\$ $}
set A $spawn_id
send_line "$env(KR_P) info a; echo E''ND-a"
expect {
	-re {a\.ser=([0-9]+)\r} { set serA $expect_out(1,string) }
	timeout { fail "no serial from session A" }
}
await "END-a"

# B: the same user again, while A is open
spawn -noecho {*}$e2e_cmd "$env(KR_P) info b; $env(KR_P) refresh b2; echo E''ND-b"
set B $spawn_id
answer "password: " alice
await "END-b"
expect eof
wait
set spawn_id $A

send_line "$env(KR_P) info a2; echo E''ND-a2"
await "END-a2"

# Outside any session: root, and the users through setpriv
if {[catch {exec -ignorestderr $env(KR_PROBE) $env(KR_HELPER) outside x $serA a0alice a0bob} res]} {
	fail "outside probe: $res"
}
e2e_write outside $res

# C: a0bob in his own ssh session
set i [lsearch -exact $e2e_cmd -l]
set bobcmd [lreplace $e2e_cmd [expr {$i + 1}] [expr {$i + 1}] a0bob]
spawn -noecho {*}$bobcmd "$env(KR_P) foreign c $serA; echo E''ND-c"
answer "password: " bob
await "END-c"
expect eof
wait
set spawn_id $A

send_line "$env(KR_P) sudo d a0bob $serA; echo E''ND-d"
await "END-d"
send_line "$env(KR_P) sudo e a0otp $serA; echo E''ND-e"
await "END-e"
send_line "$env(KR_P) refresh a3; echo E''ND-a3"
await "END-a3"
send_line "exit"
EXP
then
	o=$E2E_TRANSCRIPT
	x=$(cat "$E2E_RUN_DIR/outside" 2>/dev/null || true)
	famA=$(log_get "r['seq'] > $mark and r['grant_type'] == '$PW_GRANT' and r['username'] == 'a0alice' and r['status'] == 200" rt_family 1)
	famB=$(log_get "r['seq'] > $mark and r['grant_type'] == '$PW_GRANT' and r['username'] == 'a0alice' and r['status'] == 200" rt_family 2)
	famC=$(log_get "r['seq'] > $mark and r['grant_type'] == '$PW_GRANT' and r['username'] == 'a0bob' and r['status'] == 200" rt_family)
	serA=$(v a.ser "$o") serB=$(v b.ser "$o")

	# 3: two sessions of a0alice
	check_record a a0alice "$alice_uid" "$o"
	check_record b a0alice "$alice_uid" "$o"
	e2e_check "3: two sessions, two records ($serA, $serB)" test "$serA" != "$serB" -a "$serB" != none
	e2e_check "3: two sessions, two session keyrings ($(v a.ses_id "$o"), $(v b.ses_id "$o"))" \
		test "$(v a.ses_id "$o")" != "$(v b.ses_id "$o")"
	e2e_check "3: two logins, two refresh families" test -n "$famA" -a -n "$famB" -a "$famA" != "$famB"
	# (Not the access tokens: the fake's JWTs have no jti, so two issued in the same second for
	# the same user and scope are identical.)
	e2e_check "3: the two records hold different refresh tokens" test "$(v a.rt "$o")" != "$(v b.rt "$o")"
	e2e_assert_eq "3: B's forced refresh exits 0" 0 "$(v b2.refresh_rc "$o")"
	e2e_check "3: B's forced refresh rotated B's refresh token" test "$(v b2.rt "$o")" != "$(v b.rt "$o")"
	e2e_assert_eq "3: B's refresh used B's refresh token" "$famB $(v b.rt "$o")" \
		"$(log_get "r['seq'] > $mark and r['grant_type'] == 'refresh_token'" rt_family 1) $(
			log_get "r['seq'] > $mark and r['grant_type'] == 'refresh_token'" rt_sha 1)"
	e2e_assert_eq "3: A's record unchanged by B's refresh and B's logout (key, access, refresh token)" \
		"$serA $(v a.at "$o") $(v a.rt "$o")" "$(v a2.ser "$o") $(v a2.at "$o") $(v a2.rt "$o")"
	e2e_assert_eq "3: A can still refresh afterwards" 0 "$(v a3.refresh_rc "$o")"
	e2e_assert_eq "3: A's refresh used A's own refresh token" "$famA $(v a.rt "$o")" \
		"$(log_get "r['seq'] > $mark and r['grant_type'] == 'refresh_token'" rt_family) $(
			log_get "r['seq'] > $mark and r['grant_type'] == 'refresh_token'" rt_sha)"
	e2e_assert_eq "3: B's logout revoked B's family only" "1 0" \
		"$(log_count "r['path'] == '/oauth/revoke' and r['rt_family'] == '$famB'") $(
			log_count "r['path'] == '/oauth/revoke' and r['rt_family'] == '$famA' and r['seq'] < $(
				log_get "r['seq'] > $mark and r['grant_type'] == 'refresh_token'" seq)")"

	# 5: outside any session, by serial. The record's permissions are its owner's (the uid,
	# not the session, is the boundary: pam_auth0(8)), so a0alice reads her own key anywhere.
	e2e_check "5: a0alice outside the session sees her key in /proc/keys (owner view)" \
		test "$(v x.a0alice.proc_keys "$x")" -ge 1 2>/dev/null
	e2e_check "5: a0alice outside the session can describe the key (owner view)" \
		test "$(v x.a0alice.describe_rc "$x")" = 0
	e2e_check "5: a0alice outside the session can read her own key by serial (owner read)" \
		test "$(v x.a0alice.print_rc "$x")" = 0
	e2e_check "5: a0bob (no session) cannot read a0alice's key ($(v x.a0bob.print_err "$x"))" \
		denied "$(v x.a0bob.print_rc "$x")" "$(v x.a0bob.print_err "$x")"
	e2e_check "5: root (no session) cannot read it either" test "$(v x.root.print_rc "$x")" != 0
	e2e_check "5: a0bob (no session) cannot even describe it" test "$(v x.a0bob.describe_rc "$x")" != 0
	e2e_assert_eq "5: a0bob (no session) sees no pam_auth0 key in /proc/keys" 0 "$(v x.a0bob.proc_keys "$x")"
	# 5: a0bob in his own session
	e2e_assert_eq "5: a0bob's own session: get exits 0" 0 "$(v c.get_rc "$o")"
	e2e_assert_eq "5: a0bob's own session: get returns a0bob's credentials" a0bob "$(v c.id_user "$o")"
	e2e_check "5: a0bob's own session: not a0alice's access token" \
		test "$(v c.at "$o")" != "$(v a.at "$o")" -a "$(v c.at "$o")" != "$(v a3.refresh.at "$o")"
	e2e_check "5: a0bob's own session: his record is another key" \
		test "$(v c.own_ser "$o")" != "$serA" -a "$(v c.own_ser "$o")" != none
	e2e_check "5: a0bob's session cannot read a0alice's key by serial ($(v c.print_err "$o"))" \
		test "$(v c.print_rc "$o")" != 0 -a "$(v c.print_bytes "$o")" = 0
	e2e_check "5: a0bob's session cannot describe a0alice's key" test "$(v c.describe_rc "$o")" != 0

	# 6: sudo inside a0alice's session. Stock sudo (Debian's /etc/pam.d/sudo, no pam_keyinit)
	# runs the command with a0alice's session keyring, which the command therefore possesses;
	# the kernel adds a key's possessor permissions to whatever the caller's uid gets, so a
	# record grants possessors nothing (not even search, with which keyctl_read reads a
	# possessed key): a0bob's uid gets nothing either. Through a sudo service with pam_keyinit
	# (to a0otp) the command gets a session keyring of its own.
	e2e_check "6: sudo -u a0bob keeps a0alice's session keyring (stock sudo: no pam_keyinit)" \
		test "$(v d.sudo_ses_id "$o")" = "$(v a.ses_id "$o")"
	e2e_check "6: ... and lists a0alice's record in it: it possesses the keyring" \
		test "$(v d.ses_lists_ser "$o")" = yes
	if [[ $(v d.get_rc "$o") == 3 && $(v d.id_user "$o") != a0alice ]]; then
		e2e_pass "6: sudo -u a0bob auth0-credentials get does not return a0alice's credentials (NO_CREDENTIALS)"
	else
		E2E_DIAG=0 e2e_fail "6: sudo -u a0bob auth0-credentials get does not return a0alice's credentials (NO_CREDENTIALS)" \
			"exit $(v d.get_rc "$o"), ID token posix_user=$(v d.id_user "$o"): $(v d.get_err "$o")"
	fi
	if denied "$(v d.print_rc "$o")" "$(v d.print_err "$o")" && [[ $(v d.print_bytes "$o") == 0 ]]; then
		e2e_pass "6: sudo -u a0bob keyctl pipe <a0alice's record> is refused (EACCES)"
	else
		E2E_DIAG=0 e2e_fail "6: sudo -u a0bob keyctl pipe <a0alice's record> is refused (EACCES)" \
			"exit $(v d.print_rc "$o"), $(v d.print_bytes "$o") bytes, a0alice's access token in them: $(v d.print_has_at "$o"); $(v d.print_err "$o")"
	fi
	e2e_check "6: sudo -u a0bob keyctl rdescribe <a0alice's record> is refused ($(v d.describe_err "$o"))" \
		denied "$(v d.describe_rc "$o")" "$(v d.describe_err "$o")"
	e2e_check "6: sudo -u a0bob keyctl search @s finds no record of a0alice's" \
		test "$(v d.search_rc "$o")" != 0
	e2e_check "6: sudo -u a0bob keyctl update <a0alice's record> is refused ($(v d.update_err "$o"))" \
		denied "$(v d.update_rc "$o")" "$(v d.update_err "$o")"
	e2e_check "6: sudo -u a0bob keyctl invalidate <a0alice's record> is refused ($(v d.invalidate_err "$o"))" \
		denied "$(v d.invalidate_rc "$o")" "$(v d.invalidate_err "$o")"
	e2e_check "6: sudo -u a0otp through a service with pam_keyinit: a session keyring of its own" \
		other_keyring "$(v e.sudo_ses_id "$o")" "$(v a.ses_id "$o")"
	e2e_assert_eq "6: ... there auth0-credentials get finds nothing (NO_CREDENTIALS)" 3 "$(v e.get_rc "$o")"
	e2e_check "6: ... and keyctl pipe <a0alice's record> is refused" \
		test "$(v e.print_rc "$o")" != 0 -a "$(v e.print_bytes "$o")" = 0

	# 2, after all of them: every family revoked, no key left
	check_logout "A" a0alice "$famA" "$(v a3.rt "$o")"
	check_logout "B" a0alice "$famB" "$(v b2.rt "$o")"
	if [[ -n $famC ]] && wait_for 10 revoked "$famC"; then
		e2e_pass "C: a0bob's logout revoked his refresh token"
	else
		e2e_fail "C: a0bob's logout revoked his refresh token" "family '${famC}'"
	fi
	if wait_for 5 keyrings_gone a0bob; then
		e2e_pass "C: no pam_auth0 key of a0bob left after logout"
	else
		e2e_fail "C: no pam_auth0 key of a0bob left after logout" \
			"$(e2e_run_as a0bob grep ' pam_auth0' /proc/keys | cut -c1-110 | tr '\n' ';')"
	fi
else
	e2e_fail "concurrent sessions dialogue" "$E2E_ERR"
fi

e2e_check "no token in the sshd log" bash -c "! grep -E 'eyJ[A-Za-z0-9_-]{20}' '$E2E_SSHD_LOG'"
e2e_summary
