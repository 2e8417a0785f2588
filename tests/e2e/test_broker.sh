#!/bin/bash
# A confidential application (issue 15): the module signs in with the application's secret, the
# session's record says the application is confidential, and inside a real sshd session
# auth0-credentials get, api get and sso refresh through auth0-broker, which adds the client's
# authentication (the user never reads the secret), and vault get obtains the user's Google token
# from Token Vault through it (exit 15 for a connection without an account); without a broker
# running the helper says so.
# The broker runs in the foreground on /run/pam_auth0/broker.sock, where the library looks for
# it; it and the socket are removed afterwards (lib.sh).
# Needs: A0_BUILD (a non-sanitized build tree), A0_FAKE_STATE and A0_FAKE_CA.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
e2e_init

module=${A0_BUILD:?}/pam/.libs/pam_auth0.so
helper=$A0_BUILD/credentials/auth0-credentials
broker=$A0_BUILD/broker/auth0-broker
for f in "$module" "$helper" "$broker"; do [[ -f $f ]] || e2e_die "no $f"; done
port=$(e2e_fake_port)
fake() { curl -fsS --cacert "$A0_FAKE_CA" --noproxy '*' -H 'Content-Type: application/json' "https://localhost:$port/__control/$1" "${@:2}"; }
# refreshes: the fake's refresh-token grants for broker-secret so far, and how each authenticated
refreshes() { fake log | /usr/bin/python3 -c 'import json, sys
print(sum(1 for r in json.load(sys.stdin) if r.get("grant_type") == "refresh_token" and r.get("client_id") == "broker-secret" and r.get("status") == 200))'; }

sock_dir=/run/pam_auth0
[[ ! -e $sock_dir/broker.sock ]] || e2e_die "$sock_dir/broker.sock exists: another broker runs here"
[[ -d $sock_dir ]] || _e2e_defer rmdir "$sock_dir"
_e2e_defer rm -f "$sock_dir/broker.sock"

install -m 0644 -- "$A0_FAKE_CA" "$E2E_WORK/ca.pem"
secret_file=$E2E_WORK/client_secret # a name tests/secrets/sweep knows as an input
install -m 0600 /dev/null "$secret_file"
/usr/bin/python3 -c 'import json,sys
print(next(c["client_secret"] for c in json.load(open(sys.argv[1]))["clients"] if c["client_id"] == "broker-secret"))' \
	"$here/../fake-tenant/tenant.json" >"$secret_file"
e2e_module_conf "$E2E_WORK/ca.pem" 'timeout = 5' 'client_id = broker-secret' \
	"client_secret_file = $secret_file" "broker_socket = $sock_dir/broker.sock" \
	"broker_audiences = https://api.example.com/ urn:localhost:$port:session_transfer" \
	'broker_connections = google-oauth2 github'
# a0alice's Google account in Token Vault (her token there: compared by hash, never printed).
federated=e2e-federated-google-$$-$RANDOM
fake federated -d "{\"username\":\"a0alice\",\"connection\":\"google-oauth2\",\"access_token\":\"$federated\",\"expires_in\":3600}" >/dev/null
conf=$E2E_CONF
svc=pam_auth0_e2e_br_$$
e2e_module_service "$svc"
e2e_add_user a0alice
e2e_user_runtime_dir a0alice
e2e_secret alice 'Secret-a0alice-1'
e2e_start_sshd "$svc" "PasswordAuthentication yes"

"$broker" --foreground --config "$conf" >"$E2E_WORK/broker.log" 2>&1 &
broker_pid=$!
_e2e_defer bash -c 'kill "$1" 2>/dev/null || :' kill "$broker_pid"
for _ in $(seq 50); do [[ -S $sock_dir/broker.sock ]] && break; sleep 0.1; done
e2e_check "auth0-broker listens" test -S "$sock_dir/broker.sock"

# Inside the session: three refreshes through the broker, nothing printed but the outcomes.
remote="for c in 'get --force-refresh' 'api get https://api.example.com/' 'sso'; do
	$helper \$c --format json >/dev/null 2>\$HOME/.err && echo \"OK \$c\" || echo \"FAIL \$c: \$(cat \$HOME/.err)\"
done
echo VAULT=\$($helper vault get google-oauth2 --format token | sha256sum | cut -c1-64)
echo CACHED=\$($helper vault get google-oauth2 --format token | sha256sum | cut -c1-64)
$helper vault get github >/dev/null 2>\$HOME/.err; echo GITHUB=\$? \$(grep -o federated_connection_refresh_token_not_found \$HOME/.err | head -1)"
before=$(refreshes)
vault_before=$(fake stats | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["token_vault"]["exchanges"])')
if e2e_ssh -m password a0alice "$remote" <<'EXP'
answer "password: " alice
EXP
then
	e2e_assert_eq "get --force-refresh through the broker" "OK get --force-refresh" "$(sed -n 1p <<<"$E2E_OUT")"
	e2e_assert_eq "api get through the broker" "OK api get https://api.example.com/" "$(sed -n 2p <<<"$E2E_OUT")"
	e2e_assert_eq "sso through the broker" "OK sso" "$(sed -n 3p <<<"$E2E_OUT")"
	want=$(printf '%s\n' "$federated" | sha256sum | cut -c1-64)
	e2e_assert_eq "vault get: the user's Google token from Token Vault" "VAULT=$want" "$(grep ^VAULT= <<<"$E2E_OUT")"
	e2e_assert_eq "vault get again: the same token, from the keyring" "CACHED=$want" "$(grep ^CACHED= <<<"$E2E_OUT")"
	e2e_assert_eq "vault get of a connection without an account: exit 15 with Auth0's error" \
		"GITHUB=15 federated_connection_refresh_token_not_found" "$(grep ^GITHUB= <<<"$E2E_OUT")"
else
	e2e_fail "a session with a confidential application" "$E2E_ERR"
fi
e2e_assert_eq "the tenant saw three authenticated refreshes" 3 "$(($(refreshes) - before))"
e2e_assert_eq "the tenant saw one Token Vault exchange that succeeded" 1 \
	"$(($(fake stats | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["token_vault"]["exchanges"])') - vault_before))"
e2e_check "the broker logged the vault exchange" grep -q 'op=vault connection=google-oauth2 result=OK' "$E2E_WORK/broker.log"
e2e_check "the broker logged the caller and subject, no token" bash -c \
	"grep -q 'op=refresh result=OK sub=auth0|6a0000000000000000000001' '$E2E_WORK/broker.log' && ! grep -q eyJ '$E2E_WORK/broker.log'"
e2e_check "the secret is not readable by the user" \
	bash -c "! setpriv --reuid=a0alice --regid=a0alice --clear-groups -- cat '$secret_file' 2>/dev/null"

# No broker: the helper says so, and the session's record stays.
kill "$broker_pid"
wait "$broker_pid" 2>/dev/null || true
rm -f "$sock_dir/broker.sock"
if e2e_ssh -m password a0alice "$helper get --force-refresh >/dev/null; echo RC=\$?" <<'EXP'
answer "password: " alice
EXP
then
	e2e_assert_contains "no broker: the helper says so" "$E2E_TRANSCRIPT" "no broker is running at $sock_dir/broker.sock"
else
	e2e_fail "no broker: the helper says so" "$E2E_ERR"
fi
e2e_summary
