#!/bin/bash
# auth0-credentials login inside a session pam_auth0 did not open (issue 17): an ssh login with a
# public key (no Auth0 sign-in: sshd runs only PAM's account and session stacks) has no
# credentials; `auth0-credentials login --password` there signs in as the Auth0 user users_file
# binds to the account (password, then the OTP code: stdin lines, as the session has no
# terminal) and stores the record in the session keyring pam_keyinit gave the login; then `get`
# and `userinfo` work there, and `logout` revokes the refresh token at the tenant.
# Needs: A0_BUILD (a non-sanitized build tree), A0_FAKE_STATE, A0_FAKE_CA and A0_FAKE_USERS.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
e2e_init

module=${A0_BUILD:?}/pam/.libs/pam_auth0.so
helper=$A0_BUILD/credentials/auth0-credentials
for f in "$module" "$helper"; do [[ -f $f ]] || e2e_die "no $f"; done
port=$(e2e_fake_port)
fake() { curl -fsS --cacert "$A0_FAKE_CA" --noproxy '*' "https://localhost:$port/__control/$1"; }
fake_stat() { fake stats | /usr/bin/python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"; }

user=a0otp
install -m 0644 -- "$A0_FAKE_CA" "$E2E_WORK/ca.pem"
# Root's configuration (0644): the command reads it as the user, as it would /etc/pam_auth0/pam_auth0.conf.
e2e_module_conf "$E2E_WORK/ca.pem" 'timeout = 5'
# ... and the users_file binding it applies, readable by the user as an administrator's would be
# (the fake's own copy is in a directory of root's alone).
install -m 0644 -- "$A0_FAKE_USERS" "$E2E_WORK/users"
sed -i "s|^users_file = .*|users_file = $E2E_WORK/users|" "$E2E_CONF"
svc=pam_auth0_e2e_ls_$$
e2e_module_service "$svc"
e2e_add_user "$user"
e2e_user_runtime_dir "$user"

# The user's ssh key, authorised for the account (a directory of root's, StrictModes off: the
# work directory is under /tmp).
mkdir -m 0755 -- "$E2E_WORK/keys"
ssh-keygen -q -t ed25519 -N '' -C e2e-login-session -f "$E2E_WORK/keys/id" || e2e_die "ssh-keygen failed"
install -m 0644 -- "$E2E_WORK/keys/id.pub" "$E2E_WORK/keys/$user"
e2e_start_sshd "$svc" "PubkeyAuthentication yes" "AuthorizedKeysFile $E2E_WORK/keys/%u" \
	"StrictModes no" "AuthenticationMethods publickey"

# The answers login reads from stdin: the password, then the code of the account's OTP
# authenticator (tenant.json), in a file only the user may read; never in argv or the environment.
answers=$E2E_WORK/answers
install -m 0600 -o "$user" /dev/null "$answers"
{
	printf '%s\n' "Secret-$user-1"
	"$here/totp" JBSWY3DPEHPK3PXP
} >"$answers"

# In the session: nothing stored at first; login; then the session's credentials work; logout.
# Only outcomes are printed, never a token.
remote="set -u
$helper get >/dev/null 2>&1; echo BEFORE=\$?
$helper login --password --config $E2E_CONF <$answers 2>\$HOME/.err; echo LOGIN=\$? \$(head -c 300 \$HOME/.err)
$helper get --format token >/dev/null 2>\$HOME/.err; echo GET=\$? \$(head -c 300 \$HOME/.err)
$helper get --force-refresh --format token >/dev/null 2>&1; echo REFRESH=\$?
echo SUB=\$($helper userinfo | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)[\"sub\"])')
$helper logout 2>\$HOME/.err; echo LOGOUT=\$? \$(head -c 300 \$HOME/.err)
$helper get >/dev/null 2>&1; echo AFTER=\$?"
revoked=$(fake_stat 'd["revoked_families"]')
otp_grants=$(fake log | /usr/bin/python3 -c "import json, sys; print(sum(1 for r in json.load(sys.stdin) if (r.get('grant_type') or '').endswith('mfa-otp')))")
if e2e_ssh -m publickey -o PubkeyAuthentication=yes -o IdentitiesOnly=yes \
	-o "IdentityFile=$E2E_WORK/keys/id" "$user" "$remote" <<'EXP'
EXP
then
	e2e_assert_eq "a key login has no credentials (NO_CREDENTIALS)" "BEFORE=3" \
		"$(grep ^BEFORE= <<<"$E2E_OUT")"
	e2e_assert_eq "login --password signs in and stores" "LOGIN=0" \
		"$(grep ^LOGIN= <<<"$E2E_OUT" | cut -d' ' -f1)"
	e2e_assert_eq "get works in the session" "GET=0" "$(grep ^GET= <<<"$E2E_OUT" | cut -d' ' -f1)"
	e2e_assert_eq "the stored refresh token renews" "REFRESH=0" "$(grep ^REFRESH= <<<"$E2E_OUT")"
	e2e_assert_eq "userinfo names the bound user" "SUB=auth0|6a0000000000000000000003" \
		"$(grep ^SUB= <<<"$E2E_OUT")"
	e2e_assert_eq "logout" "LOGOUT=0" "$(grep ^LOGOUT= <<<"$E2E_OUT" | cut -d' ' -f1)"
	e2e_assert_eq "nothing stored after logout (NO_CREDENTIALS)" "AFTER=3" \
		"$(grep ^AFTER= <<<"$E2E_OUT")"
else
	e2e_fail "a public-key session's login" "$E2E_ERR"
fi
e2e_assert_eq "the tenant asked for the OTP code once" "$((otp_grants + 1))" \
	"$(fake log | /usr/bin/python3 -c "import json, sys; print(sum(1 for r in json.load(sys.stdin) if (r.get('grant_type') or '').endswith('mfa-otp')))")"
e2e_assert_eq "logout revoked the refresh token at the tenant" "$((revoked + 1))" \
	"$(fake_stat 'd["revoked_families"]')"
rm -f -- "$answers"
e2e_summary
