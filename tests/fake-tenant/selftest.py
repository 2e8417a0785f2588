#!/usr/bin/python3
"""Self-test of the fake Auth0 tenant, using only the standard library (and the openssl
command, which makes and signs with the private_key_jwt test keys; DPoP proofs are signed
here, with P-256 in plain integers).

Starts fake_tenant.py on ephemeral ports, drives every endpoint, fault and control
call over TLS verified against the generated CA, and prints "N passed, N failed" as
its last line.  Exits non-zero on any failure.  Usage: selftest.py [-v]
"""

import base64
import email.utils
import gzip
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from urllib.parse import urlencode

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "fake_tenant.py")
DATA = os.path.join(HERE, "tenant.json")
PYTHON = "/usr/bin/python3"
VERBOSE = "-v" in sys.argv[1:]

REALM_GRANT = "http://auth0.com/oauth/grant-type/password-realm"
OTP_GRANT = "http://auth0.com/oauth/grant-type/mfa-otp"
OOB_GRANT = "http://auth0.com/oauth/grant-type/mfa-oob"
RECOVERY_GRANT = "http://auth0.com/oauth/grant-type/mfa-recovery-code"
DB = "Username-Password-Authentication"
API = "https://api.example.com/"
OTHER_API = "https://other.example.com/"
CONFIDENTIAL_SECRET = "test-client-secret-123"
FULL_SCOPE = "openid profile email offline_access"
# Parameters and response fields whose values must never reach the fake's log.
SECRET_FIELDS = {"password", "otp", "binding_code", "recovery_code", "client_secret", "refresh_token",
                 "token", "mfa_token", "oob_code", "access_token", "id_token", "client_assertion",
                 "subject_token", "device_code"}

# ------------------------------------------------------------------------- reporting

PASSED = 0
FAILED = 0


def check(name, condition, detail=""):
    global PASSED, FAILED
    if condition:
        PASSED += 1
        if VERBOSE:
            print(f"ok   {name}")
    else:
        FAILED += 1
        print(f"FAIL {name} {detail}")


def check_error(name, reply, status, error, description=None):
    body = reply.json or {}
    ok = reply.status == status and body.get("error") == error and (
        description is None or body.get("error_description") == description)
    check(name, ok, f"got {reply.status} {reply.body[:300]!r}")

# ------------------------------------------------------------------------ JWT helpers


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_parts(token):
    header, payload, signature = token.split(".")
    return json.loads(b64url_decode(header)), b64url_decode(payload), b64url_decode(signature)


def claims_of(token):
    return json.loads(jwt_parts(token)[1])


SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def rsa_verify(n, e, message, signature):
    """RSASSA-PKCS1-v1_5 with SHA-256, in plain integers."""
    size = (n.bit_length() + 7) // 8
    if len(signature) != size:
        return False
    decoded = pow(int.from_bytes(signature, "big"), e, n).to_bytes(size, "big")
    digest = SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    expected = b"\x00\x01" + b"\xff" * (size - len(digest) - 3) + b"\x00" + digest
    return hmac.compare_digest(decoded, expected)


def jwk_numbers(jwk):
    return int.from_bytes(b64url_decode(jwk["n"]), "big"), int.from_bytes(b64url_decode(jwk["e"]), "big")


def verifies(token, jwks):
    """True when an RS256 token is signed by the JWKS key its kid names."""
    try:
        header_b64, payload_b64, signature_b64 = token.split(".")
        header = json.loads(b64url_decode(header_b64))
        jwk = next(k for k in jwks["keys"] if k["kid"] == header.get("kid"))
    except (ValueError, StopIteration):
        return False
    n, e = jwk_numbers(jwk)
    return header.get("alg") == "RS256" and rsa_verify(
        n, e, f"{header_b64}.{payload_b64}".encode(), b64url_decode(signature_b64))


def der(tag, content):
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    size = (length.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + length.to_bytes(size, "big") + content


def der_int(value):
    raw = value.to_bytes((value.bit_length() + 8) // 8, "big")  # leading 0 keeps it positive
    return der(0x02, raw)


def public_pem(jwk):
    """The SubjectPublicKeyInfo PEM of an RSA JWK: the HMAC key a confused verifier uses."""
    n, e = jwk_numbers(jwk)
    rsa_oid = der(0x30, der(0x06, bytes.fromhex("2a864886f70d010101")) + b"\x05\x00")
    spki = der(0x30, rsa_oid + der(0x03, b"\x00" + der(0x30, der_int(n) + der_int(e))))
    body = base64.b64encode(spki).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return ("-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n").encode()


def totp(secret, at):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(at // 30)), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000)

# --------------------------------------------------------------------------- harness


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None


class Fake:
    """A running fake tenant plus the client-side helpers to talk to it."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.certs = os.path.join(workdir, "certs")
        self.secrets_seen = {CONFIDENTIAL_SECRET}
        subprocess.run([PYTHON, FAKE, "gen-certs", self.certs], check=True)
        self.stdout_path = os.path.join(workdir, "stdout")
        self.stderr_path = os.path.join(workdir, "stderr")
        self.state_path = os.path.join(workdir, "state.json")
        self.proc = subprocess.Popen(
            [PYTHON, FAKE, "serve", "--certs", self.certs, "--data", DATA, "--state-file", self.state_path],
            stdout=open(self.stdout_path, "wb"), stderr=open(self.stderr_path, "wb"))
        self._wait_ready()
        with open(self.state_path) as f:
            self.state = json.load(f)
        self.port = self.state["port"]
        self.issuer = f"https://localhost:{self.port}/"
        self.ctx = ssl.create_default_context(cafile=os.path.join(self.certs, "ca.pem"))

    def _wait_ready(self):
        deadline = time.time() + 15
        while time.time() < deadline:
            with open(self.stdout_path) as f:
                if f.read().startswith("ready port="):
                    return
            if self.proc.poll() is not None:
                raise RuntimeError("fake tenant exited: " + open(self.stderr_path).read())
            time.sleep(0.05)
        raise RuntimeError("fake tenant did not become ready")

    def conn(self, port=None, timeout=10, context=None):
        return http.client.HTTPSConnection("localhost", port or self.port, timeout=timeout,
                                           context=context or self.ctx)

    def request(self, method, path, json_body=None, form=None, headers=None, conn=None, timeout=10):
        headers = {"User-Agent": "fake-tenant-selftest", **(headers or {})}
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        self._note_secrets(form or json_body or {})
        own = conn is None
        conn = conn or self.conn(timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            reply = Reply(response.status, response.getheaders(), response.read())
        finally:
            if own:
                conn.close()
        if isinstance(reply.json, dict):
            self._note_secrets(reply.json)
        return reply

    def _note_secrets(self, fields):
        # Values shorter than an OTP are deliberate junk ("x", "nope") that may occur in
        # the log by coincidence (as a client_id, say) without being a leak.
        self.secrets_seen.update(v for k, v in fields.items()
                                 if k in SECRET_FIELDS and isinstance(v, str) and len(v) >= 6)

    def token(self, **params):
        return self.request("POST", "/oauth/token", form=params)

    def login(self, username, client_id="pam-native", scope=FULL_SCOPE, audience=API, **extra):
        params = {"grant_type": REALM_GRANT, "client_id": client_id, "username": username,
                  "password": f"Secret-{username}-1", "realm": DB, "scope": scope, **extra}
        if audience:
            params["audience"] = audience
        return self.token(**params)

    def refresh(self, refresh_token, client_id="pam-native", **extra):
        return self.token(grant_type="refresh_token", client_id=client_id, refresh_token=refresh_token, **extra)

    def control(self, method, name, payload=None):
        reply = self.request(method, f"/__control/{name}", json_body=payload if payload is not None else {})
        if reply.status != 200:
            raise RuntimeError(f"control {name} failed: {reply.status} {reply.body!r}")
        return reply.json

    def jwks(self):
        return self.request("GET", "/.well-known/jwks.json").json

    def reset(self):
        """Checks the log holds no secret before the reset wipes it."""
        leaked = self.leaked_secrets(json.dumps(self.control("GET", "log"), ensure_ascii=False))
        check("log holds no secrets before reset", not leaked, f"leaked: {sorted(leaked)[:3]}")
        self.control("POST", "reset")

    def leaked_secrets(self, text):
        return {s for s in self.secrets_seen if s in text}

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None

# --------------------------------------------------------------------------- tests


def test_certs_and_listeners(t):
    mode = os.stat(t.certs).st_mode & 0o777
    check("certs dir is 0700", mode == 0o700, oct(mode))
    names = {"ca.pem", "ca.key", "server.pem", "server.key", "other-ca.pem", "other.pem", "other.key",
             "wrong-host.pem", "wrong-host.key", "expired.pem", "expired.key"}
    check("gen-certs wrote every file", names <= set(os.listdir(t.certs)), sorted(os.listdir(t.certs)))
    before = open(os.path.join(t.certs, "ca.pem"), "rb").read()
    subprocess.run([PYTHON, FAKE, "gen-certs", t.certs], check=True)
    check("gen-certs is idempotent", open(os.path.join(t.certs, "ca.pem"), "rb").read() == before)
    check("state file has every port", set(t.state) == {"pid", "port", "port_other_ca", "port_wrong_host",
                                                         "port_expired", "port_closed"}, t.state)
    check("state pid is the server", t.state["pid"] == t.proc.pid)

    ip_conn = http.client.HTTPSConnection("127.0.0.1", t.port, timeout=5, context=t.ctx)
    ip_conn.request("GET", "/.well-known/openid-configuration")
    check("server cert valid for IP 127.0.0.1", ip_conn.getresponse().status == 200)
    ip_conn.close()

    for name, needle in (("port_other_ca", "certificate verify failed"),
                         ("port_wrong_host", "Hostname mismatch"),
                         ("port_expired", "expired")):
        try:
            t.request("GET", "/.well-known/jwks.json", conn=t.conn(port=t.state[name], timeout=5))
            check(f"{name} rejected by verification", False, "request succeeded")
        except ssl.SSLCertVerificationError as err:
            check(f"{name} rejected by verification", needle in str(err), str(err))
    deadline = time.time() + 3
    while t.control("GET", "stats")["handshake_failures"] < 3 and time.time() < deadline:
        time.sleep(0.05)
    check("failed handshakes counted", t.control("GET", "stats")["handshake_failures"] >= 3)

    other = ssl.create_default_context(cafile=os.path.join(t.certs, "other-ca.pem"))
    reply = t.request("GET", "/.well-known/jwks.json", conn=t.conn(port=t.state["port_other_ca"], context=other))
    check("other-CA listener serves the same app", reply.status == 200 and "keys" in reply.json)
    reply = t.request("GET", "/__control/stats", conn=t.conn(port=t.state["port_other_ca"], context=other))
    check("control API only on the main listener", reply.status == 404)
    try:
        socket.create_connection(("127.0.0.1", t.state["port_closed"]), timeout=2).close()
        check("port_closed refuses connections", False)
    except ConnectionRefusedError:
        check("port_closed refuses connections", True)


def test_keepalive_and_connections(t):
    before = t.control("GET", "stats")["connections"]
    conn = t.conn()
    first = t.request("GET", "/.well-known/jwks.json", conn=conn)
    second = t.request("GET", "/.well-known/openid-configuration", conn=conn)
    conn.close()
    t.request("GET", "/.well-known/jwks.json")
    log = t.control("GET", "log")
    check("keep-alive requests answered", first.status == 200 and second.status == 200)
    check("two requests on one connection share conn", log[-3]["conn"] == log[-2]["conn"], log[-3:])
    check("a new connection gets a new conn", log[-1]["conn"] != log[-2]["conn"])
    check("connections counts app connections only", t.control("GET", "stats")["connections"] == before + 2)
    check("log seq is ordered", [r["seq"] for r in log] == list(range(1, len(log) + 1)))


def test_discovery(t):
    config = t.request("GET", "/.well-known/openid-configuration").json
    check("issuer", config["issuer"] == t.issuer)
    for key, path in (("jwks_uri", ".well-known/jwks.json"), ("token_endpoint", "oauth/token"),
                      ("userinfo_endpoint", "userinfo"), ("revocation_endpoint", "oauth/revoke")):
        check(f"discovery {key}", config[key] == t.issuer + path)
    keys = t.jwks()["keys"]
    check("jwks has one RS256 signing key", len(keys) == 1 and keys[0]["kty"] == "RSA"
          and keys[0]["alg"] == "RS256" and keys[0]["use"] == "sig" and keys[0]["kid"])
    reply = t.request("GET", "/no/such/path")
    check_error("unknown path is 404", reply, 404, "not_found")


def test_password_realm(t):
    reply = t.login("a0alice")
    body = reply.json
    jwks = t.jwks()
    check("login 200", reply.status == 200, reply.body)
    check("token response fields", set(body) == {"access_token", "id_token", "refresh_token", "scope",
                                                 "expires_in", "token_type"}, sorted(body))
    check("token_type Bearer, expires_in 86400", body["token_type"] == "Bearer" and body["expires_in"] == 86400)
    check("granted scope", body["scope"] == FULL_SCOPE)
    check("no-store on token responses", reply.headers.get("cache-control") == "no-store")
    header, _, _ = jwt_parts(body["access_token"])
    check("access token header", header == {"alg": "RS256", "typ": "JWT", "kid": jwks["keys"][0]["kid"]})
    check("access token verifies", verifies(body["access_token"], jwks))
    at = claims_of(body["access_token"])
    check("access token claims", at["iss"] == t.issuer and at["sub"] == "auth0|6a0000000000000000000001"
          and at["aud"] == [API, t.issuer + "userinfo"] and at["azp"] == "pam-native"
          and at["scope"] == FULL_SCOPE and at["exp"] - at["iat"] == 86400, at)
    check("id token verifies", verifies(body["id_token"], jwks))
    idt = claims_of(body["id_token"])
    check("id token claims", idt["aud"] == "pam-native" and idt["exp"] - idt["iat"] == 36000
          and idt["email"] == "a0alice@example.com" and idt["email_verified"] is True
          and idt["nickname"] == "a0alice" and idt["name"] == "Alice Example"
          and idt["https://example.com/groups"] == ["admins", "dev"]
          and idt["https://example.com/posix_user"] == "a0alice", idt)

    reply = t.request("POST", "/oauth/token", json_body={
        "grant_type": REALM_GRANT, "client_id": "pam-native", "username": "A0Alice@Example.com",
        "password": "Secret-a0alice-1", "realm": DB, "scope": "openid"})
    check("JSON body and email login", reply.status == 200 and "refresh_token" not in reply.json, reply.body)
    check("no audience: aud is /userinfo", claims_of(reply.json["access_token"])["aud"] == t.issuer + "userinfo")
    check("openid only: no profile claims", "email" not in claims_of(reply.json["id_token"]))
    reply = t.login("a0alice", scope="profile", audience=API)
    check("no openid: no id_token", reply.status == 200 and "id_token" not in reply.json)
    reply = t.login("a0alice", client_id="no-mfa-grants")
    check("no refresh grant: offline_access dropped", reply.json["scope"] == "openid profile email"
          and "refresh_token" not in reply.json, reply.body)

    wrong = "Wrong email or password."
    check_error("wrong password", t.login("a0alice", password="nope"), 403, "invalid_grant", wrong)
    check_error("unknown user", t.login("a0nobody"), 403, "invalid_grant", wrong)
    check_error("user not in realm", t.login("a0alice", realm="Other-DB"), 403, "invalid_grant", wrong)
    check_error("unknown realm", t.login("a0alice", realm="Nope"), 400, "invalid_request")
    check_error("unknown audience", t.login("a0alice", audience="https://nope.example.com/"),
                403, "access_denied", "Service not found: https://nope.example.com/")
    reply = t.token(grant_type=REALM_GRANT, client_id="pam-native", password="x", realm=DB)
    check_error("missing username", reply, 400, "invalid_request", "Missing required parameter: username")
    check_error("missing grant_type", t.token(client_id="pam-native"), 400, "invalid_request",
                "Missing required parameter: grant_type")
    check_error("unknown grant", t.token(grant_type="urn:example:nope", client_id="pam-native"),
                403, "unsupported_grant_type")
    check_error("grant not enabled", t.refresh("x", client_id="no-mfa-grants"), 403, "unauthorized_client",
                "Grant type `refresh_token` not allowed for the client.")
    check_error("known but not enabled grant", t.token(grant_type="client_credentials", client_id="pam-native"),
                403, "unauthorized_client")
    check_error("unknown client", t.login("a0alice", client_id="nope"), 401, "access_denied", "Unauthorized")

    check_error("confidential without secret", t.login("a0alice", client_id="pam-confidential"),
                401, "access_denied", "Unauthorized")
    check_error("confidential wrong secret", t.login("a0alice", client_id="pam-confidential", client_secret="bad"),
                401, "access_denied", "Unauthorized")
    reply = t.login("a0alice", client_id="pam-confidential", client_secret=CONFIDENTIAL_SECRET)
    check("confidential with secret", reply.status == 200, reply.body)
    basic = base64.b64encode(f"pam-confidential:{CONFIDENTIAL_SECRET}".encode()).decode()
    reply = t.request("POST", "/oauth/token", headers={"Authorization": f"Basic {basic}"}, form={
        "grant_type": "password", "username": "a0bob", "password": "Secret-a0bob-1", "scope": "openid"})
    check("password grant + client_secret_basic", reply.status == 200, reply.body)

    check_error("blocked user", t.login("a0blocked"), 403, "invalid_grant", "user is blocked")
    t.control("POST", "user", {"username": "a0bob", "brute_force": True})
    reply = t.login("a0bob")
    check_error("brute force", reply, 429, "too_many_attempts")
    check("brute force text", "multiple consecutive login attempts" in reply.json["error_description"])
    reply = t.login("a0unverified")
    check("unverified email", claims_of(reply.json["id_token"])["email_verified"] is False)

    t.request("POST", "/oauth/token", headers={"auth0-forwarded-for": "203.0.113.7"}, form={
        "grant_type": REALM_GRANT, "client_id": "pam-native", "username": "a0alice",
        "password": "Secret-a0alice-1", "realm": DB})
    record = t.control("GET", "log")[-1]
    check("log record fields", record["auth0_forwarded_for"] == "203.0.113.7" and record["status"] == 200
          and record["grant_type"] == REALM_GRANT and record["client_id"] == "pam-native"
          and record["username"] == "a0alice" and record["realm"] == DB and record["has_authorization"] is False
          and record["content_type"] == "application/x-www-form-urlencoded"
          and record["user_agent"] == "fake-tenant-selftest", record)
    check("public client: the header is not the counted IP", record["ip"] == "127.0.0.1"
          and record["client_ip"] == "127.0.0.1" and record["user_id"] == "6a0000000000000000000001", record)
    t.reset()


def start_mfa(t, username, client_id="pam-native", scope=FULL_SCOPE, **extra):
    reply = t.login(username, client_id=client_id, scope=scope, **extra)
    check(f"{username}: mfa_required", reply.status == 403 and reply.json["error"] == "mfa_required"
          and reply.json["error_description"] == "Multifactor authentication required", reply.body)
    return reply.json


def challenge(t, mfa_token, **params):
    return t.request("POST", "/mfa/challenge", json_body={"client_id": "pam-native", "mfa_token": mfa_token,
                                                          **params})


def test_mfa_otp(t):
    mfa = start_mfa(t, "a0otp")
    token = mfa["mfa_token"]
    check("otp requirements", mfa["mfa_requirements"] == {"challenge": [{"type": "otp"}]}, mfa)
    reply = t.request("GET", "/mfa/authenticators", headers={"Authorization": f"Bearer {token}"})
    check("authenticators list", reply.json == [{"id": "totp|dev_a0otpTotp000001", "authenticator_type": "otp",
                                                 "active": True}], reply.body)
    check_error("authenticators without bearer", t.request("GET", "/mfa/authenticators"), 401, "access_denied")
    check_error("authenticators bad bearer",
                t.request("GET", "/mfa/authenticators", headers={"Authorization": "Bearer junk"}),
                401, "invalid_grant", "Malformed mfa_token")
    reply = challenge(t, token, challenge_type="otp", authenticator_id="totp|dev_a0otpTotp000001")
    check("otp challenge", reply.status == 200 and reply.json == {"challenge_type": "otp"}, reply.body)
    check_error("oob challenge for otp user", challenge(t, token, challenge_type="oob"), 401,
                "unsupported_challenge_type")
    check_error("wrong otp", t.token(grant_type=OTP_GRANT, client_id="pam-native", mfa_token=token, otp="987654"),
                403, "invalid_grant", "Invalid otp_code.")
    check_error("garbage mfa_token", t.token(grant_type=OTP_GRANT, client_id="pam-native", mfa_token="junk",
                                             otp="987654"), 403, "invalid_grant", "Malformed mfa_token")
    check_error("mfa grant not enabled", t.token(grant_type=OTP_GRANT, client_id="no-mfa-grants",
                                                 mfa_token=token, otp="987654"), 403, "unauthorized_client")
    reply = t.token(grant_type=OTP_GRANT, client_id="pam-native", mfa_token=token,
                    otp=totp("JBSWY3DPEHPK3PXP", time.time() - 30))
    check("otp (previous step) accepted", reply.status == 200 and "refresh_token" in reply.json
          and reply.json["scope"] == FULL_SCOPE, reply.body)
    check("otp tokens are a0otp's", claims_of(reply.json["id_token"])["https://example.com/posix_user"] == "a0otp")
    record = t.control("GET", "log")[-1]
    check("mfa grant logged with username", record["username"] == "a0otp" and record["grant_type"] == OTP_GRANT)

    t.control("POST", "expire-mfa-tokens")
    check_error("expired mfa_token", t.token(grant_type=OTP_GRANT, client_id="pam-native", mfa_token=token,
                                             otp=totp("JBSWY3DPEHPK3PXP", time.time())),
                403, "expired_token", "mfa_token is expired")
    check_error("expired mfa_token on authenticators",
                t.request("GET", "/mfa/authenticators", headers={"Authorization": f"Bearer {token}"}),
                401, "expired_token", "mfa_token is expired")
    t.control("POST", "settings", {"mfa_token_lifetime": 0})
    short = start_mfa(t, "a0otp")["mfa_token"]
    check_error("mfa_token_lifetime setting", t.token(grant_type=OTP_GRANT, client_id="pam-native",
                                                      mfa_token=short, otp="987654"), 403, "expired_token")
    t.control("POST", "settings", {"mfa_token_lifetime": 600})
    other = start_mfa(t, "a0otp", client_id="pam-confidential", scope="openid", client_secret=CONFIDENTIAL_SECRET)
    check_error("mfa_token of another client", t.token(grant_type=OTP_GRANT, client_id="pam-native",
                                                       mfa_token=other["mfa_token"], otp="987654"),
                400, "invalid_request", "mfa_token not issued to this client")
    t.reset()


def poll(t, mfa_token, oob_code, **extra):
    return t.token(grant_type=OOB_GRANT, client_id="pam-native", mfa_token=mfa_token, oob_code=oob_code, **extra)


def test_mfa_push(t):
    token = start_mfa(t, "a0push")["mfa_token"]
    reply = challenge(t, token, challenge_type="otp oob", authenticator_id="push|dev_a0pushPush00001")
    check("push challenge", reply.status == 200 and set(reply.json) == {"challenge_type", "oob_code"}
          and reply.json["challenge_type"] == "oob", reply.body)
    code = reply.json["oob_code"]
    pending = "Authorization pending: please repeat the request in a few seconds."
    check_error("push poll 1 pending", poll(t, token, code), 400, "authorization_pending", pending)
    check_error("push poll 2 pending", poll(t, token, code), 400, "authorization_pending", pending)
    reply = poll(t, token, code)
    check("push poll 3 approved", reply.status == 200 and "access_token" in reply.json, reply.body)
    check_error("used oob_code", poll(t, token, code), 403, "expired_token", "oob_code is invalid")
    check_error("garbage oob_code", poll(t, token, "junk"), 403, "expired_token", "oob_code is invalid")

    token = start_mfa(t, "a0reject")["mfa_token"]
    code = challenge(t, token, challenge_type="oob").json["oob_code"]
    check_error("reject poll 1 pending", poll(t, token, code), 400, "authorization_pending")
    check_error("reject poll 2 rejected", poll(t, token, code), 403, "invalid_grant", "MFA Authorization rejected.")

    t.control("POST", "settings", {"min_poll_interval": 5})
    token = start_mfa(t, "a0push")["mfa_token"]
    code = challenge(t, token, challenge_type="oob").json["oob_code"]
    check_error("first poll pending", poll(t, token, code), 400, "authorization_pending")
    check_error("fast poll slow_down", poll(t, token, code), 400, "slow_down")
    t.control("POST", "settings", {"min_poll_interval": 0})
    t.control("POST", "user", {"username": "a0push", "mfa": [
        {"id": "push|dev_x", "authenticator_type": "oob", "oob_channel": "auth0", "push": {"never": True}}]})
    token = start_mfa(t, "a0push")["mfa_token"]
    code = challenge(t, token).json["oob_code"]
    check("never-answered push stays pending",
          all(poll(t, token, code).json["error"] == "authorization_pending" for _ in range(4)))
    stats = t.control("GET", "stats")
    check("challenges counted per user", stats["challenges"] == {"a0push": 3, "a0reject": 1}, stats["challenges"])
    t.reset()


def test_mfa_sms_and_multi(t):
    token = start_mfa(t, "a0sms")["mfa_token"]
    reply = challenge(t, token, challenge_type="oob", authenticator_id="sms|dev_a0smsSms0000001")
    check("sms challenge has binding_method", reply.status == 200 and reply.json["binding_method"] == "prompt"
          and reply.json["challenge_type"] == "oob", reply.body)
    code = reply.json["oob_code"]
    check_error("sms without binding_code", poll(t, token, code), 400, "invalid_request", "binding_code is required")
    check_error("sms wrong binding_code", poll(t, token, code, binding_code="987654"), 403, "invalid_grant",
                "Invalid binding_code.")
    reply = poll(t, token, code, binding_code="123456")
    check("sms right binding_code", reply.status == 200 and "id_token" in reply.json, reply.body)

    mfa = start_mfa(t, "a0multi")
    check("multi requirements", mfa["mfa_requirements"] == {"challenge": [
        {"type": "otp"}, {"type": "push-notification"}, {"type": "phone"}, {"type": "recovery-code"}]}, mfa)
    listed = t.request("GET", "/mfa/authenticators",
                       headers={"Authorization": f"Bearer {mfa['mfa_token']}"}).json
    check("multi lists five authenticators", [a["id"].split("|")[0] for a in listed]
          == ["totp", "push", "sms", "email", "recovery-code"], listed)
    check("inactive authenticator shown inactive", listed[3]["active"] is False and listed[3]["oob_channel"] == "email")
    check("authenticators never show secrets", not any(
        k in a for a in listed for k in ("totp_secret", "binding_code", "recovery_code", "push")))
    check_error("inactive authenticator cannot be challenged",
                challenge(t, mfa["mfa_token"], challenge_type="oob", authenticator_id="email|dev_a0multiEmail001"),
                401, "unsupported_challenge_type")

    mfa = start_mfa(t, "a0noenroll")
    check("noenroll requirements", mfa["mfa_requirements"] == {"enroll": [
        {"type": "otp"}, {"type": "push-notification"}, {"type": "phone"}]}, mfa)
    check_error("noenroll challenge", challenge(t, mfa["mfa_token"], challenge_type="otp oob"),
                400, "association_required")
    listed = t.request("GET", "/mfa/authenticators", headers={"Authorization": f"Bearer {mfa['mfa_token']}"})
    check("noenroll has no authenticators", listed.status == 200 and listed.json == [])
    t.reset()


def test_mfa_recovery(t):
    token = start_mfa(t, "a0recovery")["mfa_token"]
    reply = t.token(grant_type=RECOVERY_GRANT, client_id="pam-native", mfa_token=token,
                    recovery_code="ABCDEFGHJKLMNPQRSTUVWXYZ")
    new_code = (reply.json or {}).get("recovery_code", "")
    check("recovery code accepted, new one issued", reply.status == 200 and len(new_code) == 24
          and new_code != "ABCDEFGHJKLMNPQRSTUVWXYZ" and "access_token" in reply.json, reply.body)
    check_error("old recovery code spent", t.token(grant_type=RECOVERY_GRANT, client_id="pam-native",
                                                   mfa_token=token, recovery_code="ABCDEFGHJKLMNPQRSTUVWXYZ"),
                403, "invalid_grant", "Invalid recovery_code.")
    reply = t.token(grant_type=RECOVERY_GRANT, client_id="pam-native", mfa_token=token, recovery_code=new_code)
    check("new recovery code works", reply.status == 200 and reply.json["recovery_code"] != new_code)
    t.reset()
    token = start_mfa(t, "a0recovery")["mfa_token"]
    reply = t.token(grant_type=RECOVERY_GRANT, client_id="pam-native", mfa_token=token,
                    recovery_code="ABCDEFGHJKLMNPQRSTUVWXYZ")
    check("reset restores the recovery code", reply.status == 200)
    t.reset()


def associate(t, mfa_token, client_id="pam-native", **body):
    headers = {"Authorization": f"Bearer {mfa_token}"} if mfa_token else {}
    return t.request("POST", "/mfa/associate", json_body={"client_id": client_id, **body}, headers=headers)


def authenticators(t, mfa_token):
    return t.request("GET", "/mfa/authenticators", headers={"Authorization": f"Bearer {mfa_token}"}).json


def test_mfa_associate(t):
    """Enrolment with the mfa_token of a user with no authenticator (issue 17)."""
    token = start_mfa(t, "a0noenroll")["mfa_token"]
    check_error("associate without a bearer", associate(t, None, authenticator_types=["otp"]),
                401, "access_denied", "Unauthorized")
    check_error("associate with an unknown mfa_token", associate(t, "nope-nope-nope", authenticator_types=["otp"]),
                401, "invalid_grant", "Malformed mfa_token")
    check_error("associate without authenticator_types", associate(t, token), 400, "invalid_request")
    reply = associate(t, token, authenticator_types=["otp"])
    body = reply.json or {}
    t.secrets_seen.add(body.get("secret", "-"))
    check("otp associate answers secret, barcode_uri, recovery_codes",
          reply.status == 200 and body.get("authenticator_type") == "otp"
          and re.fullmatch(r"[A-Z2-7]{32}", body.get("secret", "")) is not None
          and body.get("barcode_uri", "").startswith("otpauth://totp/fake-tenant%3Aa0noenroll%40example.com?secret=")
          and len(body.get("recovery_codes", [])) == 1, reply.body)
    secret, recovery = body.get("secret", ""), (body.get("recovery_codes") or ["-"])[0]
    listed = authenticators(t, token)
    check("an unconfirmed authenticator is listed inactive",
          [(a["authenticator_type"], a["active"]) for a in listed] == [("otp", False), ("recovery-code", False)]
          and not any("_enrolling" in a or "totp_secret" in a for a in listed), listed)
    check_error("a wrong first code", t.token(grant_type=OTP_GRANT, client_id="pam-native", mfa_token=token,
                                               otp="246813" if totp(secret, time.time()) != "246813" else "135792"),
                403, "invalid_grant", "Invalid otp_code.")
    reply = t.token(grant_type=OTP_GRANT, client_id="pam-native", mfa_token=token, otp=totp(secret, time.time()))
    check("the first code confirms the enrolment and signs in", reply.status == 200 and "id_token" in reply.json,
          reply.body)
    check("confirmed: active", all(a["active"] for a in authenticators(t, token)))
    mfa = start_mfa(t, "a0noenroll")
    check("after enrolment a login is challenged", mfa["mfa_requirements"] == {"challenge": [
        {"type": "otp"}, {"type": "recovery-code"}]}, mfa)
    check_error("an enrolled user's mfa_token may not enrol", associate(t, mfa["mfa_token"], authenticator_types=["otp"]),
                403, "access_denied", "User is already enrolled.")
    reply = t.token(grant_type=OTP_GRANT, client_id="pam-native", mfa_token=mfa["mfa_token"],
                    otp=totp(secret, time.time()))
    check("a normal OTP login with the enrolled secret", reply.status == 200, reply.body)
    reply = t.token(grant_type=RECOVERY_GRANT, client_id="pam-native", mfa_token=mfa["mfa_token"],
                    recovery_code=recovery)
    check("the enrolment's recovery code works", reply.status == 200, reply.body)
    t.reset()

    token = start_mfa(t, "a0noenroll")["mfa_token"]
    check_error("sms without a phone number", associate(t, token, authenticator_types=["oob"], oob_channels=["sms"]),
                400, "invalid_request")
    check_error("sms with a number not E.164", associate(t, token, authenticator_types=["oob"], oob_channels=["sms"],
                                                        phone_number="0151 1234567"), 400, "invalid_request")
    reply = associate(t, token, authenticator_types=["oob"], oob_channels=["sms"], phone_number="+4915112345678")
    body = reply.json or {}
    check("sms associate answers oob_code, binding_method prompt, recovery_codes",
          reply.status == 200 and body.get("authenticator_type") == "oob" and body.get("oob_channel") == "sms"
          and body.get("binding_method") == "prompt" and body.get("oob_code") and len(body.get("recovery_codes", [])) == 1,
          reply.body)
    sent = [m for m in t.control("GET", "outbox") if m["template"] == "mfa_enrollment"]
    check("the code went by SMS to the number", len(sent) == 1 and sent[0]["to"] == "+4915112345678"
          and sent[0]["channel"] == "sms" and re.fullmatch(r"[0-9]{6}", sent[0]["code"]), sent)
    t.secrets_seen.add(sent[0]["code"] if sent else "-")
    wrong = "246813" if not sent or sent[0]["code"] != "246813" else "135792"
    check_error("a wrong binding code", poll(t, token, body.get("oob_code"), binding_code=wrong),
                403, "invalid_grant", "Invalid binding_code.")
    reply = poll(t, token, body.get("oob_code"), binding_code=sent[0]["code"] if sent else "-")
    check("the binding code confirms the SMS enrolment", reply.status == 200 and "id_token" in reply.json, reply.body)
    mfa = start_mfa(t, "a0noenroll")
    check("after SMS enrolment a login is challenged by phone", mfa["mfa_requirements"] == {"challenge": [
        {"type": "phone"}, {"type": "recovery-code"}]}, mfa)
    t.reset()

    token = start_mfa(t, "a0noenroll")["mfa_token"]
    t.control("POST", "associate", {"barcode_uri": "javascript:alert(1)\x1b[2J"})
    reply = associate(t, token, authenticator_types=["otp"])
    check("a hostile barcode_uri is served when asked", reply.status == 200
          and reply.json["barcode_uri"] == "javascript:alert(1)\x1b[2J", reply.body)
    t.reset()
    token = start_mfa(t, "a0noenroll")["mfa_token"]
    check("reset forgets the override", associate(t, token, authenticator_types=["otp"]).json["barcode_uri"]
          .startswith("otpauth://"))
    t.reset()


def change_password(t, **body):
    return t.request("POST", "/dbconnections/change_password", json_body=body)


def test_change_password(t):
    reply = change_password(t, client_id="pam-native", email="a0alice@example.com", connection=DB)
    check("change_password answers Auth0's text", reply.status == 200
          and reply.body == b"We've just sent you an email to reset your password."
          and reply.headers.get("content-type", "").startswith("text/html"), reply.body)
    mail = t.control("GET", "outbox")
    check("the mail is in the outbox", mail == [{"channel": "email", "to": "a0alice@example.com",
                                                  "template": "change_password", "connection": DB,
                                                  "client_id": "pam-native",
                                                  "user_id": "6a0000000000000000000001"}], mail)
    reply = change_password(t, client_id="pam-native", email="nobody@example.com", connection=DB)
    check("an unknown address gets the same answer and no mail", reply.status == 200
          and reply.body == b"We've just sent you an email to reset your password."
          and len(t.control("GET", "outbox")) == 1, reply.body)
    reply = change_password(t, client_id="pam-native", email="a0alice", connection=DB)
    check("a username is no address: no mail", reply.status == 200 and len(t.control("GET", "outbox")) == 1)

    def bare(name, reply, text):
        check(name, reply.status == 400 and reply.json == {"error": text}, reply.body)

    bare("unknown connection", change_password(t, client_id="pam-native", email="a0alice@example.com",
                                               connection="No-Such-DB"), "connection not found")
    bare("missing email", change_password(t, client_id="pam-native", connection=DB),
         "Missing required property: email")
    bare("missing connection", change_password(t, client_id="pam-native", email="a0alice@example.com"),
         "Missing required property: connection")
    bare("email not a string", change_password(t, client_id="pam-native", email=5, connection=DB),
         "error in email - invalid type: number (expected string)")
    t.reset()
    check("reset empties the outbox", t.control("GET", "outbox") == [])


def test_refresh(t):
    rt1 = t.login("a0alice").json["refresh_token"]
    reply = t.refresh(rt1)
    rt2 = reply.json.get("refresh_token")
    check("rotation returns a new refresh token", reply.status == 200 and rt2 and rt2 != rt1, reply.body)
    check("refresh reissues id token", "id_token" in reply.json and reply.json["scope"] == FULL_SCOPE)
    check_error("reuse of rotated token", t.refresh(rt1), 403, "invalid_grant", "Unknown or invalid refresh token.")
    check_error("reuse revoked the family", t.refresh(rt2), 403, "invalid_grant", "Unknown or invalid refresh token.")
    log = t.control("GET", "log")
    reuse = log[-2]
    check("reuse logged", reuse["reuse_detected"] is True and reuse["rt_sha"] == hashlib.sha256(rt1.encode())
          .hexdigest()[:12] and reuse["rt_family"] == log[-3]["rt_family"] and reuse["username"] == "a0alice", reuse)
    stats = t.control("GET", "stats")
    check("refresh stats", stats["refresh_requests"] == 3 and stats["reuse_detected"] == 1
          and stats["revoked_families"] == 1, stats)
    check_error("unknown refresh token", t.refresh("junk"), 403, "invalid_grant")

    t.control("POST", "client", {"client_id": "pam-native", "reuse_interval": 30})
    rt1 = t.login("a0alice").json["refresh_token"]
    rt2 = t.refresh(rt1).json["refresh_token"]
    reply = t.refresh(rt1)
    check("previous token accepted within reuse interval", reply.status == 200 and reply.json["refresh_token"]
          not in (rt1, rt2), reply.body)
    check("leeway keeps the newer token", t.refresh(rt2).status == 200)
    check_error("older token outside leeway is reuse", t.refresh(rt1), 403, "invalid_grant")
    t.control("POST", "client", {"client_id": "pam-native", "reuse_interval": 0})

    conf = {"client_id": "pam-confidential", "client_secret": CONFIDENTIAL_SECRET}
    rt = t.login("a0alice", **conf).json["refresh_token"]
    first, second = t.refresh(rt, **conf), t.refresh(rt, **conf)
    check("non-rotating: no refresh_token in response", first.status == 200 and second.status == 200
          and "refresh_token" not in first.json and "refresh_token" not in second.json, first.body)
    check_error("refresh token of another client", t.refresh(rt), 403, "invalid_grant")

    rt = t.login("a0alice").json["refresh_token"]
    reply = t.refresh(rt, scope="openid")
    rt = reply.json["refresh_token"]
    check("scope narrowed", reply.status == 200 and reply.json["scope"] == "openid"
          and claims_of(reply.json["access_token"])["scope"] == "openid", reply.body)
    check_error("scope widened", t.refresh(rt, scope="openid admin"), 400, "invalid_scope")
    reply = t.refresh(rt, audience=OTHER_API)
    rt = reply.json["refresh_token"]
    check("multi-resource refresh", reply.status == 200
          and claims_of(reply.json["access_token"])["aud"][0] == OTHER_API, reply.body)
    check_error("audience unknown", t.refresh(rt, audience="https://nope.example.com/"), 403, "access_denied",
                "Service not found: https://nope.example.com/")
    reply = t.refresh(rt, audience=f"urn:localhost:{t.port}:session_transfer")
    check("session transfer", reply.status == 200 and reply.json["issued_token_type"]
          == "urn:auth0:params:oauth:token-type:session_transfer_token" and reply.json["token_type"] == "N_A"
          and reply.json["expires_in"] == 60 and "refresh_token" in reply.json
          and reply.json["access_token"].count(".") == 0, reply.body)
    rt = reply.json["refresh_token"]
    rt_conf = t.login("a0alice", **conf).json["refresh_token"]
    check_error("audience not in refresh policy", t.refresh(rt_conf, audience=OTHER_API, **conf),
                403, "access_denied")
    reply = t.refresh(rt_conf, audience=f"urn:localhost:{t.port}:session_transfer", **conf)
    check("session transfer without rotation", reply.status == 200 and "refresh_token" not in reply.json)
    t.control("POST", "user", {"username": "a0alice", "blocked": True})
    check_error("refresh for blocked user", t.refresh(rt), 403, "invalid_grant", "user is blocked")
    t.reset()


def test_revoke_and_userinfo(t):
    rt = t.login("a0alice").json["refresh_token"]
    reply = t.request("POST", "/oauth/revoke", form={"client_id": "pam-native", "token": rt})
    check("revoke 200 empty", reply.status == 200 and reply.body == b"", reply.body)
    check_error("revoked token refused", t.refresh(rt), 403, "invalid_grant", "Unknown or invalid refresh token.")
    record = t.control("GET", "log")[-2]
    check("revoke logged", record["path"] == "/oauth/revoke" and record["rt_sha"] ==
          hashlib.sha256(rt.encode()).hexdigest()[:12] and record["rt_family"], record)
    reply = t.request("POST", "/oauth/revoke", json_body={"client_id": "pam-native", "token": "unknown"})
    check("revoke of an unknown token is 200", reply.status == 200)
    check_error("revoke without token", t.request("POST", "/oauth/revoke", form={"client_id": "pam-native"}),
                400, "invalid_request", "Missing required parameter: token")
    check_error("revoke with bad client auth", t.request("POST", "/oauth/revoke", form={
        "client_id": "pam-confidential", "token": "x"}), 401, "invalid_client")
    check("revoked_families counted", t.control("GET", "stats")["revoked_families"] == 1)

    at = t.login("a0alice").json["access_token"]
    reply = t.request("GET", "/userinfo", headers={"Authorization": f"Bearer {at}"})
    check("userinfo", reply.status == 200 and reply.json["sub"] == "auth0|6a0000000000000000000001"
          and reply.json["email"] == "a0alice@example.com"
          and reply.json["https://example.com/groups"] == ["admins", "dev"], reply.body)
    reply = t.request("GET", "/userinfo", headers={"Authorization": "Bearer junk"})
    check("userinfo bad token: 401 text", reply.status == 401 and reply.body == b"Unauthorized"
          and reply.headers["content-type"].startswith("text/plain"))
    no_openid = t.login("a0alice", scope="profile", audience=None).json["access_token"]
    check("userinfo needs openid", t.request("GET", "/userinfo", headers={
        "Authorization": f"Bearer {no_openid}"}).status == 401)
    t.reset()


def test_id_token_modes(t):
    jwks = t.jwks()
    kid = jwks["keys"][0]["kid"]
    now = time.time()

    def id_token_in(mode):
        t.control("POST", "settings", {"id_token_mode": mode})
        return t.login("a0alice", scope="openid profile email").json

    good = id_token_in("good")["id_token"]
    check("mode good verifies", verifies(good, jwks))
    token = id_token_in("alg_none")["id_token"]
    check("mode alg_none", jwt_parts(token)[0] == {"alg": "none", "typ": "JWT"} and token.endswith("."))
    token = id_token_in("hs256_pubkey")["id_token"]
    header_b64, payload_b64, signature_b64 = token.split(".")
    mac = hmac.new(public_pem(jwks["keys"][0]), f"{header_b64}.{payload_b64}".encode(), hashlib.sha256).digest()
    check("mode hs256_pubkey signed with the public PEM", jwt_parts(token)[0]["alg"] == "HS256"
          and mac == b64url_decode(signature_b64))
    token = id_token_in("wrong_key")["id_token"]
    check("mode wrong_key", jwt_parts(token)[0]["kid"] == kid and not verifies(token, jwks))
    token = id_token_in("unknown_kid")["id_token"]
    check("mode unknown_kid", jwt_parts(token)[0]["kid"] not in [k["kid"] for k in jwks["keys"]])
    for mode, bad in (("wrong_iss", lambda c: c["iss"] != t.issuer),
                      ("wrong_aud", lambda c: c["aud"] != "pam-native"),
                      ("expired", lambda c: c["exp"] < now),
                      ("future_iat", lambda c: c["iat"] > now + 3000),
                      ("future_nbf", lambda c: c["nbf"] > now + 3000)):
        token = id_token_in(mode)["id_token"]
        check(f"mode {mode}", verifies(token, jwks) and bad(claims_of(token)))
    token = id_token_in("truncated")["id_token"]
    check("mode truncated", len(token) < len(good) and not verifies(token, jwks))
    check("mode three_dots", id_token_in("three_dots")["id_token"] == "a.b.c.d")
    token = id_token_in("huge")["id_token"]
    check("mode huge", len(token) >= 200_000 and verifies(token, jwks))
    token = id_token_in("non_json_payload")["id_token"]
    check("mode non_json_payload", verifies(token, jwks) and jwt_parts(token)[1] == b"this payload is not JSON")
    body = id_token_in("missing")
    check("mode missing", "id_token" not in body and "access_token" in body)
    t.control("POST", "settings", {"id_token_mode": "good", "access_token_lifetime": 120})
    body = t.login("a0alice").json
    check("access_token_lifetime setting", body["expires_in"] == 120)

    fetches = t.control("GET", "stats")["jwks_fetches"]
    rotated = t.control("POST", "rotate-key")
    jwks2 = t.jwks()
    check("rotate-key: JWKS lists new then old", [k["kid"] for k in jwks2["keys"]] == [rotated["kid"], kid])
    body = t.login("a0alice").json
    check("new tokens use the new key", jwt_parts(body["id_token"])[0]["kid"] == rotated["kid"]
          and verifies(body["access_token"], jwks2))
    check("old tokens still verify", verifies(good, jwks2))
    check("jwks fetches counted", t.control("GET", "stats")["jwks_fetches"] == fetches + 1)
    t.reset()
    check("reset restores the first key", [k["kid"] for k in t.jwks()["keys"]] == [kid])
    check("reset restores settings", t.control("GET", "settings")["access_token_lifetime"] == 86400)
    t.reset()


def fault(t, path, kind, **params):
    t.control("POST", "fault", {"path": path, "kind": kind, **params})


def test_faults(t):
    fault(t, "/.well-known/jwks.json", "delay", seconds=0.3)
    start = time.time()
    reply = t.request("GET", "/.well-known/jwks.json")
    check("fault delay", reply.status == 200 and time.time() - start >= 0.3)
    check("a fault applies once by default", t.request("GET", "/.well-known/jwks.json").status == 200)

    fault(t, "/oauth/token", "status", status=503, body={"error": "temporarily_unavailable"},
          headers={"X-Test": "yes"})
    reply = t.login("a0alice")
    check("fault status", reply.status == 503 and reply.json == {"error": "temporarily_unavailable"}
          and reply.headers.get("x-test") == "yes", reply.body)

    for kind, params in (("drop", {}), ("silence", {"seconds": 0.4})):
        fault(t, "/oauth/token", kind, **params)
        start = time.time()
        try:
            t.login("a0alice")
            check(f"fault {kind}", False, "got an answer")
        except (http.client.HTTPException, ConnectionError) as err:
            waited = time.time() - start
            check(f"fault {kind}", waited >= params.get("seconds", 0), f"{err!r} after {waited:.2f}s")

    fault(t, "/oauth/token", "garbage")
    reply = t.login("a0alice")
    check("fault garbage", reply.status == 200 and reply.json is None and reply.body)

    fault(t, "/oauth/token", "truncated")
    try:
        t.login("a0alice")
        check("fault truncated", False, "complete answer")
    except http.client.IncompleteRead as err:
        check("fault truncated", len(err.partial) > 0)
    check("truncated answer was processed by the tenant", t.control("GET", "log")[-1]["status"] == 200)

    fault(t, "/.well-known/jwks.json", "huge", bytes=1 << 20)
    reply = t.request("GET", "/.well-known/jwks.json")
    check("fault huge", reply.status == 200 and len(reply.body) == 1 << 20
          and reply.headers["content-length"] == str(1 << 20))

    fault(t, "/oauth/token", "slow_body", interval=0.01)
    start = time.time()
    reply = t.token(client_id="pam-native")
    check("fault slow_body", reply.json["error"] == "invalid_request" and time.time() - start >= 0.5)

    fault(t, "/oauth/token", "rate_limit", retry_after=7)
    reply = t.login("a0alice")
    check_error("fault rate_limit", reply, 429, "too_many_requests", "Global limit has been reached")
    check("rate limit headers", reply.headers.get("retry-after") == "7" and reply.headers.get(
        "x-ratelimit-remaining") == "0" and int(reply.headers["x-ratelimit-reset"]) > time.time())

    fault(t, "/oauth/token", "wrong_content_type")
    reply = t.login("a0alice")
    check("fault wrong_content_type", reply.headers["content-type"] == "text/html" and "access_token" in reply.json)

    fault(t, "*", "status", count=-1, status=500)
    statuses = [t.request("GET", p).status for p in ("/.well-known/jwks.json", "/userinfo", "/nope")]
    check("path * until cleared", statuses == [500, 500, 500], statuses)
    check("control unaffected by faults", t.control("GET", "stats")["requests"] > 0)
    t.request("DELETE", "/__control/fault")
    check("DELETE clears faults", t.request("GET", "/.well-known/jwks.json").status == 200)
    fault(t, "/.well-known/jwks.json", "status", count=2, status=502)
    statuses = [t.request("GET", "/.well-known/jwks.json").status for _ in range(3)]
    check("fault count", statuses == [502, 502, 200], statuses)
    kinds = [r["fault"] for r in t.control("GET", "log") if r["fault"]]
    check("faults logged", kinds[:3] == ["delay", "status", "drop"], kinds)
    reply = t.request("POST", "/__control/fault", json_body={"path": "/x", "kind": "nope"})
    check("bad fault rejected", reply.status == 400)
    t.reset()


OTHER_DB = "Other-DB"
STRONG = "Str0ng-Passw0rd"
NEWBIE = {"client_id": "pam-native", "connection": DB, "email": "NewBie@Example.com", "username": "a0newbie",
          "password": STRONG, "given_name": "Newt", "family_name": "Bie", "name": "Newt Bie",
          "nickname": "newbie-nick", "user_metadata": {"team": "ops"}}


def signup(t, **fields):
    return t.request("POST", "/dbconnections/signup", json_body=fields)


def check_body(name, reply, status, body):
    check(name, reply.status == status and reply.json == body
          and list(reply.json) == list(body), f"got {reply.status} {reply.body[:400]!r}")


INVALID_SIGNUP = {"name": "BadRequestError", "code": "invalid_signup", "description": "Invalid sign up",
                  "statusCode": 400}


def test_signup(t):
    reply = signup(t, **NEWBIE)
    body = reply.json or {}
    user_id = body.get("_id", "")
    check("signup 200", reply.status == 200, reply.body)
    check("signup body is the created user", list(body) == ["_id", "email_verified", "email", "username",
                                                          "given_name", "family_name", "name", "nickname"]
          and body["email"] == "newbie@example.com" and body["email_verified"] is False
          and body["username"] == "a0newbie" and body["nickname"] == "newbie-nick" and body["name"] == "Newt Bie",
          body)
    check("signup _id is 24 hex digits, no auth0| prefix", len(user_id) == 24
          and all(c in "0123456789abcdef" for c in user_id), user_id)
    record = t.control("GET", "log")[-1]
    check("signup logged", record["path"] == "/dbconnections/signup" and record["status"] == 200
          and record["client_id"] == "pam-native" and record["realm"] == DB and record["username"] == "a0newbie"
          and record["user_id"] == user_id and record["error"] is None, record)
    check("signup counted", t.control("GET", "stats")["signups"] == 1)

    reply = t.login("a0newbie", password=STRONG)
    check("signed-up user signs in with the username", reply.status == 200, reply.body)
    idt = claims_of(reply.json["id_token"])
    check("ID token: chosen nickname and sub auth0|_id", idt["nickname"] == "newbie-nick"
          and idt["sub"] == f"auth0|{user_id}" and idt["email"] == "newbie@example.com"
          and idt["email_verified"] is False and idt["given_name"] == "Newt" and idt["name"] == "Newt Bie", idt)
    check("access token sub", claims_of(reply.json["access_token"])["sub"] == f"auth0|{user_id}")
    reply = t.login("NEWBIE@example.com", password=STRONG)
    check("signed-up user signs in with the email", reply.status == 200, reply.body)
    check_error("signed-up user, wrong password", t.login("a0newbie", password="Wrong-Passw0rd"), 403,
                "invalid_grant", "Wrong email or password.")

    reply = signup(t, client_id="pam-native", connection=OTHER_DB, email="plain.user@example.com",
                   password="abcdef", username="ignored")
    check("signup without usernames: no username, nickname not echoed", reply.status == 200
          and list(reply.json) == ["_id", "email_verified", "email"], reply.body)
    plain_id = reply.json["_id"]
    reply = t.login("plain.user@example.com", password="abcdef", realm=OTHER_DB)
    idt = claims_of(reply.json["id_token"]) if reply.status == 200 else {}
    check("nickname defaults to the email's local part", idt.get("nickname") == "plain.user"
          and idt.get("sub") == f"auth0|{plain_id}", reply.body)
    refreshed = t.refresh(reply.json["refresh_token"])
    check("an email-only user's refresh token works", refreshed.status == 200
          and claims_of(refreshed.json["id_token"])["sub"] == f"auth0|{plain_id}", refreshed.body)
    info = t.request("GET", "/userinfo", headers={"Authorization": f"Bearer {refreshed.json['access_token']}"})
    check("userinfo of an email-only user", info.status == 200 and info.json["nickname"] == "plain.user"
          and info.json["email"] == "plain.user@example.com"
          and t.control("GET", "log")[-1]["username"] == "plain.user@example.com", info.body)
    check_error("a connection without usernames has no username login", t.login("ignored", password="abcdef",
                                                                                 realm=OTHER_DB),
                403, "invalid_grant")
    check("form-encoded signup", t.request("POST", "/dbconnections/signup", form={
        "client_id": "pam-native", "connection": OTHER_DB, "email": "form2@example.com",
        "password": "abcdef"}).status == 200)

    reply = signup(t, **{**NEWBIE, "username": "a0weak", "email": "weak@example.com", "password": "short"})
    policy = ("* At least 8 characters in length\n* Contain at least 3 of the following 4 types of characters:\n"
              " * lower case letters (a-z)\n * upper case letters (A-Z)\n * numbers (i.e. 0-9)\n"
              " * special characters (e.g. !@#$%^&*)")
    check_body("weak password: PasswordStrengthError", reply, 400, {
        "name": "PasswordStrengthError", "message": "Password is too weak", "code": "invalid_password",
        "description": {"rules": [
            {"message": "At least %d characters in length", "format": [8], "code": "lengthAtLeast",
             "verified": False},
            {"message": "Contain at least %d of the following %d types of characters:", "code": "containsAtLeast",
             "format": [3, 4], "items": [
                 {"message": "lower case letters (a-z)", "code": "lowerCase", "verified": True},
                 {"message": "upper case letters (A-Z)", "code": "upperCase", "verified": False},
                 {"message": "numbers (i.e. 0-9)", "code": "numbers", "verified": False},
                 {"message": "special characters (e.g. !@#$%^&*)", "code": "specialCharacters", "verified": False}],
             "verified": False}], "verified": False},
        "policy": policy, "statusCode": 400})
    check("weak password logged", t.control("GET", "log")[-1]["error"] == "invalid_password")
    t.control("POST", "connection", {"name": DB, "passwordPolicy": "excellent"})
    reply = signup(t, **{**NEWBIE, "username": "a0weak", "email": "weak@example.com", "password": "Abcdefgh1!!!"})
    rules = ((reply.json or {}).get("description") or {}).get("rules", [])
    check("excellent policy: identical characters", reply.status == 400 and [r["code"] for r in rules]
          == ["lengthAtLeast", "containsAtLeast", "identicalChars"] and rules[2]["verified"] is False
          and rules[2]["format"] == [2, "aaa"] and rules[0]["verified"] and rules[1]["verified"]
          and reply.json["policy"].endswith('* No more than 2 identical characters in a row (e.g., "aaa" not allowed)'),
          reply.body)
    t.control("POST", "connection", {"name": DB, "passwordPolicy": "fair"})
    reply = signup(t, **{**NEWBIE, "username": "a0weak", "email": "weak@example.com", "password": "abcdefgh!"})
    rules = ((reply.json or {}).get("description") or {}).get("rules", [])
    check("fair policy: should contain", reply.status == 400 and rules[1]["code"] == "shouldContain"
          and [i["code"] for i in rules[1]["items"]] == ["lowerCase", "upperCase", "numbers"], reply.body)
    t.control("POST", "connection", {"name": DB, "passwordPolicy": "good"})

    check_body("existing email (generic answer by default)",
               signup(t, **{**NEWBIE, "username": "a0other", "email": "a0alice@example.com"}), 400, INVALID_SIGNUP)
    check_body("existing username (generic answer by default)",
               signup(t, **{**NEWBIE, "email": "someone@example.com", "username": "a0alice"}), 400, INVALID_SIGNUP)
    t.control("POST", "settings", {"enable_public_signup_user_exists_error": True})
    check_body("existing email: user_exists", signup(t, **{**NEWBIE, "username": "a0other",
                                                            "email": "A0Alice@example.com"}),
               400, {"name": "BadRequestError", "code": "user_exists", "description": "The user already exists.",
                     "statusCode": 400})
    check_body("existing username: user_exists naming it",
               signup(t, **{**NEWBIE, "email": "someone@example.com", "username": "A0Newbie"}), 400,
               {"name": "BadRequestError", "code": "user_exists",
                "description": "The user already exists (username: a0newbie).", "statusCode": 400})
    check("same email in another connection is no conflict", signup(
        t, client_id="pam-native", connection=OTHER_DB, email="a0alice@example.com", password="abcdef").status == 200)
    check("log error of a db answer is its code", t.control("GET", "log")[-2]["error"] == "user_exists")
    t.control("POST", "settings", {"enable_public_signup_user_exists_error": False})

    def request_error(name, reply, text):
        check_body(name, reply, 400, {"error": text})

    base = {k: NEWBIE[k] for k in ("client_id", "connection", "password")}
    base.update(email="fresh@example.com", username="a0fresh")
    for field in ("client_id", "email", "password", "connection"):
        request_error(f"signup without {field}", signup(t, **{k: v for k, v in base.items() if k != field}),
                      f"Missing required property: {field}")
    request_error("signup username null", signup(t, **{**base, "username": None}),
                  "error in username - invalid type: null (expected string)")
    request_error("signup user_metadata not an object", signup(t, **{**base, "user_metadata": "x"}),
                  "error in user_metadata - invalid type: string (expected object)")
    request_error("signup unknown connection", signup(t, **{**base, "connection": "Nope"}), "connection not found")
    request_error("signup unknown client", signup(t, **{**base, "client_id": "nope"}), "Unknown client: nope")
    check_body("signup bad email", signup(t, **{**base, "email": "not-an-email"}), 400, INVALID_SIGNUP)
    check_body("signup missing required username", signup(t, **{k: v for k, v in base.items() if k != "username"}),
               400, INVALID_SIGNUP)
    check_body("signup username too long", signup(t, **{**base, "username": "a" * 16}), 400, INVALID_SIGNUP)
    check_body("signup username is an email", signup(t, **{**base, "username": "x@example.com"}), 400,
               INVALID_SIGNUP)
    check_body("signup username bad characters", signup(t, **{**base, "username": "a b"}), 400, INVALID_SIGNUP)
    check_body("signup user_metadata too big", signup(t, **{**base, "user_metadata": {
        str(i): "v" for i in range(11)}}), 400, INVALID_SIGNUP)
    t.control("POST", "connection", {"name": DB, "validation": {"username": {"max": 20}}})
    check("username length setting", signup(t, **{**base, "username": "a" * 16}).status == 200)

    t.control("POST", "connection", {"name": DB, "disable_signup": True})
    request_error("sign-up disabled", signup(t, **{**base, "email": "late@example.com", "username": "a0late"}),
                  "public signup is disabled")
    record = t.control("GET", "log")[-1]
    check("disabled sign-up logged", record["status"] == 400 and record["error"] == "public signup is disabled"
          and record["realm"] == DB, record)
    check_error("sign-up disabled: existing users still sign in", t.login("a0newbie", password="nope"), 403,
                "invalid_grant")
    t.control("POST", "connection", {"name": DB, "disable_signup": False})
    check("sign-up enabled again", signup(t, **{**base, "email": "late@example.com", "username": "a0late"}).status
          == 200)
    reply = t.request("POST", "/__control/connection", json_body={"name": "Nope", "disable_signup": True})
    check("control: unknown connection", reply.status == 400)
    reply = t.request("POST", "/__control/connection", json_body={"name": DB, "passwordPolicy": "silly"})
    check("control: bad password policy", reply.status == 400)
    t.control("POST", "user", {"username": "a0newbie", "nickname": "renamed"})
    reply = t.login("a0newbie", password=STRONG)
    check("control/user reaches a signed-up user", claims_of(reply.json["id_token"])["nickname"] == "renamed")
    t.reset()
    check_error("reset removes signed-up users", t.login("a0newbie", password=STRONG), 403, "invalid_grant")
    check("reset restores connection settings", signup(t, **{**base, "username": "a" * 16}).status == 400)
    t.reset()


TOO_MANY = ("Your account has been blocked after multiple consecutive login attempts. "
            "We’ve sent you an email with instructions on how to unblock it.")
CONF = {"client_id": "pam-confidential", "client_secret": CONFIDENTIAL_SECRET}


def login_from(t, username, forwarded=None, password=None, **extra):
    headers = {"auth0-forwarded-for": forwarded} if forwarded else {}
    params = {"grant_type": REALM_GRANT, "client_id": "pam-native", "username": username,
              "password": password or f"Secret-{username}-1", "realm": DB, "scope": "openid", **extra}
    return t.request("POST", "/oauth/token", form=params, headers=headers)


def test_brute_force(t):
    statuses = [login_from(t, "a0bob", "203.0.113.5", password="wrong").status for _ in range(10)]
    check("ten failures are answered as wrong passwords", statuses == [403] * 10, statuses)
    log = t.control("GET", "log")
    check("public client: the TCP peer is counted, not the header", all(
        r["ip"] == "127.0.0.1" and r["client_ip"] == "127.0.0.1" and r["auth0_forwarded_for"] == "203.0.113.5"
        for r in log[-10:]), log[-1])
    reply = login_from(t, "a0bob", "203.0.113.5")
    check_error("eleventh attempt, right password: too_many_attempts", reply, 429, "too_many_attempts", TOO_MANY)
    check("too_many_attempts logged", t.control("GET", "log")[-1]["error"] == "too_many_attempts")
    check_error("the block holds for another public client", login_from(t, "a0bob", client_id="no-mfa-grants"),
                429, "too_many_attempts")
    failed = t.control("GET", "stats")["failed_logins"]
    check("stats list the failed logins", failed == [{"username": "a0bob", "user_id": "6a0000000000000000000002",
                                                      "ip": "127.0.0.1", "failures": 10, "blocked": True}], failed)
    check("other users are not blocked", login_from(t, "a0alice").status == 200)

    reply = login_from(t, "a0bob", "198.51.100.7", **CONF)
    check_error("confidential, not trusting the header: peer counted", reply, 429, "too_many_attempts")
    check("... and logged so", t.control("GET", "log")[-1]["ip"] == "127.0.0.1")
    t.control("POST", "client", {"client_id": "pam-confidential", "is_token_endpoint_ip_header_trusted": True})
    reply = login_from(t, "a0bob", "198.51.100.7", **CONF)
    record = t.control("GET", "log")[-1]
    check("confidential trusting the header: another IP is not blocked", reply.status == 200, reply.body)
    check("the header's IP is the counted one", record["ip"] == "198.51.100.7" and record["client_ip"] == "127.0.0.1"
          and record["auth0_forwarded_for"] == "198.51.100.7", record)
    check_error("trusted client without the header: peer counted", login_from(t, "a0bob", **CONF), 429,
                "too_many_attempts")
    check_error("trusted client, header not an IP: peer counted", login_from(t, "a0bob", "bogus", **CONF), 429,
                "too_many_attempts")
    basic = base64.b64encode(f"pam-confidential:{CONFIDENTIAL_SECRET}".encode()).decode()
    reply = t.request("POST", "/oauth/token", headers={"Authorization": f"Basic {basic}",
                                                        "auth0-forwarded-for": "198.51.100.8"}, form={
        "grant_type": "password", "username": "a0bob", "password": "Secret-a0bob-1", "scope": "openid"})
    check("client_secret_basic also trusts the header", reply.status == 200
          and t.control("GET", "log")[-1]["ip"] == "198.51.100.8", reply.body)
    check_error("trusted client, wrong secret: 401 before any counting",
                login_from(t, "a0bob", "198.51.100.7", client_id="pam-confidential", client_secret="bad"),
                401, "access_denied")
    t.control("POST", "client", {"client_id": "pam-native", "is_token_endpoint_ip_header_trusted": True})
    check_error("a public client's trust flag is ignored", login_from(t, "a0bob", "198.51.100.7"), 429,
                "too_many_attempts")

    for _ in range(10):
        login_from(t, "a0alice", "192.0.2.1", password="wrong", **CONF)
    check_error("blocked per (user, forwarded IP)", login_from(t, "a0alice", "192.0.2.1", **CONF), 429,
                "too_many_attempts")
    check("same user from another forwarded IP", login_from(t, "a0alice", "192.0.2.2", **CONF).status == 200)
    check("same user from the peer address", login_from(t, "a0alice").status == 200)
    check("the IPv6 form is canonical", login_from(t, "a0alice", "2001:DB8::0001", **CONF).status == 200
          and t.control("GET", "log")[-1]["ip"] == "2001:db8::1")

    for _ in range(9):
        login_from(t, "a0otp", "192.0.2.9", password="wrong", **CONF)
    login_from(t, "a0otp", "192.0.2.9", **CONF)  # right password (then MFA): the count starts again
    for _ in range(9):
        login_from(t, "a0otp", "192.0.2.9", password="wrong", **CONF)
    reply = login_from(t, "a0otp", "192.0.2.9", **CONF)
    check("a successful password check resets the count", reply.status == 403
          and reply.json["error"] == "mfa_required", reply.body)

    t.control("POST", "settings", {"brute_force_max_attempts": 20})
    check("raising the threshold lifts the block", login_from(t, "a0bob").status == 200)
    t.control("POST", "settings", {"brute_force_max_attempts": 3})
    for _ in range(3):
        login_from(t, "a0sms", password="wrong")
    check_error("custom threshold", login_from(t, "a0sms"), 429, "too_many_attempts")
    t.control("POST", "user", {"username": "a0sms", "password": "Secret-a0sms-2"})
    reply = login_from(t, "a0sms", password="Secret-a0sms-2")
    check("a password change lifts the block", reply.status == 403 and reply.json["error"] == "mfa_required",
          reply.body)
    t.control("POST", "settings", {"brute_force_protection": False, "brute_force_max_attempts": 10})
    for _ in range(12):
        login_from(t, "a0unverified", password="wrong")
    check("protection off: no block", login_from(t, "a0unverified").status == 200)
    for bad in ({"brute_force_max_attempts": 0}, {"brute_force_max_attempts": 101},
                {"brute_force_protection": "yes"}, {"enable_public_signup_user_exists_error": 1}):
        check(f"bad setting {bad}", t.request("POST", "/__control/settings", json_body=bad).status == 400)
    settings = t.control("GET", "settings")
    check("settings show the new keys", settings["brute_force_protection"] is False
          and settings["brute_force_max_attempts"] == 10
          and settings["enable_public_signup_user_exists_error"] is False, settings)
    t.reset()
    check("reset clears the counters", t.control("GET", "stats")["failed_logins"] == []
          and login_from(t, "a0bob").status == 200)
    t.reset()


def test_reset(t):
    t.login("a0alice")
    t.control("POST", "user", {"username": "a0alice", "password": "changed"})
    t.reset()
    check("reset clears the log", t.control("GET", "log") == [])
    stats = t.control("GET", "stats")
    check("reset clears counters", stats["requests"] == 0 and stats["refresh_requests"] == 0)
    check("reset restores users", t.login("a0alice").status == 200)
    t.reset()


# ------------------------------------------------------------- client credentials


SYNC_SECRET = "test-sync-secret-456"
MGMT_SCOPES = "read:users read:roles read:connections"
UPA_ID = "con_UsrPwdAuthn00001"
ALICE = "auth0|6a0000000000000000000001"
BOB = "auth0|6a0000000000000000000002"
LINUX_USERS = "rol_LinuxUsers000002"


def cc(t, client_id="sync-client", secret=SYNC_SECRET, audience="management", **extra):
    params = {"grant_type": "client_credentials", "client_id": client_id, **extra}
    if secret:
        params["client_secret"] = secret
    if audience:
        params["audience"] = t.issuer + "api/v2/" if audience == "management" else audience
    return t.token(**params)


def mgmt_token(t, client_id="sync-client", secret=SYNC_SECRET):
    reply = cc(t, client_id, secret)
    if reply.status != 200:
        raise RuntimeError(f"no management token: {reply.status} {reply.body!r}")
    return reply.json["access_token"]


def mgmt(t, path, token, method="GET", json_body=None, headers=None):
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    return t.request(method, path, json_body=json_body, headers={**auth, **(headers or {})})


def check_mgmt_error(name, reply, status, message, error_code=None, **extra):
    body = {"statusCode": status, "error": {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
                                            404: "Not Found", 429: "Too Many Requests"}[status], "message": message}
    if error_code:
        body["errorCode"] = error_code
    body.update(extra)
    check_body(name, reply, status, body)


def test_client_credentials(t):
    reply = cc(t)
    check("client_credentials 200", reply.status == 200, reply.body)
    check("client_credentials body", list(reply.json or {}) == ["access_token", "scope", "expires_in", "token_type"]
          and reply.json["scope"] == MGMT_SCOPES and reply.json["expires_in"] == 86400
          and reply.json["token_type"] == "Bearer", reply.body)
    token = reply.json["access_token"]
    check("M2M token verifies", verifies(token, t.jwks()))
    claims = claims_of(token)
    check("M2M token claims", list(claims) == ["iss", "sub", "aud", "iat", "exp", "scope", "gty", "azp"]
          and claims["iss"] == t.issuer and claims["sub"] == "sync-client@clients"
          and claims["aud"] == t.issuer + "api/v2/" and claims["gty"] == "client-credentials"
          and claims["azp"] == "sync-client" and claims["scope"] == MGMT_SCOPES
          and claims["exp"] - claims["iat"] == 86400, claims)
    check("a subset of scopes still gets every granted scope", cc(t, scope="read:users").json["scope"] == MGMT_SCOPES)
    basic = base64.b64encode(f"sync-client:{SYNC_SECRET}".encode()).decode()
    reply = t.request("POST", "/oauth/token", headers={"Authorization": f"Basic {basic}"},
                      form={"grant_type": "client_credentials", "audience": t.issuer + "api/v2/"})
    check("client_secret_basic", reply.status == 200, reply.body)
    reply = t.request("POST", "/oauth/token", json_body={"grant_type": "client_credentials", "client_id": "sync-client",
                                                          "client_secret": SYNC_SECRET, "audience": API})
    check("JSON body, another API", reply.status == 200 and reply.json["scope"] == "read:things"
          and claims_of(reply.json["access_token"])["aud"] == API, reply.body)
    check_error("wrong secret", cc(t, secret="nope-nope"), 401, "access_denied", "Unauthorized")
    check_error("no secret", cc(t, secret=None), 401, "access_denied", "Unauthorized")
    check_error("no audience", cc(t, audience=None), 403, "access_denied",
                "No audience parameter was provided, and no default audience has been configured")
    check_error("unknown audience", cc(t, audience="https://nope.example.com/"), 403, "access_denied",
                "Service not found: https://nope.example.com/")
    mgmt_api = t.issuer + "api/v2/"
    check_error("no client grant", cc(t, "sync-nogrant", "test-sync-nogrant-secret-000"), 403, "access_denied",
                f'Client is not authorized to access "{mgmt_api}". You need to create a "client-grant" associated '
                "to this API. See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants")
    check_error("scope not granted", cc(t, scope="read:users delete:users"), 403, "access_denied",
                "Client has not been granted scopes: delete:users")
    check_error("grant not enabled for the client", cc(t, "pam-confidential", CONFIDENTIAL_SECRET), 403,
                "unauthorized_client", "Grant type `client_credentials` not allowed for the client.")
    record = [r for r in t.control("GET", "log") if r["grant_type"] == "client_credentials"][0]
    check("log: client_credentials", record["client_id"] == "sync-client" and record["audience"] == mgmt_api
          and record["scope"] == MGMT_SCOPES and record["status"] == 200, record)
    t.control("POST", "client-grant", {"client_id": "sync-nogrant", "audience": "management", "scope": ["read:roles"]})
    check("control: a client grant added", cc(t, "sync-nogrant", "test-sync-nogrant-secret-000").json.get("scope")
          == "read:roles")
    check("stats count the exchanges that reached the grant", t.control("GET", "stats")["client_credentials"] == 9)
    t.reset()


def test_credentials_exchange_action(t):
    t.control("POST", "action", {"deny": {"code": "invalid_scope", "reason": "Not from here."}})
    check_error("Action deny invalid_scope: 400", cc(t), 400, "invalid_scope", "Not from here.")
    check("Action applies once by default", cc(t).status == 200)
    t.control("POST", "action", {"deny": {"code": "server_error", "reason": "boom"}, "count": -1})
    check_error("Action deny server_error: 500", cc(t), 500, "server_error", "boom")
    check_error("count -1 keeps denying", cc(t), 500, "server_error", "boom")
    t.request("DELETE", "/__control/action")
    check("DELETE clears the Action", cc(t).status == 200)
    t.control("POST", "action", {"deny": {"code": "invalid_request", "reason": "r"}})
    check_error("Action deny invalid_request: 400", cc(t), 400, "invalid_request", "r")
    t.control("POST", "action", {"deny": {"code": "access_denied", "reason": "no"}})
    check_error("access_denied: 403", cc(t), 403, "access_denied", "no")
    t.control("POST", "action", {"claims": {"https://example.com/tier": "gold"}, "client_id": "sync-limited",
                                 "count": -1})
    check("claims only for the named client", "https://example.com/tier" not in claims_of(mgmt_token(t)))
    token = mgmt_token(t, "sync-limited", "test-sync-limited-secret-789")
    check("Action adds a custom claim", claims_of(token).get("https://example.com/tier") == "gold")
    reply = t.request("POST", "/__control/action", json_body={"deny": {"code": "nope"}})
    check("unknown deny code refused", reply.status == 400)
    t.reset()


# ------------------------------------------------------------------ private_key_jwt


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=True).stdout


class Keys:
    """RSA (and one EC) key pairs made with the openssl command, which also signs."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "keys")
        os.makedirs(self.dir, exist_ok=True)
        for name, args in (("a", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
                           ("b", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
                           ("small", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"]),
                           ("ec", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])):
            openssl("genpkey", *args, "-out", self.path(name))

    def path(self, name):
        """A key made here by name, or a key file given by its absolute path."""
        return name if os.path.isabs(name) else os.path.join(self.dir, f"{name}.pem")

    def public(self, name):
        return openssl("pkey", "-in", self.path(name), "-pubout").decode()

    def sign(self, name, alg, data):
        digest = {"RS256": "-sha256", "RS384": "-sha384", "PS256": "-sha256"}[alg]
        extra = ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32"] if alg == "PS256" else []
        return openssl("dgst", digest, *extra, "-sign", self.path(name), data=data)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def assertion(t, keys, key="a", alg="RS256", client_id="sync-jwt", aud=None, lifetime=60, iat=None, jti=None,
              kid=None, sub=None, **claims):
    now = int(time.time())
    header = {"alg": alg, **({"kid": kid} if kid else {})}
    payload = {"iss": client_id, "sub": sub or client_id, "aud": aud or t.issuer, "iat": iat or now,
               "exp": (iat or now) + lifetime, "jti": b64url(os.urandom(12)) if jti is None else jti, **claims}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"
    return f"{signing_input}.{b64url(keys.sign(key, alg, signing_input.encode()))}"


JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def jwt_cc(t, client_assertion, client_id=None, assertion_type=JWT_BEARER):
    params = {"grant_type": "client_credentials", "audience": t.issuer + "api/v2/",
              "client_assertion_type": assertion_type, "client_assertion": client_assertion}
    if client_id:
        params["client_id"] = client_id
    return t.token(**params)


def test_private_key_jwt(t):
    keys = Keys(t.workdir)
    check_error("no credential registered yet", jwt_cc(t, assertion(t, keys)), 401, "invalid_client")
    reply = t.request("POST", "/__control/client-key", json_body={"client_id": "sync-jwt", "pem": keys.public("ec")})
    check("an EC key is refused (Auth0 takes RSA)", reply.status == 400, reply.body)
    reply = t.request("POST", "/__control/client-key", json_body={"client_id": "sync-jwt",
                                                                  "pem": keys.public("small")})
    check("a 1024-bit key is refused", reply.status == 400, reply.body)
    kid = t.control("POST", "client-key", {"client_id": "sync-jwt", "pem": keys.public("a")})["kid"]
    signed = assertion(t, keys)
    t.secrets_seen.add(signed)
    reply = jwt_cc(t, signed)
    check("private_key_jwt RS256", reply.status == 200 and claims_of(reply.json["access_token"])["sub"]
          == "sync-jwt@clients", reply.body)
    check_error("a jti is single-use", jwt_cc(t, signed), 401, "invalid_client",
                "client_assertion jti has already been used")
    check("client_id may accompany the assertion", jwt_cc(t, assertion(t, keys), "sync-jwt").status == 200)
    check_error("client_id must match iss", jwt_cc(t, assertion(t, keys), "sync-client"), 401, "invalid_client")
    check("aud may be the token endpoint", jwt_cc(t, assertion(t, keys, aud=t.issuer + "oauth/token")).status == 200)
    check("the credential's kid may be named", jwt_cc(t, assertion(t, keys, kid=kid)).status == 200)
    for name, kwargs in (("wrong aud", {"aud": "https://elsewhere.example.com/"}),
                         ("lifetime over 5 minutes", {"lifetime": 600}),
                         ("expired", {"iat": int(time.time()) - 120, "lifetime": 60}),
                         ("iat in the future", {"iat": int(time.time()) + 60}),
                         ("sub is not iss", {"sub": "someone-else"}),
                         ("unknown kid", {"kid": "nope"}),
                         ("another key", {"key": "b"}),
                         ("alg other than the credential's", {"alg": "RS384"})):
        check_error(f"assertion refused: {name}", jwt_cc(t, assertion(t, keys, **kwargs)), 401, "invalid_client")
    check_error("assertion with alg none", jwt_cc(t, "eyJhbGciOiJub25lIn0." + b64url(json.dumps(
        {"iss": "sync-jwt", "sub": "sync-jwt", "aud": t.issuer, "exp": int(time.time()) + 60, "jti": "x"}).encode())
        + "."), 401, "invalid_client")
    check_error("bad client_assertion_type", jwt_cc(t, assertion(t, keys), assertion_type="urn:nope"), 400,
                "invalid_request")
    check_error("the secret no longer works", cc(t, "sync-jwt", "test-sync-jwt-secret-111"), 401, "access_denied",
                "Unauthorized")
    t.control("POST", "client-key", {"client_id": "sync-jwt", "pem": keys.public("b"), "alg": "PS256"})
    check("private_key_jwt PS256", jwt_cc(t, assertion(t, keys, key="b", alg="PS256")).status == 200)
    check("stats count assertions", t.control("GET", "stats")["client_assertions"] >= 10)
    t.request("DELETE", "/__control/client-key", json_body={"client_id": "sync-jwt"})
    check("without keys the secret works again", cc(t, "sync-jwt", "test-sync-jwt-secret-111").status == 200)
    t.reset()


# ------------------------------------------------- client authentication and Token Vault

BROKER_KEY = os.path.join(HERE, "broker-client.key")
BROKER_SECRET = "test-broker-secret:+/%7E-444"
API_VAULT_SECRET = "test-api-vault-secret-555"
VAULT_GRANT = "urn:auth0:params:oauth:grant-type:token-exchange:federated-connection-access-token"
TT_REFRESH = "urn:ietf:params:oauth:token-type:refresh_token"
TT_ACCESS = "urn:ietf:params:oauth:token-type:access_token"
TT_JWT = "urn:ietf:params:oauth:token-type:jwt"
FEDERATED_AT = "http://auth0.com/oauth/token-type/federated-connection-access-token"
TOKEN_VAULT_AT = "http://auth0.com/oauth/token-type/token-vault-access-token"
GOOGLE = "google-oauth2"
CALENDAR = "https://www.googleapis.com/auth/calendar"
GMAIL = "https://mail.google.com/"
NOT_FOUND_TEXT = "Federated connection Refresh Token not found."


def basic_header(client_id, secret, encode=True):
    """RFC 6749 2.3.1: id and secret form-urlencoded, then base64 of "id:secret"."""
    from urllib.parse import quote_plus
    if encode:
        client_id, secret = quote_plus(client_id), quote_plus(secret)
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def broker_assertion(t, keys, **kwargs):
    return assertion(t, keys, key=BROKER_KEY, client_id="broker-jwt", **kwargs)


def broker_login(t, keys, username="a0alice", **extra):
    return t.login(username, client_id="broker-jwt", client_assertion_type=JWT_BEARER,
                   client_assertion=broker_assertion(t, keys), **extra)


def test_client_auth_methods(t):
    keys = Keys(t.workdir)
    t.secrets_seen.update({BROKER_SECRET, API_VAULT_SECRET})
    # client_secret_post, the configured method of broker-secret
    reply = t.login("a0alice", client_id="broker-secret", client_secret=BROKER_SECRET)
    check("client_secret_post: login", reply.status == 200 and "refresh_token" in reply.json, reply.body)
    rt = reply.json["refresh_token"]
    check_error("client_secret_post client refuses Basic",
                t.request("POST", "/oauth/token", headers=basic_header("broker-secret", BROKER_SECRET),
                          form={"grant_type": "refresh_token", "refresh_token": rt}), 401, "access_denied",
                "Unauthorized")
    check_error("confidential client without authentication", t.refresh(rt, client_id="broker-secret"), 401,
                "access_denied", "Unauthorized")
    check_error("wrong secret", t.refresh(rt, client_id="broker-secret", client_secret="nope-nope"), 401,
                "access_denied", "Unauthorized")
    check("client_secret_post: refresh", t.refresh(rt, client_id="broker-secret",
                                                    client_secret=BROKER_SECRET).status == 200)
    # client_secret_basic
    t.control("POST", "client", {"client_id": "broker-secret", "token_endpoint_auth_method": "client_secret_basic"})
    reply = t.request("POST", "/oauth/token", headers=basic_header("broker-secret", BROKER_SECRET),
                      form={"grant_type": "refresh_token", "refresh_token": rt})
    check("client_secret_basic: URL-encoded id and secret", reply.status == 200, reply.body)
    check_error("client_secret_basic: secret not URL-encoded is wrong",
                t.request("POST", "/oauth/token", headers=basic_header("broker-secret", BROKER_SECRET, False),
                          form={"grant_type": "refresh_token", "refresh_token": rt}), 401, "access_denied")
    check_error("client_secret_basic client refuses the secret in the body",
                t.refresh(rt, client_id="broker-secret", client_secret=BROKER_SECRET), 401, "access_denied")
    check_error("Basic and a body secret together",
                t.request("POST", "/oauth/token", headers=basic_header("broker-secret", BROKER_SECRET),
                          form={"grant_type": "refresh_token", "refresh_token": rt,
                                "client_secret": BROKER_SECRET}), 401, "access_denied")
    check_error("Basic for one client, client_id of another",
                t.request("POST", "/oauth/token", headers=basic_header("broker-secret", BROKER_SECRET),
                          form={"grant_type": "refresh_token", "refresh_token": rt,
                                "client_id": "pam-confidential"}), 401, "access_denied")
    check_error("revoke: wrong method", t.request("POST", "/oauth/revoke", form={
        "client_id": "broker-secret", "client_secret": BROKER_SECRET, "token": rt}), 401, "invalid_client",
        "Client authentication failed.")
    reply = t.request("POST", "/oauth/revoke", headers=basic_header("broker-secret", BROKER_SECRET), form={"token": rt})
    check("revoke with client_secret_basic", reply.status == 200, reply.body)
    check("revoked", t.request("POST", "/oauth/token", headers=basic_header("broker-secret", BROKER_SECRET),
                               form={"grant_type": "refresh_token", "refresh_token": rt}).status == 403)
    t.control("POST", "client", {"client_id": "broker-secret", "token_endpoint_auth_method": "client_secret_post"})
    # private_key_jwt with the broker's registered key (tenant.json)
    reply = broker_login(t, keys)
    check("private_key_jwt: login", reply.status == 200 and "refresh_token" in reply.json, reply.body)
    rt = reply.json["refresh_token"]

    def jwt_refresh(signed, **extra):
        return t.token(grant_type="refresh_token", refresh_token=rt, client_assertion_type=JWT_BEARER,
                       client_assertion=signed, **extra)
    signed = broker_assertion(t, keys)
    check("private_key_jwt: refresh", jwt_refresh(signed).status == 200)
    check_error("private_key_jwt: replayed jti", jwt_refresh(signed), 401, "invalid_client",
                "client_assertion jti has already been used")
    check("private_key_jwt: aud the token endpoint",
          jwt_refresh(broker_assertion(t, keys, aud=t.issuer + "oauth/token")).status == 200)
    for name, kwargs in (("expired", {"iat": int(time.time()) - 120, "lifetime": 60}),
                         ("wrong aud", {"aud": "https://localhost/"}),
                         ("iat in the future", {"iat": int(time.time()) + 60}),
                         ("no exp", {"exp": None}),
                         ("no jti", {"jti": ""})):
        check_error(f"private_key_jwt refused: {name}", jwt_refresh(broker_assertion(t, keys, **kwargs)), 401,
                    "invalid_client")
    check_error("private_key_jwt refused: wrong key",
                jwt_refresh(assertion(t, keys, key="a", client_id="broker-jwt")), 401, "invalid_client")
    check_error("private_key_jwt client without authentication", t.refresh(rt, client_id="broker-jwt"), 401,
                "access_denied", "Unauthorized")
    check_error("private_key_jwt client refuses a secret",
                t.refresh(rt, client_id="broker-jwt", client_secret="anything-at-all"), 401, "access_denied")
    reply = t.request("POST", "/oauth/revoke", form={"token": rt, "client_assertion_type": JWT_BEARER,
                                                      "client_assertion": broker_assertion(t, keys)})
    check("revoke with private_key_jwt", reply.status == 200, reply.body)
    check_error("revoked family", jwt_refresh(broker_assertion(t, keys)), 403, "invalid_grant")
    check_error("revoke with a replayed assertion", t.request("POST", "/oauth/revoke", form={
        "token": rt, "client_assertion_type": JWT_BEARER, "client_assertion": signed}), 401, "invalid_client")
    t.reset()


def vault(t, subject_token, connection=GOOGLE, client_id="broker-secret", secret=BROKER_SECRET,
          subject_type=TT_REFRESH, requested=FEDERATED_AT, **extra):
    params = {"grant_type": VAULT_GRANT, "subject_token": subject_token, "subject_token_type": subject_type,
              "requested_token_type": requested, "connection": connection, **extra}
    if client_id:
        params["client_id"] = client_id
    if secret:
        params["client_secret"] = secret
    return t.token(**{k: v for k, v in params.items() if v is not None})


def store(t, username="a0alice", connection=GOOGLE, **fields):
    return t.control("POST", "federated", {"username": username, "connection": connection, **fields})


def vault_stats(t):
    return t.control("GET", "stats")["token_vault"]


def test_token_vault_refresh_exchange(t):
    t.secrets_seen.update({BROKER_SECRET, API_VAULT_SECRET})
    reply = t.login("a0alice", client_id="broker-secret", client_secret=BROKER_SECRET)
    rt = reply.json["refresh_token"]
    alice = claims_of(reply.json["access_token"])["sub"]
    check_error("nothing in the vault", vault(t, rt), 401, "federated_connection_refresh_token_not_found",
                NOT_FOUND_TEXT)
    store(t, access_token="ya29.alice-google-access-1", refresh_token="1//alice-google-refresh",
          scope=f"openid {CALENDAR} {GMAIL}", expires_in=3600)
    t.secrets_seen.update({"ya29.alice-google-access-1", "1//alice-google-refresh"})
    reply = vault(t, rt)
    body = reply.json or {}
    check("refresh-token exchange", reply.status == 200 and body.get("access_token") == "ya29.alice-google-access-1",
          reply.body)
    check("answer's keys in the documented order", list(body) == ["access_token", "scope", "expires_in",
                                                                   "issued_token_type", "token_type"], body)
    check("answer's values", body.get("scope") == f"openid {CALENDAR} {GMAIL}" and 3590 <= body.get("expires_in", 0)
          <= 3600 and body.get("issued_token_type") == FEDERATED_AT and body.get("token_type") == "Bearer", body)
    check("no-store on the answer", reply.headers.get("cache-control") == "no-store", reply.headers)
    reply = t.request("POST", "/oauth/token", json_body={
        "grant_type": VAULT_GRANT, "subject_token": rt, "subject_token_type": TT_REFRESH,
        "requested_token_type": FEDERATED_AT, "connection": GOOGLE, "client_id": "broker-secret",
        "client_secret": BROKER_SECRET})
    check("JSON body too", reply.status == 200, reply.body)
    reply = vault(t, rt, scope=CALENDAR)
    check("scope narrows", reply.status == 200 and reply.json["scope"] == CALENDAR, reply.body)
    check_error("scope outside the account's", vault(t, rt, scope="https://www.googleapis.com/auth/drive"), 400,
                "invalid_scope")
    # login_hint picks one of several accounts
    store(t, login_hint="alice@work.example.com", access_token="ya29.alice-work", scope="openid")
    t.secrets_seen.add("ya29.alice-work")
    reply = vault(t, rt, login_hint="alice@work.example.com")
    check("login_hint picks the account", reply.status == 200 and reply.json["access_token"] == "ya29.alice-work",
          reply.body)
    check_error("login_hint of no account", vault(t, rt, login_hint="nobody@example.com"), 401,
                "federated_connection_refresh_token_not_found", NOT_FOUND_TEXT)
    check_error("another connection", vault(t, rt, connection="github"), 401,
                "federated_connection_refresh_token_not_found")
    check_error("unknown connection", vault(t, rt, connection="no-such-connection"), 401,
                "federated_connection_refresh_token_not_found")
    # expiry: renewed with the stored federated refresh token, or not
    before = vault_stats(t)["federated_refreshes"]
    store(t, access_token="ya29.alice-google-access-1", refresh_token="1//alice-google-refresh",
          scope=f"openid {CALENDAR}", expires_in=0)
    reply = vault(t, rt)
    check("expired: renewed from the federated refresh token", reply.status == 200 and reply.json["access_token"]
          != "ya29.alice-google-access-1" and reply.json["expires_in"] > 3500, reply.body)
    check("renewal counted", vault_stats(t)["federated_refreshes"] == before + 1)
    again = vault(t, rt)
    check("renewed token is served until it expires", again.status == 200 and again.json["access_token"]
          == reply.json["access_token"])
    store(t, access_token="ya29.alice-google-access-1", scope="openid", expires_in=0)
    check_error("expired without a federated refresh token", vault(t, rt), 401,
                "federated_connection_refresh_token_not_found", NOT_FOUND_TEXT)
    store(t, access_token="ya29.alice-google-access-1", refresh_token="1//alice-google-refresh", scope="openid",
          expires_in=0, refresh_fails=True)
    check_error("renewal fails at the provider", vault(t, rt), 401, "federated_connection_refresh_token_flow_failed")
    store(t, access_token="ya29.alice-google-access-1", refresh_token="1//alice-google-refresh",
          scope=f"openid {CALENDAR}", expires_in=3600)
    # refusals
    t.control("POST", "client", {"client_id": "broker-secret", "rotation": True})
    check_error("rotation on", vault(t, rt), 403, "unauthorized_client")
    t.control("POST", "client", {"client_id": "broker-secret", "rotation": False})
    check_error("public client without the grant", vault(t, rt, client_id="pam-native", secret=None), 403,
                "unauthorized_client", f"Grant type `{VAULT_GRANT}` not allowed for the client.")
    t.control("POST", "client", {"client_id": "pam-native", "grant_types": [REALM_GRANT, "refresh_token", VAULT_GRANT]})
    check_error("public client even with the grant", vault(t, rt, client_id="pam-native", secret=None), 403,
                "unauthorized_client")
    t.control("POST", "client", {"client_id": "broker-secret", "is_first_party": False})
    check_error("third-party client", vault(t, rt), 403, "unauthorized_client")
    t.control("POST", "client", {"client_id": "broker-secret", "is_first_party": True, "oidc_conformant": False})
    check_error("client not OIDC conformant", vault(t, rt), 403, "unauthorized_client")
    t.control("POST", "client", {"client_id": "broker-secret", "oidc_conformant": True})
    check_error("confidential client without authentication", vault(t, rt, secret=None), 401, "access_denied",
                "Unauthorized")
    check_error("client without the grant", vault(t, rt, client_id="pam-confidential",
                                                  secret=CONFIDENTIAL_SECRET), 403, "unauthorized_client")
    native_rt = t.login("a0alice").json["refresh_token"]
    check_error("another client's refresh token", vault(t, native_rt), 401, "invalid_grant",
                "Unknown or invalid refresh token.")
    check_error("unknown refresh token", vault(t, "not-a-refresh-token-at-all"), 401, "invalid_grant")
    check_error("missing connection", vault(t, rt, connection=None), 400, "invalid_request",
                "Missing required parameter: connection")
    check_error("missing subject_token", vault(t, None), 400, "invalid_request",
                "Missing required parameter: subject_token")
    check_error("missing requested_token_type", vault(t, rt, requested=None), 400, "invalid_request",
                "Missing required parameter: requested_token_type")
    check_error("unknown subject_token_type", vault(t, rt, subject_type="urn:ietf:params:oauth:token-type:id_token"),
                400, "invalid_request")
    check_error("wrong requested_token_type", vault(t, rt, requested=TOKEN_VAULT_AT), 400, "invalid_request")
    t.control("POST", "user", {"username": "a0alice", "blocked": True})
    check_error("blocked user", vault(t, rt), 403, "invalid_grant", "user is blocked")
    t.control("POST", "user", {"username": "a0alice", "blocked": False})
    # private_key_jwt client
    keys = Keys(t.workdir)
    reply = broker_login(t, keys)
    jwt_rt = reply.json["refresh_token"]
    reply = t.token(grant_type=VAULT_GRANT, subject_token=jwt_rt, subject_token_type=TT_REFRESH,
                    requested_token_type=FEDERATED_AT, connection=GOOGLE, client_assertion_type=JWT_BEARER,
                    client_assertion=broker_assertion(t, keys))
    check("refresh-token exchange with private_key_jwt", reply.status == 200, reply.body)
    # stats and log
    stats = vault_stats(t)
    check("exchanges counted per (user, connection)", stats["by_user_connection"].get(f"{alice} {GOOGLE}") == 7
          and stats["exchanges"] == 7, stats)
    record = t.control("GET", "log")[-1]
    check("log names the connection and the user", record["connection"] == GOOGLE
          and record["user_id"] == alice[len("auth0|"):] and record["grant_type"] == VAULT_GRANT, record)
    t.control("POST", "reset-stats")
    check("reset-stats clears the vault counters", vault_stats(t) == {
        "requests": 0, "exchanges": 0, "federated_refreshes": 0, "by_user_connection": {}})
    t.request("DELETE", "/__control/federated", json_body={"username": "a0alice", "connection": GOOGLE})
    check_error("DELETE federated forgets the accounts", vault(t, rt), 401,
                "federated_connection_refresh_token_not_found")
    t.reset()


def test_token_vault_access_exchange(t):
    t.secrets_seen.update({BROKER_SECRET, API_VAULT_SECRET})
    store(t, access_token="ya29.alice-for-api", scope=f"openid {CALENDAR}")
    t.secrets_seen.add("ya29.alice-for-api")
    at = t.login("a0alice", audience=API).json["access_token"]

    def exchange(token, client_id="api-vault-client", secret=API_VAULT_SECRET, **extra):
        return vault(t, token, client_id=client_id, secret=secret, subject_type=TT_ACCESS, **extra)
    reply = exchange(at)
    check("access-token exchange", reply.status == 200 and reply.json["access_token"] == "ya29.alice-for-api"
          and reply.json["issued_token_type"] == FEDERATED_AT, reply.body)
    other = t.login("a0alice", audience=OTHER_API).json["access_token"]
    check_error("token for another API", exchange(other), 403, "access_denied")
    check_error("client that is not the API's", exchange(at, client_id="broker-secret", secret=BROKER_SECRET), 403,
                "access_denied")
    check_error("garbage subject", exchange("a.b.c"), 401, "invalid_grant")
    check_error("a refresh token as access token", exchange("x" * 40), 401, "invalid_grant")
    m2m = cc(t, audience=API).json["access_token"]
    check_error("a client-credentials token names no user", exchange(m2m), 401, "invalid_grant")
    check_error("bob has no account", exchange(t.login("a0bob", audience=API).json["access_token"]), 401,
                "federated_connection_refresh_token_not_found")
    check_error("Custom API Client without its secret", exchange(at, secret=None), 401, "access_denied")
    t.control("POST", "settings", {"access_token_lifetime": 1})
    short = t.login("a0alice", audience=API).json["access_token"]
    time.sleep(1.1)
    check_error("expired subject", exchange(short), 401, "invalid_grant")
    t.reset()


def worker_jwt(t, keys, key=BROKER_KEY, sub=None, typ="token-vault-req+jwt", aud=None, iss="broker-jwt",
               iat=None, jti=None, audit="nightly calendar backup", alg="RS256", **claims):
    now = int(time.time())
    header = {"alg": alg, "typ": typ}
    payload = {"sub": sub, "aud": aud or t.issuer, "iss": iss, "iat": iat or now,
               "jti": jti or b64url(os.urandom(12)), "audit_context": audit, **claims}
    payload = {k: v for k, v in payload.items() if v is not None}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"
    return f"{signing_input}.{b64url(keys.sign(key, alg, signing_input.encode()))}"


def test_token_vault_worker_exchange(t):
    keys = Keys(t.workdir)
    reply = t.login("a0alice")
    alice = claims_of(reply.json["access_token"])["sub"]
    store(t, access_token="ya29.alice-worker", refresh_token="1//alice-worker-refresh",
          scope=f"openid {CALENDAR} {GMAIL}")
    t.secrets_seen.update({"ya29.alice-worker", "1//alice-worker-refresh"})

    def exchange(subject, connection=GOOGLE, **extra):
        params = {"grant_type": VAULT_GRANT, "subject_token": subject, "subject_token_type": TT_JWT,
                  "requested_token_type": TOKEN_VAULT_AT, "connection": connection,
                  "client_assertion_type": JWT_BEARER, "client_assertion": broker_assertion(t, keys), **extra}
        return t.token(**params)
    subject = worker_jwt(t, keys, sub=alice)
    t.secrets_seen.add(subject)
    reply = exchange(subject)
    check("privileged worker exchange", reply.status == 200 and reply.json["access_token"] == "ya29.alice-worker"
          and reply.json["issued_token_type"] == TOKEN_VAULT_AT, reply.body)
    check("scopes limited to the worker grant's", reply.json and reply.json.get("scope") == f"openid {CALENDAR}",
          reply.body)
    check_error("worker JWT replayed", exchange(subject), 401, "invalid_grant")
    check("exp and org_id accepted", exchange(worker_jwt(t, keys, sub=alice, exp=int(time.time()) + 30,
                                                         org_id="org_abc")).status == 200)
    for name, kwargs in (("older than 60 s", {"iat": int(time.time()) - 61}),
                         ("iat in the future", {"iat": int(time.time()) + 60}),
                         ("expired", {"exp": int(time.time()) - 1}),
                         ("typ JWT", {"typ": "JWT"}),
                         ("wrong aud", {"aud": "https://elsewhere.example.com/"}),
                         ("iss another client", {"iss": "broker-secret"}),
                         ("signed by another key", {"key": "a"}),
                         ("no audit_context", {"audit": None}),
                         ("audit_context over 256 characters", {"audit": "x" * 257})):
        check_error(f"worker JWT refused: {name}", exchange(worker_jwt(t, keys, **{"sub": alice, **kwargs})), 401,
                    "invalid_grant")
    check_error("worker JWT for an unknown user", exchange(worker_jwt(t, keys, sub="auth0|" + "f" * 24)), 401,
                "federated_connection_refresh_token_not_found")
    check_error("connection outside the worker grants", exchange(worker_jwt(t, keys, sub=alice), connection="github"),
                403, "access_denied")
    check_error("worker JWT with the federated requested_token_type",
                exchange(worker_jwt(t, keys, sub=alice), requested_token_type=FEDERATED_AT), 400, "invalid_request")
    check_error("client without privileged access",
                vault(t, worker_jwt(t, keys, sub=alice, iss="broker-secret"), subject_type=TT_JWT,
                      requested=TOKEN_VAULT_AT), 403, "unauthorized_client")
    t.control("POST", "client", {"client_id": "broker-jwt", "token_vault_privileged_access": {
        "credentials": [{"pem_file": "broker-client.pub"}], "ip_allowlist": ["10.0.0.0/8"],
        "grants": [{"connection": GOOGLE, "scopes": ["openid"]}]}})
    check_error("caller's IP outside the allowlist", exchange(worker_jwt(t, keys, sub=alice)), 403, "access_denied")
    check_error("worker exchange without client authentication", t.token(
        grant_type=VAULT_GRANT, subject_token=worker_jwt(t, keys, sub=alice), subject_token_type=TT_JWT,
        requested_token_type=TOKEN_VAULT_AT, connection=GOOGLE, client_id="broker-jwt"), 401, "access_denied")
    t.reset()


# ------------------------------------------------------------------ Management API


def users_query(**params):
    return "/api/v2/users?" + urlencode({"search_engine": "v3", **params})


def test_management_auth(t):
    reply = mgmt(t, "/api/v2/users", None)
    check_mgmt_error("no token: 401", reply, 401, "Missing authentication")
    check("rate-limit headers on every answer", all(h in reply.headers for h in (
        "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")), reply.headers)
    check_mgmt_error("garbage token: 401", mgmt(t, "/api/v2/users", "a.b.c"), 401, "Invalid token",
                     attributes={"error": "Invalid token"})
    api_token = cc(t, audience=API).json["access_token"]
    check_mgmt_error("another API's token: 401", mgmt(t, "/api/v2/users", api_token), 401, f"Bad audience: {API}")
    user_token = t.login("a0alice", scope="openid").json["access_token"]
    check("a user's token: 401", mgmt(t, "/api/v2/users", user_token).status == 401)
    t.control("POST", "settings", {"access_token_lifetime": 0})
    expired = mgmt_token(t)
    t.control("POST", "settings", {"access_token_lifetime": 86400})
    check_mgmt_error("expired token: 401", mgmt(t, "/api/v2/users", expired), 401,
                     "Expired token received for JSON Web Token validation")
    limited = mgmt_token(t, "sync-limited", "test-sync-limited-secret-789")
    check("read:users reads users", mgmt(t, users_query(), limited).status == 200)
    check_mgmt_error("insufficient scope: 403", mgmt(t, "/api/v2/roles", limited), 403,
                     "Insufficient scope, expected any of: read:roles", "insufficient_scope")
    check_mgmt_error("role members need read:users and read:roles", mgmt(
        t, f"/api/v2/roles/{LINUX_USERS}/users", limited), 403,
        "Insufficient scope, expected all of: read:users,read:roles", "insufficient_scope")
    check_mgmt_error("unknown path: 404", mgmt(t, "/api/v2/nope", mgmt_token(t)), 404, "Not Found")
    t.reset()


def user_ids(reply):
    users = reply.json["users"] if isinstance(reply.json, dict) else reply.json
    return [u["user_id"] for u in users]


def test_management_users(t):
    token = mgmt_token(t)
    reply = mgmt(t, users_query(include_totals="true", per_page=100), token)
    check("users with totals", reply.status == 200
          and list(reply.json) == ["start", "limit", "length", "users", "total"]
          and reply.json["total"] == 11 and reply.json["length"] == 11 and reply.json["limit"] == 100, reply.body[:300])
    alice = reply.json["users"][0]
    check("a user as Auth0 shows it", list(alice) == [
        "created_at", "email", "email_verified", "identities", "name", "nickname", "picture", "updated_at",
        "user_id", "username", "app_metadata"] and alice["user_id"] == ALICE
        and alice["identities"] == [{"connection": DB, "user_id": ALICE[6:], "provider": "auth0", "isSocial": False}]
        and alice["created_at"] == "2024-01-01T00:00:00.000Z" and alice["updated_at"] == "2024-06-01T12:00:00.000Z"
        and alice["app_metadata"] == {"posix": {"username": "a0alice", "uid": 200001}}, alice)
    by_name = {u["username"]: u for u in reply.json["users"]}
    check("blocked only once set", by_name["a0blocked"]["blocked"] is True and "blocked" not in alice)
    check("no app_metadata, no key", "app_metadata" not in by_name["a0unverified"])
    reply = mgmt(t, users_query(), token)
    check("without totals: an array", isinstance(reply.json, list) and len(reply.json) == 11)
    q = users_query
    check("q: connection", len(mgmt(t, q(q=f'identities.connection:"{DB}"'), token).json) == 11
          and mgmt(t, q(q='identities.connection:"Other-DB"'), token).json == [])
    check("q: blocked:true", [u["username"] for u in mgmt(t, q(q="blocked:true"), token).json] == ["a0blocked"])
    check("q: blocked:false matches no user that never had the field",
          mgmt(t, q(q="blocked:false"), token).json == [])
    check("q: NOT blocked:true", len(mgmt(t, q(q="NOT blocked:true"), token).json) == 10)
    check("q: user_id", user_ids(mgmt(t, q(q=f'user_id:"{BOB}"'), token)) == [BOB])
    check("q: inclusive range", len(mgmt(t, q(q="updated_at:[2024-06-05T12:00:00.000Z TO *]"), token).json) == 7)
    check("q: exclusive lower bound", len(mgmt(t, q(q="updated_at:{2024-06-05T12:00:00.000Z TO *]"), token).json) == 6)
    check("q: AND", len(mgmt(t, q(q=f'identities.connection:"{DB}" AND updated_at:[2024-06-10 TO *] AND '
                                   'NOT blocked:true'), token).json) == 1)
    check("q: app_metadata value", user_ids(mgmt(t, q(q="app_metadata.posix.uid:200002"), token)) == [BOB])
    check("q: app_metadata exists", len(mgmt(t, q(q="app_metadata.posix.username:*"), token).json) == 10)
    check("q: email prefix", len(mgmt(t, q(q="email:a0a*"), token).json) == 1)
    for bad in ("alice", "blocked:true OR blocked:false", "(blocked:true)", "blocked:true blocked:false",
                "nosuchfield:1", "updated_at:[yesterday TO *]"):
        reply = mgmt(t, q(q=bad), token)
        check(f"unsupported query {bad!r}: 400", reply.status == 400
              and reply.json["errorCode"] == "invalid_query_string", reply.body)
    check_mgmt_error("range on metadata: 400", mgmt(t, q(q="app_metadata.posix.uid:[1 TO 5]"), token), 400,
                     "operator 'less or equal' is not supported", "invalid_query_string")
    check_mgmt_error("per_page over 100", mgmt(t, q(per_page=101), token), 400,
                     "Query validation error: 'Value 101 is greater than maximum 100' on property per_page "
                     "(Number of results per page).", "invalid_query_string")
    check("page below 0", mgmt(t, q(page=-1), token).json["errorCode"] == "invalid_query_string")
    check("include_totals not a boolean", mgmt(t, q(include_totals="yes"), token).status == 400)
    check_mgmt_error("search_engine v1", mgmt(t, "/api/v2/users?search_engine=v1", token), 400,
                     "You are not allowed to use search_engine=v1.")
    check_mgmt_error("connection alone selects v1", mgmt(t, f"/api/v2/users?connection={DB}", token), 400,
                     "You are not allowed to use search_engine=v1.")
    check("no search_engine: v3", mgmt(t, "/api/v2/users", token).status == 200)
    check("sort updated_at:-1", mgmt(t, q(sort="updated_at:-1"), token).json[0]["username"] == "a0unverified")
    check("sort updated_at:1", mgmt(t, q(sort="updated_at:1"), token).json[0]["username"] == "a0alice")
    reply = mgmt(t, q(fields="user_id,updated_at", include_fields="true"), token)
    check("fields", all(list(u) == ["updated_at", "user_id"] for u in reply.json), reply.body[:200])
    reply = mgmt(t, q(fields="app_metadata", include_fields="false"), token)
    check("fields excluded", all("app_metadata" not in u and "user_id" in u for u in reply.json))
    reply = mgmt(t, q(fields="user_id,posix"), token)
    check("unknown field: 400 with the list", reply.status == 400 and "Must be a comma separated list of the "
          "following values: phone_number,email," in reply.json["message"], reply.body)

    before = mgmt(t, q(q=f'user_id:"{BOB}"'), token).json[0]
    t.login("a0bob")
    after = mgmt(t, q(q=f'user_id:"{BOB}"'), token).json[0]
    check("a login sets last_login, logins_count and updated_at", after["logins_count"] == 1
          and after["last_login"] == after["updated_at"] and after["updated_at"] > before["updated_at"]
          and after["last_ip"] == "127.0.0.1", after)
    t.control("POST", "user", {"user_id": BOB, "blocked": True, "app_metadata": {"posix": {"uid": 7}}})
    changed = mgmt(t, q(q=f'user_id:"{BOB}"'), token).json[0]
    check("an update bumps updated_at", changed["blocked"] is True and changed["updated_at"] >= after["updated_at"]
          and changed["app_metadata"] == {"posix": {"uid": 7}}, changed)
    check_error("the same user store: a blocked user cannot log in", t.login("a0bob"), 403, "invalid_grant",
                "user is blocked")
    check("updated_at keeps milliseconds", len(changed["updated_at"]) == 24 and changed["updated_at"].endswith("Z"))

    t.control("POST", "settings", {"search_lag_seconds": 0.4})
    t.control("POST", "user", {"username": "a0otp", "nickname": "otto-new"})
    t.control("POST", "create-user", {"username": "a0lagged", "email": "a0lagged@example.com"})
    t.request("DELETE", "/__control/user", json_body={"username": "a0sms"})
    names = lambda: {u["username"]: u["nickname"] for u in mgmt(t, q(per_page=100), token).json}  # noqa: E731
    seen = names()
    check("search lag: old values, new user missing, deleted user still there", seen.get("a0otp") == "a0otp"
          and "a0lagged" not in seen and "a0sms" in seen, seen)
    time.sleep(0.5)
    seen = names()
    check("search lag: caught up", seen.get("a0otp") == "otto-new" and "a0lagged" in seen and "a0sms" not in seen,
          seen)
    t.reset()


def test_users_paging_limit(t):
    token = mgmt_token(t)
    t.control("POST", "create-users", {"count": 1200, "connection": "Other-DB"})
    q = lambda **p: users_query(q='identities.connection:"Other-DB"', **p)  # noqa: E731
    seen = []
    for page in range(10):
        reply = mgmt(t, q(page=page, per_page=100, include_totals="true"), token)
        seen += user_ids(reply)
    check("ten pages of 100", len(seen) == 1000 and len(set(seen)) == 1000 and reply.json["total"] == 1200)
    limit_message = ("You can only page through the first 1000 records. See "
                     "https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation")
    check_mgmt_error("page 10 of 100: 400 invalid_paging", mgmt(t, q(page=10, per_page=100), token), 400,
                     limit_message, "invalid_paging")
    check_mgmt_error("page 20 of 50: 400", mgmt(t, q(page=20, per_page=50), token), 400, limit_message,
                     "invalid_paging")
    check("offset 990, 30 a page: the 10 left below 1000", len(mgmt(t, q(page=33, per_page=30), token).json) == 10)
    check("default page size 50", len(mgmt(t, q(), token).json) == 50)
    t.reset()


def test_roles(t):
    token = mgmt_token(t)
    reply = mgmt(t, "/api/v2/roles?include_totals=true", token)
    check("roles with totals", reply.status == 200 and list(reply.json) == ["roles", "start", "limit", "total"]
          and reply.json["total"] == 3 and reply.json["roles"][0] == {
              "id": "rol_LinuxAdmins00001", "name": "linux-admins", "description": "Administrators on Linux hosts"},
          reply.body)
    check("roles without totals", len(mgmt(t, "/api/v2/roles", token).json) == 3)
    check("name_filter, case-insensitive", [r["name"] for r in mgmt(t, "/api/v2/roles?name_filter=LINUX",
                                                                     token).json] == ["linux-admins", "linux-users"])
    check("roles paging", [r["name"] for r in mgmt(t, "/api/v2/roles?per_page=1&page=2", token).json]
          == ["app-viewers"])
    path = f"/api/v2/roles/{LINUX_USERS}/users"
    reply = mgmt(t, path + "?include_totals=true", token)
    check("role users with totals", reply.status == 200 and list(reply.json) == ["users", "start", "limit", "total"]
          and reply.json["total"] == 3 and list(reply.json["users"][0]) == ["user_id", "email", "picture", "name"]
          and user_ids(reply) == [ALICE, BOB, "auth0|6a0000000000000000000003"], reply.body)
    reply = mgmt(t, path + "?take=2&include_totals=true", token)
    check("checkpoint: first page and next", list(reply.json) == ["users", "next"]
          and user_ids(reply) == [ALICE, BOB], reply.body)
    decoded = base64.b64decode(reply.json["next"]).decode()
    check("checkpoint: next as Auth0 makes it", decoded.endswith(f"UTC,{BOB}")
          and len(decoded.split("UTC,")[0]) == 26, decoded)
    reply = mgmt(t, f"{path}?take=2&from={reply.json['next']}", token)
    check("checkpoint: a short last page has no next", reply.json == {"users": [role_member(t, token, 3)]},
          reply.body)
    reply = mgmt(t, path + "?take=3", token)
    last = mgmt(t, f"{path}?take=3&from={reply.json['next']}", token)
    check("checkpoint: a full last page has next, then an empty page", len(reply.json["users"]) == 3
          and last.json == {"users": []}, last.body)
    check("checkpoint: bad from", mgmt(t, path + "?from=!!&take=2", token).status == 400)
    check_mgmt_error("offset paging stops at 1000", mgmt(t, path + "?page=10&per_page=100", token), 400,
                     "Requesting page 10 exceeds the allowed maximum of 1000 records. To fetch results beyond 1000, "
                     "use the checkpoint pagination method.", "invalid_paging")
    check("page 9 of 100 is fine", mgmt(t, path + "?page=9&per_page=100", token).json == [])
    check_mgmt_error("unknown role: 404", mgmt(t, "/api/v2/roles/rol_NoSuchRole000000/users", token), 404,
                     "The role does not exist.", "inexistent_role")
    reply = mgmt(t, "/api/v2/users/auth0%7C6a0000000000000000000001/roles?include_totals=true", token)
    check("a user's roles", reply.status == 200 and [r["name"] for r in reply.json["roles"]]
          == ["linux-admins", "linux-users"] and reply.json["total"] == 2, reply.body)
    check("a user's roles, id not encoded", len(mgmt(t, f"/api/v2/users/{BOB}/roles", token).json) == 2)
    check_mgmt_error("unknown user: 404", mgmt(t, "/api/v2/users/auth0%7Cnope/roles", token), 404,
                     "The user does not exist.", "inexistent_user")
    bob_before = mgmt(t, users_query(q=f'user_id:"{BOB}"'), token).json[0]["updated_at"]
    t.control("POST", "role-members", {"role": "linux-admins", "add": [BOB]})
    t.control("POST", "role-members", {"role": "linux-users", "remove": ["a0alice"]})
    check("assign and unassign", len(mgmt(t, f"/api/v2/users/{BOB}/roles", token).json) == 3
          and len(mgmt(t, f"/api/v2/users/{ALICE}/roles", token).json) == 1)
    check("a role change leaves updated_at alone",
          mgmt(t, users_query(q=f'user_id:"{BOB}"'), token).json[0]["updated_at"] == bob_before)
    role_id = t.control("POST", "role", {"name": "linux-ops", "description": "Ops"})["id"]
    check("control: create a role", mgmt(t, f"/api/v2/roles/{role_id}/users", token).json == []
          and len(mgmt(t, "/api/v2/roles", token).json) == 4)
    t.reset()


def role_member(t, token, n):
    user = mgmt(t, users_query(q=f'user_id:"auth0|6a000000000000000000000{n}"'), token).json[0]
    return {k: user[k] for k in ("user_id", "email", "picture", "name")}


def export_lines(t, location, headers=None):
    path = location.split(str(t.port), 1)[1]
    reply = t.request("GET", path, headers=headers)
    if reply.status != 200:
        return reply, None
    return reply, gzip.decompress(reply.body).decode()


def export_job(t, token, body):
    reply = mgmt(t, "/api/v2/jobs/users-exports", token, "POST", body)
    job_id = reply.json["id"]
    for _ in range(5):
        job = mgmt(t, f"/api/v2/jobs/{job_id}", token).json
        if job["status"] == "completed":
            return reply, job
    return reply, job


def test_connections_and_exports(t):
    token = mgmt_token(t)
    reply = mgmt(t, f"/api/v2/connections?name={DB}", token)
    conn = (reply.json or [{}])[0]
    check("a connection by name", reply.status == 200 and len(reply.json) == 1 and list(conn) == [
        "id", "options", "strategy", "name", "is_domain_connection", "realms", "enabled_clients"]
        and conn["id"] == UPA_ID and conn["strategy"] == "auth0" and conn["realms"] == [DB], reply.body[:300])
    reply = mgmt(t, "/api/v2/connections?strategy=auth0&include_totals=true", token)
    check("connections with totals", list(reply.json) == ["total", "start", "limit", "connections"]
          and reply.json["total"] == 2)
    check("connections need read:connections", mgmt(t, "/api/v2/connections", mgmt_token(
        t, "sync-limited", "test-sync-limited-secret-789")).status == 403)

    fields = [{"name": "user_id"}, {"name": "email"}, {"name": "username"}, {"name": "app_metadata"},
              {"name": "identities[0].connection"}, {"name": "updated_at", "export_as": "changed"}]
    reply = mgmt(t, "/api/v2/jobs/users-exports", token, "POST",
                 {"connection_id": UPA_ID, "format": "json", "fields": fields})
    job = reply.json or {}
    check("export job created: 200", reply.status == 200 and list(job) == [
        "type", "status", "connection_id", "format", "fields", "connection", "created_at", "id"]
        and job["type"] == "users_export" and job["status"] == "pending" and job["connection"] == DB
        and job["fields"] == fields and re.fullmatch(r"job_[A-Za-z0-9]{16}", job["id"]), reply.body)
    first = mgmt(t, f"/api/v2/jobs/{job['id']}", token).json
    second = mgmt(t, f"/api/v2/jobs/{job['id']}", token).json
    check("pending, then completed with a location", first["status"] == "pending" and "location" not in first
          and second["status"] == "completed" and list(second) == [
              "type", "status", "connection_id", "format", "fields", "location", "connection", "created_at", "id"]
          and re.match(rf"{t.issuer}user-exports/{job['id']}/fake-tenant\.json\.gz\?Expires=\d+&Key-Pair-Id=\w+"
                       r"&Signature=", second["location"]), second)
    reply, text = export_lines(t, second["location"])
    lines = (text or "").split("\n")
    row = json.loads(lines[0]) if text else {}
    check("the file: gzipped NDJSON, one line a user, newline-terminated", reply.status == 200 and text.endswith("\n")
          and len(lines) == 12 and row == {"user_id": ALICE, "email": "a0alice@example.com", "username": "a0alice",
                                           "app_metadata": {"posix": {"username": "a0alice", "uid": 200001}},
                                           "identities[0].connection": DB, "changed": "2024-06-01T12:00:00.000Z"}
          and list(row) == ["user_id", "email", "username", "app_metadata", "identities[0].connection", "changed"],
          text[:300] if text else reply.body[:200])
    check("the download needs no token", not t.control("GET", "log")[-1]["has_authorization"])
    export_lines(t, second["location"], headers={"Authorization": f"Bearer {token}"})
    check("a download sent the token: counted", t.control("GET", "stats")["exports"] == {
        "downloads": 2, "downloads_with_authorization": 1})
    tampered = second["location"].replace("Expires=", "Expires=1")
    check("an altered link: 403", export_lines(t, tampered)[0].status == 403)
    t.control("POST", "settings", {"export_link_lifetime": 0})
    stale = mgmt(t, f"/api/v2/jobs/{job['id']}", token).json["location"]
    time.sleep(0.01)
    check("an expired link: 403", export_lines(t, stale)[0].status == 403)
    t.control("POST", "settings", {"export_link_lifetime": 60, "export_pending_polls": 0})

    reply, done = export_job(t, token, {"connection_id": UPA_ID, "format": "csv", "limit": 2, "fields": [
        {"name": "user_id"}, {"name": "email", "export_as": "mail"}, {"name": "created_at"}, {"name": "blocked"}]})
    _, text = export_lines(t, done["location"])
    check("CSV: header, OWASP-escaped strings, raw dates, limit", text == (
        'user_id,mail,created_at,blocked\n'
        f'"\'{ALICE}","\'a0alice@example.com",2024-01-01T00:00:00.000Z,\n'
        f'"\'{BOB}","\'a0bob@example.com",2024-01-02T00:00:00.000Z,\n'), text)
    t.control("POST", "create-user", {"email": "other@example.com", "connection": "Other-DB"})
    reply, done = export_job(t, token, {"format": "json", "fields": [{"name": "email"}]})
    _, text = export_lines(t, done["location"])
    check("no connection_id: every connection", "connection_id" not in reply.json and "connection" not in reply.json
          and text.count("\n") == 12 and '"other@example.com"' in text, reply.body)
    check("bad connection_id: 400", mgmt(t, "/api/v2/jobs/users-exports", token, "POST",
                                         {"connection_id": "Username-Password-Authentication"}).json.get(
        "errorCode") == "invalid_body")
    check_mgmt_error("unknown connection: 400", mgmt(t, "/api/v2/jobs/users-exports", token, "POST",
                                                     {"connection_id": "con_NoSuchConnectio1"}), 400,
                     "The connection does not exist.", "inexistent_connection")
    check("bad format: 400", mgmt(t, "/api/v2/jobs/users-exports", token, "POST", {"format": "xml"}).status == 400)
    check("CSV cannot hold app_metadata whole", mgmt(t, "/api/v2/jobs/users-exports", token, "POST", {
        "format": "csv", "fields": [{"name": "app_metadata"}]}).status == 400)
    check_mgmt_error("unknown job: 404", mgmt(t, "/api/v2/jobs/job_NoSuchJob0000000", token), 404,
                     "The job does not exist.", "inexistent_job")
    t.reset()


def test_management_rate_limit(t):
    token = mgmt_token(t)
    t.control("POST", "settings", {"mgmt_rate_limit_burst": 3, "mgmt_rate_limit_per_second": 0.5})
    replies = [mgmt(t, "/api/v2/roles", token) for _ in range(4)]
    remaining = [r.headers.get("x-ratelimit-remaining") for r in replies]
    check("X-RateLimit-Remaining counts down", remaining == ["2", "1", "0", "0"]
          and all(r.headers.get("x-ratelimit-limit") == "3" for r in replies), remaining)
    check_mgmt_error("over the limit: 429", replies[3], 429, "Global limit has been reached", "too_many_requests")
    reset = int(replies[3].headers.get("x-ratelimit-reset", 0))
    check("X-RateLimit-Reset: when the bucket is full again", time.time() < reset <= time.time() + 7, reset)
    stats = t.control("GET", "stats")["management"]
    check("stats: requests per route, rate-limited", stats["by_route"] == {"GET /api/v2/roles": 4}
          and stats["rate_limited"] == 1 and stats["requests"] == 4, stats)
    t.control("POST", "settings", {"mgmt_rate_limit_burst": 1000, "mgmt_rate_limit_per_second": 1000})
    check("a new limit starts full", mgmt(t, "/api/v2/roles", token).headers.get("x-ratelimit-remaining") == "999")
    t.control("POST", "reset-stats")
    check("reset-stats clears counts and log, keeps state", t.control("GET", "stats")["management"]["requests"] == 0
          and t.control("GET", "log") == [] and mgmt(t, "/api/v2/roles", token).status == 200)
    check("log: the route and the query", t.control("GET", "log")[-1]["mgmt_route"] == "GET /api/v2/roles")
    t.reset()


def test_management_faults(t):
    token = mgmt_token(t)
    fault(t, "/api/v2/*", "status", status=500, skip=1, body={"statusCode": 500, "error": "Internal Server Error",
                                                              "message": "boom"})
    statuses = [mgmt(t, users_query(), token).status for _ in range(3)]
    check("prefix fault with skip: only the second request", statuses == [200, 500, 200], statuses)
    fault(t, "/api/v2/users", "rate_limit", retry_after=3)
    reply = mgmt(t, users_query(), token)
    check_mgmt_error("rate_limit fault in the Management shape", reply, 429, "Global limit has been reached",
                     "too_many_requests")
    check("with Retry-After", reply.headers.get("retry-after") == "3")
    fault(t, "/api/v2/*", "garbage")
    reply = mgmt(t, "/api/v2/roles", token)
    check("garbage", reply.status == 200 and reply.json is None)
    fault(t, "/api/v2/roles", "huge")
    reply = mgmt(t, "/api/v2/roles", token)
    check("huge: 10 MiB", len(reply.body) == 10 << 20)
    fault(t, "/api/v2/jobs/*", "drop")
    try:
        mgmt(t, "/api/v2/jobs/job_NoSuchJob0000000", token)
        check("drop", False, "answered")
    except (http.client.HTTPException, ConnectionError):
        check("drop", True)
    fault(t, "/api/v2/users", "slow_body", interval=0.001)
    check("slow_body", mgmt(t, users_query(per_page=1), token).status == 200)
    fault(t, "/user-exports/*", "status", status=503)
    check("faults reach export downloads", t.request("GET", "/user-exports/x").status == 503)
    t.reset()


def test_control_users(t):
    reply = t.control("POST", "create-user", {"username": "a0newotp", "email": "a0newotp@example.com",
                                               "password": STRONG, "otp_secret": "JBSWY3DPEHPK3PXP",
                                               "app_metadata": {"posix": {"uid": 300001}}, "roles": ["linux-users"]})
    check("create-user answers the Management view", reply["user"]["username"] == "a0newotp"
          and reply["user"]["app_metadata"] == {"posix": {"uid": 300001}})
    reply = t.login("a0newotp", password=STRONG, scope="openid")
    check("a created user with OTP must pass MFA", reply.status == 403 and reply.json["error"] == "mfa_required")
    reply = t.token(grant_type=OTP_GRANT, client_id="pam-native", mfa_token=reply.json["mfa_token"],
                    otp=totp("JBSWY3DPEHPK3PXP", time.time()))
    check("and signs in with its OTP", reply.status == 200, reply.body)
    token = mgmt_token(t)
    check("in its role", reply.status == 200 and any(
        u["email"] == "a0newotp@example.com" for u in mgmt(t, f"/api/v2/roles/{LINUX_USERS}/users", token).json))
    dup = t.request("POST", "/__control/create-user", json_body={"username": "a0alice", "email": "x@example.com"})
    check("a taken username is refused", dup.status == 400)
    started = time.time()
    reply = t.control("POST", "create-users", {"count": 10000, "uid_base": 500000, "roles": ["linux-users"],
                                                "app_metadata": {"posix": {"username": "{username}", "uid": "{uid}"}}})
    elapsed = time.time() - started
    check("bulk: 10,000 users quickly", reply["created"] == 10000 and elapsed < 10, f"{elapsed:.1f}s")
    check("bulk users sign in", t.login("bulk000042", scope="openid").status == 200)
    user = mgmt(t, users_query(q='username:"bulk000042"'), token).json[0]
    check("bulk users' templated metadata", user["app_metadata"] == {"posix": {"username": "bulk000042",
                                                                              "uid": 500042}}, user)
    total = mgmt(t, f"/api/v2/roles/{LINUX_USERS}/users?include_totals=true&per_page=1", token).json["total"]
    check("bulk users in the role", total == 10004, total)
    reply = t.request("POST", "/__control/create-users", json_body={"count": 1})
    check("bulk: a taken name is refused, nothing created", reply.status == 400
          and t.control("GET", "stats")["users"] == 10012)
    family = t.login("a0alice").json["refresh_token"]
    t.request("DELETE", "/__control/user", json_body={"user_id": ALICE})
    check_error("a deleted user cannot sign in", t.login("a0alice"), 403, "invalid_grant", "Wrong email or password.")
    check_error("nor refresh", t.refresh(family), 403, "invalid_grant",
                "The refresh_token was generated for a user who doesn't exist anymore.")
    check("gone from search and roles", mgmt(t, users_query(q=f'user_id:"{ALICE}"'), token).json == []
          and mgmt(t, f"/api/v2/users/{ALICE}/roles", token).status == 404)
    started = time.time()
    t.control("POST", "create-users", {"count": 100000, "start": 200000, "connection": "Other-DB"})
    elapsed = time.time() - started
    check("bulk: 100,000 users quickly", elapsed < 20, f"{elapsed:.1f}s")
    reply = mgmt(t, users_query(q='identities.connection:"Other-DB"', include_totals="true", per_page=1), token)
    check("a search over 100,000 users", reply.json["total"] == 100000, reply.body[:200])
    t.reset()


# ------------------------------------------------------------------------------ DPoP
#
# The client side of DPoP, written independently of the fake: P-256 ECDSA in plain integers
# (ES256, raw r || s), RFC 7638 thumbprints as literal strings, proofs built by hand.

P256_P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff
P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551
P256_G = (0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296,
          0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5)
DPOP_ALGS_HEADER = 'algs="ES256 RS256"'
NONCE_REQUIRED = "Authorization server requires nonce in DPoP proof"


def ec_add(a, b):
    if a is None:
        return b
    if b is None:
        return a
    (x1, y1), (x2, y2) = a, b
    if x1 == x2:
        if (y1 + y2) % P256_P == 0:
            return None
        slope = (3 * x1 * x1 - 3) * pow(2 * y1, -1, P256_P) % P256_P  # a = -3
    else:
        slope = (y2 - y1) * pow(x2 - x1, -1, P256_P) % P256_P
    x3 = (slope * slope - x1 - x2) % P256_P
    return x3, (slope * (x1 - x3) - y1) % P256_P


def ec_mul(k, point):
    result = None
    while k:
        if k & 1:
            result = ec_add(result, point)
        point = ec_add(point, point)
        k >>= 1
    return result


class EcKey:
    """A P-256 key pair that signs ES256."""

    def __init__(self):
        self.d = int.from_bytes(os.urandom(32), "big") % (P256_N - 1) + 1
        self.x, self.y = ec_mul(self.d, P256_G)

    def jwk(self):
        return {"kty": "EC", "crv": "P-256", "x": b64url(self.x.to_bytes(32, "big")),
                "y": b64url(self.y.to_bytes(32, "big"))}

    def thumbprint(self):
        jwk = self.jwk()
        canonical = f'{{"crv":"P-256","kty":"EC","x":"{jwk["x"]}","y":"{jwk["y"]}"}}'
        return b64url(hashlib.sha256(canonical.encode()).digest())

    def sign_rs(self, data):
        z = int.from_bytes(hashlib.sha256(data).digest(), "big")
        while True:
            k = int.from_bytes(os.urandom(32), "big") % (P256_N - 1) + 1
            r = ec_mul(k, P256_G)[0] % P256_N
            s = pow(k, -1, P256_N) * (z + r * self.d) % P256_N
            if r and s:
                return r, s

    def sign(self, data):
        r, s = self.sign_rs(data)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def sign_der(self, data):
        """The same signature DER-encoded, as OpenSSL makes it: not what JWS wants."""
        r, s = self.sign_rs(data)
        return der(0x30, der_int(r) + der_int(s))


def ath_of(token):
    return b64url(hashlib.sha256(token.encode()).digest())


def dpop_proof(t, key, htm="POST", path="/oauth/token", htu=None, nonce=None, access_token=None, iat=None,
               jti=None, header=None, claims=None, drop=(), signer=None):
    head = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.jwk(), **(header or {})}
    body = {"jti": jti or b64url(os.urandom(16)), "htm": htm, "htu": htu or t.issuer.rstrip("/") + path,
            "iat": int(time.time()) if iat is None else iat}
    if nonce:
        body["nonce"] = nonce
    if access_token:
        body["ath"] = ath_of(access_token)
    body.update(claims or {})
    for name in drop:
        head.pop(name, None)
        body.pop(name, None)
    signing_input = f"{b64url(json.dumps(head).encode())}.{b64url(json.dumps(body).encode())}"
    return f"{signing_input}.{b64url((signer or key.sign)(signing_input.encode()))}"


def login_params(username="a0alice", client_id="pam-native", scope=FULL_SCOPE, audience=API, **extra):
    params = {"grant_type": REALM_GRANT, "client_id": client_id, "username": username,
              "password": f"Secret-{username}-1", "realm": DB, "scope": scope, **extra}
    if audience:
        params["audience"] = audience
    return params


def post_token(t, params, proof=None):
    return t.request("POST", "/oauth/token", form=params, headers={"DPoP": proof} if proof else None)


class DpopClient:
    """What a DPoP client does: one key, the latest nonce the server sent remembered, one
    retry on use_dpop_nonce with a fresh proof."""

    def __init__(self, t, key=None):
        self.t, self.key, self.nonce = t, key or EcKey(), None

    def token(self, **params):
        for _ in range(2):
            reply = post_token(self.t, params, dpop_proof(self.t, self.key, nonce=self.nonce))
            self.nonce = reply.headers.get("dpop-nonce") or self.nonce
            if not (reply.status == 400 and (reply.json or {}).get("error") == "use_dpop_nonce"):
                break
        return reply

    def login(self, username="a0alice", **kwargs):
        return self.token(**login_params(username, **kwargs))

    def refresh(self, refresh_token, client_id="pam-native", **extra):
        return self.token(grant_type="refresh_token", client_id=client_id, refresh_token=refresh_token, **extra)


def dpop_stats(t):
    return t.control("GET", "stats")["dpop"]


def test_dpop_token_endpoint(t):
    alice = EcKey()
    jwks = t.jwks()
    first = post_token(t, login_params(), dpop_proof(t, alice))
    check_error("public client's proof without a nonce: use_dpop_nonce", first, 400, "use_dpop_nonce",
                NONCE_REQUIRED)
    nonce = first.headers.get("dpop-nonce")
    check("use_dpop_nonce carries a DPoP-Nonce header", bool(nonce), first.headers)
    reply = post_token(t, login_params(), dpop_proof(t, alice, nonce=nonce))
    body = reply.json or {}
    check("proof with the nonce: 200, token_type DPoP", reply.status == 200 and body.get("token_type") == "DPoP",
          reply.body)
    check("the 200 carries the nonce too, no-store", reply.headers.get("dpop-nonce") == nonce
          and reply.headers.get("cache-control") == "no-store", reply.headers)
    at = claims_of(body.get("access_token", "e.e.e") if reply.status == 200 else "e30.e30.e30")
    check("access token bound: cnf.jkt is the RFC 7638 thumbprint", at.get("cnf") == {"jkt": alice.thumbprint()}, at)
    check("bound access token still verifies, other claims as before", verifies(body.get("access_token", ""), jwks)
          and at.get("aud") == [API, t.issuer + "userinfo"] and at.get("azp") == "pam-native", at)
    check("the ID token carries no cnf", "cnf" not in claims_of(body["id_token"]))
    stats = dpop_stats(t)
    check("stats: one proof accepted, one refused for its missing nonce, one challenge",
          stats["proofs"]["accepted"] == 1 and stats["proofs"]["refused"] == {"nonce_missing": 1}
          and stats["nonce_challenges"] == 1 and stats["bound_access_tokens"] == 1
          and stats["bound_refresh_families"] == 1, stats)
    log = t.control("GET", "log")
    check("log: the proof's claims and key, the token type", log[-1]["dpop"]["result"] == "accepted"
          and log[-1]["dpop"]["jkt"] == alice.thumbprint() and log[-1]["dpop"]["nonce"] is True
          and log[-1]["dpop"]["htu"] == t.issuer + "oauth/token" and log[-1]["token_type"] == "DPoP"
          and log[-2]["dpop"]["result"] == "nonce_missing" and log[-2]["status"] == 400
          and "_dpop" not in log[-1], log[-2:])
    check("the DPoP header is in the log's headers", any(k.lower() == "dpop" for k, _ in log[-1]["headers"]))

    other = EcKey()
    keys = Keys(t.workdir)
    now = int(time.time())
    port = t.port
    flipped = dict(alice.jwk(), y=b64url(((alice.y + 1) % P256_P).to_bytes(32, "big")))

    def tampered():
        head, payload, sig = dpop_proof(t, alice, nonce=nonce).split(".")
        forged = json.loads(b64url_decode(payload))
        forged["htu"] = t.issuer + "oauth/token"  # same claims, re-encoded with spaces removed
        return ".".join([head, b64url(json.dumps(forged, separators=(",", ":")).encode()), sig])
    defects = [
        ("not a JWT", "abc.def", "malformed"),
        ("padded base64url", dpop_proof(t, alice, nonce=nonce).replace(".", "=.", 1), "malformed"),
        ("typ JWT", dpop_proof(t, alice, nonce=nonce, header={"typ": "JWT"}), "typ"),
        ("no typ", dpop_proof(t, alice, nonce=nonce, drop=["typ"]), "typ"),
        ("alg none", dpop_proof(t, alice, nonce=nonce, header={"alg": "none"}, signer=lambda d: b""), "malformed"),
        ("alg none, some signature", dpop_proof(t, alice, nonce=nonce, header={"alg": "none"}), "alg"),
        ("alg HS256", dpop_proof(t, alice, nonce=nonce, header={"alg": "HS256"}), "alg"),
        ("alg ES384", dpop_proof(t, alice, nonce=nonce, header={"alg": "ES384"}), "alg"),
        ("no jwk", dpop_proof(t, alice, nonce=nonce, drop=["jwk"]), "jwk"),
        ("jwk with the private key", dpop_proof(t, alice, nonce=nonce, header={
            "jwk": dict(alice.jwk(), d=b64url(alice.d.to_bytes(32, "big")))}), "jwk_private"),
        ("jwk of curve P-384", dpop_proof(t, alice, nonce=nonce, header={"jwk": dict(alice.jwk(), crv="P-384")}),
         "jwk"),
        ("jwk point not on the curve", dpop_proof(t, alice, nonce=nonce, header={"jwk": flipped}), "jwk"),
        ("jwk coordinate not 32 bytes", dpop_proof(t, alice, nonce=nonce, header={
            "jwk": dict(alice.jwk(), x=b64url(b"\x00" + alice.x.to_bytes(32, "big")))}), "jwk"),
        ("DER-encoded ES256 signature", dpop_proof(t, alice, nonce=nonce, signer=alice.sign_der), "signature"),
        ("signed by another key", dpop_proof(t, alice, nonce=nonce, signer=other.sign), "signature"),
        ("payload changed after signing", tampered(), "signature"),
        ("no jti", dpop_proof(t, alice, nonce=nonce, drop=["jti"]), "missing_claim"),
        ("no htm", dpop_proof(t, alice, nonce=nonce, drop=["htm"]), "missing_claim"),
        ("no htu", dpop_proof(t, alice, nonce=nonce, drop=["htu"]), "missing_claim"),
        ("no iat", dpop_proof(t, alice, nonce=nonce, drop=["iat"]), "missing_claim"),
        ("empty jti", dpop_proof(t, alice, nonce=nonce, jti="", claims={"jti": ""}), "jti"),
        ("htm GET", dpop_proof(t, alice, nonce=nonce, htm="GET"), "htm"),
        ("htm post (methods are case-sensitive)", dpop_proof(t, alice, nonce=nonce, htm="post"), "htm"),
        ("htu of /oauth/revoke", dpop_proof(t, alice, nonce=nonce, path="/oauth/revoke"), "htu"),
        ("htu with a query", dpop_proof(t, alice, nonce=nonce, path="/oauth/token?a=1"), "htu"),
        ("htu with a fragment", dpop_proof(t, alice, nonce=nonce, path="/oauth/token#x"), "htu"),
        ("htu over http", dpop_proof(t, alice, nonce=nonce, htu=f"http://localhost:{port}/oauth/token"), "htu"),
        ("htu of another port", dpop_proof(t, alice, nonce=nonce, htu=f"https://localhost:{port + 1}/oauth/token"),
         "htu"),
        ("htu of another host name", dpop_proof(t, alice, nonce=nonce, htu=f"https://127.0.0.1:{port}/oauth/token"),
         "htu"),
        ("iat 301 s old", dpop_proof(t, alice, nonce=nonce, iat=now - 301), "iat"),
        ("iat 60 s ahead", dpop_proof(t, alice, nonce=nonce, iat=now + 60), "iat"),
        ("iat a string", dpop_proof(t, alice, nonce=nonce, iat=str(now)), "iat"),
    ]
    for name, proof, reason in defects:
        reply = post_token(t, login_params(), proof)
        check_error(f"proof refused: {name}", reply, 400, "invalid_dpop_proof")
        logged = t.control("GET", "log")[-1]["dpop"]
        check(f"  counted as {reason}", logged["result"] == reason, logged)
    refused = dpop_stats(t)["proofs"]["refused"]
    check("stats: refusals by reason", refused.get("signature") == 3 and refused.get("htu") == 6
          and refused.get("missing_claim") == 4 and refused.get("jwk") == 4, refused)

    proof = dpop_proof(t, alice, nonce=nonce)
    check("a fresh proof is taken", post_token(t, login_params(), proof).status == 200)
    reply = post_token(t, login_params(), proof)
    check_error("the same proof again: jti replay", reply, 400, "invalid_dpop_proof",
                "DPoP proof jti has already been used")
    check("the replay refusal carries the nonce", reply.headers.get("dpop-nonce") == nonce)
    conn = t.conn()
    body = urlencode(login_params()).encode()
    conn.putrequest("POST", "/oauth/token")
    for name, value in (("Content-Type", "application/x-www-form-urlencoded"), ("Content-Length", str(len(body))),
                        ("DPoP", dpop_proof(t, alice, nonce=nonce)), ("DPoP", dpop_proof(t, alice, nonce=nonce))):
        conn.putheader(name, value)
    conn.endheaders(body)
    response = conn.getresponse()
    reply = Reply(response.status, response.getheaders(), response.read())
    conn.close()
    check_error("two DPoP headers", reply, 400, "invalid_dpop_proof", "Multiple DPoP headers")

    accepted = [
        ("iat as a fraction (the docs' Date.now() / 1000)", dpop_proof(t, alice, nonce=nonce, iat=time.time())),
        ("iat 290 s old", dpop_proof(t, alice, nonce=nonce, iat=now - 290)),
        ("iat 20 s ahead", dpop_proof(t, alice, nonce=nonce, iat=now + 20)),
        ("htu normalised: host case, escaped unreserved characters",
         dpop_proof(t, alice, nonce=nonce, htu=f"HTTPS://LocalHost:{port}/oauth/%74oken")),
        ("extra jwk members (kid, use) and claims", dpop_proof(t, alice, nonce=nonce, header={
            "jwk": dict(alice.jwk(), kid="k1", use="sig")}, claims={"foo": "bar"})),
    ]
    for name, proof in accepted:
        reply = post_token(t, login_params(), proof)
        check(f"proof taken: {name}", reply.status == 200 and reply.json["token_type"] == "DPoP", reply.body)
    reply = post_token(t, login_params(), dpop_proof(t, alice, nonce=nonce, header={
        "jwk": dict(alice.jwk(), kid="k1")}))
    check("extra jwk members do not change the thumbprint",
          claims_of(reply.json["access_token"])["cnf"]["jkt"] == alice.thumbprint())

    # RS256, the docs' other example
    modulus = openssl("rsa", "-pubin", "-noout", "-modulus", data=keys.public("a").encode()).decode()
    n = int(modulus.strip().split("=", 1)[1], 16)
    rsa_jwk = {"kty": "RSA", "n": b64url(n.to_bytes((n.bit_length() + 7) // 8, "big")), "e": "AQAB"}
    reply = post_token(t, login_params(), dpop_proof(t, alice, nonce=nonce, header={"alg": "RS256", "jwk": rsa_jwk},
                                                     signer=lambda d: keys.sign("a", "RS256", d)))
    rsa_jkt = b64url(hashlib.sha256(('{"e":"AQAB","kty":"RSA","n":"%s"}' % rsa_jwk["n"]).encode()).digest())
    check("RS256 proof taken, bound to the RSA key's thumbprint", reply.status == 200
          and claims_of(reply.json["access_token"])["cnf"]["jkt"] == rsa_jkt, reply.body)
    modulus = openssl("rsa", "-pubin", "-noout", "-modulus", data=keys.public("small").encode()).decode()
    n = int(modulus.strip().split("=", 1)[1], 16)
    small_jwk = {"kty": "RSA", "n": b64url(n.to_bytes((n.bit_length() + 7) // 8, "big")), "e": "AQAB"}
    reply = post_token(t, login_params(), dpop_proof(t, alice, nonce=nonce, header={"alg": "RS256",
                                                                                    "jwk": small_jwk},
                                                     signer=lambda d: keys.sign("small", "RS256", d)))
    check_error("RS256 with a 1024-bit key refused", reply, 400, "invalid_dpop_proof")
    reply = post_token(t, login_params(password="nope"), dpop_proof(t, alice, nonce=nonce))
    check_error("a grant's own refusal still comes", reply, 403, "invalid_grant", "Wrong email or password.")
    check("and carries the nonce", reply.headers.get("dpop-nonce") == nonce, reply.headers)
    reply = t.login("a0alice")
    check("no DPoP header: Bearer as before, no nonce header", reply.status == 200
          and reply.json["token_type"] == "Bearer" and "cnf" not in claims_of(reply.json["access_token"])
          and "dpop-nonce" not in reply.headers)
    t.reset()


def test_dpop_nonce(t):
    key = EcKey()
    params = login_params(client_id="pam-confidential", client_secret=CONFIDENTIAL_SECRET)
    reply = post_token(t, params, dpop_proof(t, key))
    check("confidential client: no nonce needed, none sent", reply.status == 200
          and reply.json["token_type"] == "DPoP" and "dpop-nonce" not in reply.headers, reply.body)
    client = DpopClient(t, key)
    check("public client: nonce learnt, retried once", client.login().status == 200 and client.nonce)
    old = client.nonce
    new = t.control("POST", "rotate-dpop-nonce")["nonce"]
    check("rotate-dpop-nonce gives a new nonce", new and new != old)
    reply = post_token(t, login_params(), dpop_proof(t, key, nonce=old))
    check_error("a stale nonce: use_dpop_nonce", reply, 400, "use_dpop_nonce")
    check("with the new nonce in DPoP-Nonce", reply.headers.get("dpop-nonce") == new, reply.headers)
    check("counted as nonce_stale", dpop_stats(t)["proofs"]["refused"].get("nonce_stale") == 1)
    reply = client.login()
    check("the client retries with the new nonce", reply.status == 200 and client.nonce == new)
    t.control("POST", "settings", {"dpop_nonce": "never"})
    reply = post_token(t, login_params(), dpop_proof(t, key))
    check("dpop_nonce never: public client without nonce", reply.status == 200 and "dpop-nonce" not in reply.headers,
          reply.body)
    t.control("POST", "settings", {"dpop_nonce": "all_clients"})
    check_error("dpop_nonce all_clients: confidential client needs it too", post_token(t, params, dpop_proof(t, key)),
                400, "use_dpop_nonce", NONCE_REQUIRED)
    reply = t.request("POST", "/__control/settings", json_body={"dpop_nonce": "sometimes"})
    check("dpop_nonce takes only its modes", reply.status == 400, reply.body)
    t.reset()
    check("reset: public_clients again", t.control("GET", "settings")["dpop_nonce"] == "public_clients")
    check_error("and nonces are demanded again", post_token(t, login_params(), dpop_proof(t, key)), 400,
                "use_dpop_nonce")
    t.reset()


def test_dpop_refresh(t):
    alice = DpopClient(t)
    other = DpopClient(t)
    reply = alice.login()
    rt = reply.json["refresh_token"]
    reply = other.refresh(rt)
    check_error("refresh with another key refused", reply, 400, "invalid_dpop_proof",
                "The DPoP proof key does not match the refresh token's binding")
    check_error("refresh without a proof refused", t.refresh(rt), 400, "invalid_dpop_proof",
                "A DPoP proof is required for a DPoP-bound refresh token")
    stats = dpop_stats(t)
    check("stats: binding refusals by reason", stats["binding_refused"] == {"refresh_key_mismatch": 1,
                                                                            "refresh_proof_missing": 1}, stats)
    reply = alice.refresh(rt)
    body = reply.json or {}
    check("refresh with the same key: DPoP, bound to it (refusals spent nothing)", reply.status == 200
          and body.get("token_type") == "DPoP" and claims_of(body["access_token"])["cnf"]["jkt"]
          == alice.key.thumbprint() and body.get("refresh_token") not in (None, rt), reply.body)
    rt = body["refresh_token"]
    check_error("the rotated token is bound too", other.refresh(rt), 400, "invalid_dpop_proof")
    reply = alice.refresh(rt, audience=OTHER_API, scope="openid offline_access")
    check("refresh to an API without sender constraining: Bearer, no cnf", reply.status == 200
          and reply.json["token_type"] == "Bearer" and "cnf" not in claims_of(reply.json["access_token"]), reply.body)
    rt = reply.json["refresh_token"]
    reply = alice.refresh(rt, audience=f"urn:localhost:{t.port}:session_transfer")
    check("session transfer with the key: N_A", reply.status == 200 and reply.json["token_type"] == "N_A", reply.body)
    rt = reply.json["refresh_token"]
    check_error("session transfer with another key refused", other.refresh(rt, audience=f"urn:localhost:{t.port}:"
                                                                                       "session_transfer"),
                400, "invalid_dpop_proof")

    reply = t.login("a0bob")
    plain = reply.json["refresh_token"]
    reply = alice.refresh(plain)
    check("an unbound refresh token refreshed with a proof: a bound access token", reply.status == 200
          and reply.json["token_type"] == "DPoP"
          and claims_of(reply.json["access_token"])["cnf"]["jkt"] == alice.key.thumbprint(), reply.body)
    reply = t.refresh(reply.json["refresh_token"])
    check("the family stays unbound: a refresh without proof works", reply.status == 200
          and reply.json["token_type"] == "Bearer", reply.body)

    key = EcKey()
    conf = login_params(client_id="pam-confidential", client_secret=CONFIDENTIAL_SECRET)
    reply = post_token(t, conf, dpop_proof(t, key))
    rt = reply.json["refresh_token"]
    refresh = {"grant_type": "refresh_token", "client_id": "pam-confidential", "client_secret": CONFIDENTIAL_SECRET,
               "refresh_token": rt}
    check_error("a confidential client's refresh token is bound too", post_token(t, refresh, dpop_proof(t, EcKey())),
                400, "invalid_dpop_proof")
    reply = post_token(t, refresh, dpop_proof(t, key))
    check("and refreshes with its key", reply.status == 200 and reply.json["token_type"] == "DPoP"
          and "refresh_token" not in reply.json, reply.body)
    check("stats: bound families", dpop_stats(t)["bound_refresh_families"] == 2)
    t.reset()


def test_dpop_mfa(t):
    alice = DpopClient(t)
    reply = alice.login("a0otp", scope="openid offline_access")
    check_error("MFA still required with a proof", reply, 403, "mfa_required")
    check("the mfa_required answer carries the nonce", reply.headers.get("dpop-nonce") == alice.nonce)
    mfa_token = reply.json["mfa_token"]
    otp = {"grant_type": OTP_GRANT, "client_id": "pam-native", "mfa_token": mfa_token,
           "otp": totp("JBSWY3DPEHPK3PXP", time.time())}
    proof = dpop_proof(t, alice.key, nonce=alice.nonce, htm="GET")
    check_error("a bad proof on the OTP grant", post_token(t, otp, proof), 400, "invalid_dpop_proof")
    proof = dpop_proof(t, alice.key, nonce=alice.nonce)
    reply = post_token(t, otp, proof)
    check("OTP grant with a proof: DPoP", reply.status == 200 and reply.json["token_type"] == "DPoP"
          and claims_of(reply.json["access_token"])["cnf"]["jkt"] == alice.key.thumbprint(), reply.body)
    check_error("its refresh token is bound", DpopClient(t).refresh(reply.json["refresh_token"]), 400,
                "invalid_dpop_proof")
    reply = alice.login("a0otp", scope="openid")
    otp["mfa_token"] = reply.json["mfa_token"]
    check_error("a replayed proof on the OTP grant", post_token(t, otp, proof), 400, "invalid_dpop_proof",
                "DPoP proof jti has already been used")
    log = t.control("GET", "log")
    check("log: one key through the logins", {r["dpop"]["jkt"] for r in log if r["dpop"] and r["grant_type"]
                                              in (REALM_GRANT, OTP_GRANT) and r["dpop"]["result"] == "accepted"}
          == {alice.key.thumbprint()}, log)

    reply = alice.login("a0recovery", scope="openid")
    recovery = {"grant_type": RECOVERY_GRANT, "client_id": "pam-native", "mfa_token": reply.json["mfa_token"],
                "recovery_code": "ABCDEFGHJKLMNPQRSTUVWXYZ"}
    t.secrets_seen.add("ABCDEFGHJKLMNPQRSTUVWXYZ")
    reply = post_token(t, recovery, dpop_proof(t, alice.key, nonce=alice.nonce, path="/mfa/challenge"))
    check_error("a bad proof spends no recovery code", reply, 400, "invalid_dpop_proof")
    reply = alice.token(**recovery)
    check("recovery-code grant with a proof: DPoP and a new code", reply.status == 200
          and reply.json["token_type"] == "DPoP" and reply.json.get("recovery_code"), reply.body)

    t.control("POST", "client", {"client_id": "pam-native", "require_proof_of_possession": True})
    reply = t.login("a0otp", scope="openid")
    check_error("an application requiring proofs: refused before MFA starts", reply, 400, "invalid_request")
    t.reset()


def test_dpop_policies(t):
    dpop = DpopClient(t)
    reply = t.login("a0alice", client_id="pam-dpop")
    check_error("Require Sender Constraining, no proof: not issued", reply, 400, "invalid_request",
                "A DPoP proof is required by the application")
    reply = dpop.login(client_id="pam-dpop")
    check("with a proof: DPoP", reply.status == 200 and reply.json["token_type"] == "DPoP", reply.body)
    reply = dpop.login(client_id="pam-dpop", audience=OTHER_API)
    check_error("requiring application, API without sender constraining: not issued", reply, 400,
                "invalid_request", f"Sender constraining is not enabled for the audience: {OTHER_API}")
    reply = dpop.login(audience=OTHER_API)
    check("API without sender constraining, proof sent: Bearer (issued, not sender-constrained)",
          reply.status == 200 and reply.json["token_type"] == "Bearer"
          and "cnf" not in claims_of(reply.json["access_token"]), reply.body)
    check_error("  but its refresh token is bound", t.refresh(reply.json["refresh_token"]), 400,
                "invalid_dpop_proof")
    reply = dpop.login(audience=None, scope="openid")
    at = claims_of(reply.json["access_token"])
    check("/userinfo only, proof sent: bound", reply.json["token_type"] == "DPoP" and at["aud"] == t.issuer +
          "userinfo" and at["cnf"]["jkt"] == dpop.key.thumbprint(), reply.body)
    check_error("/userinfo only, requiring application, no proof: not issued",
                t.login("a0alice", client_id="pam-dpop", audience=None), 400, "invalid_request")

    t.control("POST", "resource-server", {"identifier": API, "proof_of_possession": {"mechanism": "dpop",
                                                                                     "required": True}})
    check_error("API requiring sender constraining, no proof: not issued", t.login("a0alice"), 400,
                "invalid_request", f"A DPoP proof is required for the audience: {API}")
    check("with a proof: DPoP", dpop.login().json.get("token_type") == "DPoP")
    t.control("POST", "resource-server", {"identifier": API, "proof_of_possession": {
        "mechanism": "dpop", "required": True, "required_for": "public_clients"}})
    check_error("required for public applications: a public one without proof refused", t.login("a0alice"), 400,
                "invalid_request")
    reply = t.login("a0alice", client_id="pam-confidential", client_secret=CONFIDENTIAL_SECRET)
    check("  a confidential one without proof gets Bearer", reply.status == 200
          and reply.json["token_type"] == "Bearer", reply.body)
    stats = dpop_stats(t)["not_issued"]
    check("stats: tokens not issued, by reason", stats == {"client_requires_proof": 2,
                                                          "api_without_sender_constraining": 1,
                                                          "api_requires_proof": 2}, stats)

    key = EcKey()
    cc_params = {"grant_type": "client_credentials", "client_id": "sync-client", "client_secret": SYNC_SECRET,
                 "audience": API}
    reply = post_token(t, cc_params, dpop_proof(t, key))
    check("client credentials with a proof: DPoP", reply.status == 200 and reply.json["token_type"] == "DPoP"
          and claims_of(reply.json["access_token"])["cnf"]["jkt"] == key.thumbprint(), reply.body)
    reply = post_token(t, dict(cc_params, audience=t.issuer + "api/v2/"), dpop_proof(t, key))
    check("  for the Management API (no sender constraining): Bearer", reply.status == 200
          and reply.json["token_type"] == "Bearer", reply.body)

    for name, payload in (("mtls (the fake has none)", {"identifier": API, "proof_of_possession": {
                              "mechanism": "mtls", "required": True}}),
                          ("required not a boolean", {"identifier": API, "proof_of_possession": {
                              "mechanism": "dpop", "required": "yes"}}),
                          ("required without a mechanism", {"identifier": API, "proof_of_possession": {
                              "mechanism": "none", "required": True}}),
                          ("an unknown API", {"identifier": "https://nope.example.com/", "proof_of_possession": None})):
        check(f"resource-server refuses {name}", t.request("POST", "/__control/resource-server",
                                                           json_body=payload).status == 400)
    reply = t.request("POST", "/__control/client", json_body={"client_id": "pam-native",
                                                             "require_proof_of_possession": "yes"})
    check("client: require_proof_of_possession must be a boolean", reply.status == 400)
    t.control("POST", "resource-server", {"identifier": API, "proof_of_possession": None})
    check("proof_of_possession null: proofs give Bearer tokens", dpop.login().json.get("token_type") == "Bearer")
    t.reset()
    check("reset restores the data file's policies", dpop.login().json.get("token_type") == "DPoP"
          and t.login("a0alice").status == 200)
    t.reset()


def test_dpop_token_vault(t):
    t.secrets_seen.add(BROKER_SECRET)
    key = EcKey()
    reply = post_token(t, login_params(client_id="broker-secret", client_secret=BROKER_SECRET), dpop_proof(t, key))
    rt = reply.json["refresh_token"]
    store(t, access_token="ya29.alice-dpop", scope="openid", expires_in=3600)
    t.secrets_seen.add("ya29.alice-dpop")
    params = {"grant_type": VAULT_GRANT, "subject_token": rt, "subject_token_type": TT_REFRESH,
              "requested_token_type": FEDERATED_AT, "connection": GOOGLE, "client_id": "broker-secret",
              "client_secret": BROKER_SECRET}
    check_error("a bound refresh token as subject, no proof", vault(t, rt), 400, "invalid_dpop_proof")
    check_error("  with another key's proof", post_token(t, params, dpop_proof(t, EcKey())), 400,
                "invalid_dpop_proof")
    reply = post_token(t, params, dpop_proof(t, key))
    check("  with its key: the provider's token, Bearer", reply.status == 200
          and reply.json["access_token"] == "ya29.alice-dpop" and reply.json["token_type"] == "Bearer", reply.body)
    check_error("  a bad proof is refused first", post_token(t, params, dpop_proof(t, key, htm="PUT")), 400,
                "invalid_dpop_proof", "DPoP Proof htm mismatch")
    t.reset()


def resource(t, token, key=None, method="GET", path="/__resource/things", query="", scheme="DPoP", proof=None,
             **proof_args):
    headers = {"Authorization": f"{scheme} {token}"} if token else {}
    if proof or key:
        headers["DPoP"] = proof or dpop_proof(t, key, htm=method, path=path, access_token=token, **proof_args)
    return t.request(method, path + query, headers=headers)


def check_resource_refusal(name, reply, error, description=None, status=401):
    body = reply.json or {}
    challenge = reply.headers.get("www-authenticate", "")
    ok = (reply.status == status and body.get("error") == error
          and (description is None or body.get("error_description") == description)
          and challenge.startswith(f'DPoP error="{error}"') and challenge.endswith(DPOP_ALGS_HEADER))
    check(name, ok, f"got {reply.status} {challenge!r} {reply.body[:300]!r}")


def test_dpop_resource(t):
    alice = DpopClient(t)
    token = alice.login().json["access_token"]
    key = alice.key
    reply = resource(t, token, key)
    body = reply.json or {}
    check("resource: DPoP token and proof", reply.status == 200 and body.get("sub") == ALICE
          and body.get("token_type") == "DPoP" and body.get("jkt") == key.thumbprint()
          and body.get("azp") == "pam-native" and body.get("path") == "/__resource/things", reply.body)
    check("resource: the query is not part of htu", resource(t, token, key, query="?page=2&q=x").status == 200)
    check("resource: POST with htm POST", resource(t, token, key, method="POST", path="/__resource/a/b").status == 200)
    check("resource: htu normalised (host case)", resource(t, token, key, htu=f"https://LOCALHOST:{t.port}"
                                                                             "/__resource/things").status == 200)
    proof = dpop_proof(t, key, htm="GET", path="/__resource/things", access_token=token)
    check("resource: a fresh proof", resource(t, token, proof=proof).status == 200)
    check_resource_refusal("resource: the same proof again", resource(t, token, proof=proof), "invalid_dpop_proof",
                           "DPoP proof jti has already been used")
    get_proof = dpop_proof(t, key, htm="GET", path="/__resource/things", access_token=token)
    check_resource_refusal("resource: a proof for another method", resource(t, token, method="POST", proof=get_proof),
                           "invalid_dpop_proof", "DPoP Proof htm mismatch")
    check_resource_refusal("resource: a proof for another URL",
                           resource(t, token, key, htu=t.issuer + "__resource/other"),
                           "invalid_dpop_proof", "DPoP Proof htu mismatch")
    check_resource_refusal("resource: a proof for the token endpoint",
                           resource(t, token, proof=dpop_proof(t, key, access_token=token)), "invalid_dpop_proof")
    check_resource_refusal("resource: a proof without ath",
                           resource(t, token, proof=dpop_proof(t, key, htm="GET", path="/__resource/things")),
                           "invalid_dpop_proof", "Missing \"ath\" claim in DPoP proof")
    check_resource_refusal("resource: ath of another token",
                           resource(t, token, proof=dpop_proof(t, key, htm="GET", path="/__resource/things",
                                                               access_token=token + "x")),
                           "invalid_dpop_proof", "DPoP Proof \"ath\" mismatch")
    check_resource_refusal("resource: an old proof", resource(t, token, key, iat=int(time.time()) - 400),
                           "invalid_dpop_proof")
    check_resource_refusal("resource: a bad signature", resource(t, token, key, signer=EcKey().sign),
                           "invalid_dpop_proof")
    reply = resource(t, token, EcKey())
    check_resource_refusal("resource: the token presented with another key", reply, "invalid_token",
                           "JWT Access Token confirmation mismatch")
    check_resource_refusal("resource: DPoP scheme without a proof", resource(t, token), "invalid_dpop_proof",
                           "DPoP proof is missing")
    reply = resource(t, None)
    check("resource: no credentials: 401, a challenge without error", reply.status == 401
          and reply.headers.get("www-authenticate") == 'DPoP ' + DPOP_ALGS_HEADER, reply.headers)
    check_resource_refusal("resource: the DPoP-bound token as Bearer", resource(t, token, scheme="Bearer"),
                           "invalid_token")
    check_resource_refusal("resource: a garbage token", resource(t, "abc.def.ghi", key), "invalid_token",
                           "Invalid token")
    bearer = t.login("a0bob").json["access_token"]
    check_resource_refusal("resource: a Bearer token (DPoP required)", resource(t, bearer, scheme="Bearer"),
                           "invalid_token")
    check_resource_refusal("resource: an unbound token with the DPoP scheme", resource(t, bearer, key),
                           "invalid_token", "JWT Access Token has no jkt confirmation claim")
    userinfo_only = alice.login(audience=None, scope="openid").json["access_token"]
    check_resource_refusal("resource: a token for /userinfo only", resource(t, userinfo_only, key), "invalid_token")
    reply = resource(t, token, key, scheme="dpop")
    check("resource: the scheme's case does not matter", reply.status == 200, reply.body)
    stats = dpop_stats(t)["resource"]
    check("stats: resource requests accepted and refused by reason", stats["accepted"] == 6
          and stats["refused"].get("jti_replay") == 1 and stats["refused"].get("jkt_mismatch") == 1
          and stats["refused"].get("bearer_scheme") == 2 and stats["refused"].get("no_credentials") == 1
          and stats["refused"].get("htm") == 2 and stats["refused"].get("ath") == 2, stats)
    record = [r for r in t.control("GET", "log") if r["path"].startswith("/__resource")][0]
    check("log: a resource request", record["user_id"] == ALICE[len("auth0|"):] and record["token_type"] == "DPoP"
          and record["dpop"]["htu"] == t.issuer + "__resource/things" and record["dpop"]["ath"] is True
          and record["status"] == 200 and record["client_id"] == "pam-native", record)

    t.control("POST", "settings", {"resource_dpop_required": False})
    reply = resource(t, bearer, scheme="Bearer")
    check("resource, DPoP allowed: a Bearer token", reply.status == 200 and reply.json["token_type"] == "Bearer",
          reply.body)
    reply = resource(t, token, scheme="Bearer")
    check("resource, DPoP allowed: the DPoP-bound token as Bearer refused", reply.status == 401
          and reply.headers.get("www-authenticate") == 'Bearer realm="api", error="invalid_token", '
          'error_description="DPoP-bound token requires the DPoP authentication scheme, not Bearer.", DPoP '
          + DPOP_ALGS_HEADER, reply.headers)
    reply = resource(t, token, EcKey())
    check("resource, DPoP allowed: the error goes in the DPoP challenge", reply.status == 401
          and reply.headers.get("www-authenticate", "").startswith('Bearer realm="api", DPoP error="invalid_token"'),
          reply.headers)
    check("resource, DPoP allowed: DPoP still works", resource(t, token, key).status == 200)
    t.reset()


def test_dpop_userinfo_and_revoke(t):
    alice = DpopClient(t)
    reply = alice.login(audience=None, scope="openid profile offline_access")
    token, rt = reply.json["access_token"], reply.json["refresh_token"]
    proof = dpop_proof(t, alice.key, htm="GET", path="/userinfo", access_token=token)
    headers = {"Authorization": f"DPoP {token}", "DPoP": proof}
    reply = t.request("GET", "/userinfo", headers=headers)
    check("/userinfo with DPoP", reply.status == 200 and reply.json["sub"] == ALICE, reply.body)
    reply = t.request("GET", "/userinfo", headers=headers)
    check("/userinfo takes the same proof again (Auth0 does not check jti there)", reply.status == 200, reply.body)
    reply = t.request("GET", "/userinfo", headers={"Authorization": f"Bearer {token}"})
    check("/userinfo refuses the bound token as Bearer", reply.status == 401 and reply.body == b"Unauthorized"
          and reply.headers.get("www-authenticate", "").startswith('DPoP error="invalid_token"'), reply.headers)
    reply = t.request("GET", "/userinfo", headers={"Authorization": f"DPoP {token}", "DPoP": dpop_proof(
        t, alice.key, htm="GET", path="/oauth/token", access_token=token)})
    check("/userinfo refuses a proof for another URL", reply.status == 401
          and reply.headers.get("www-authenticate", "").startswith('DPoP error="invalid_dpop_proof"'), reply.headers)
    reply = t.request("GET", "/userinfo", headers={"Authorization": f"DPoP {token}", "DPoP": dpop_proof(
        t, EcKey(), htm="GET", path="/userinfo", access_token=token)})
    check("/userinfo refuses another key", reply.status == 401, reply.headers)
    stats = dpop_stats(t)["userinfo"]
    check("stats: userinfo", stats["accepted"] == 2 and stats["refused"] == {
        "bound_token_as_bearer": 1, "htu": 1, "jkt_mismatch": 1}, stats)

    revoke = {"client_id": "pam-native", "token": rt}
    reply = t.request("POST", "/oauth/revoke", form=revoke, headers={"DPoP": dpop_proof(t, alice.key, htm="GET",
                                                                                          path="/oauth/revoke")})
    check("revoke with a bad proof: 200 all the same", reply.status == 200, reply.body)
    check_error("  and the token is revoked", alice.refresh(rt), 403, "invalid_grant")
    reply = alice.login()
    rt = reply.json["refresh_token"]
    reply = t.request("POST", "/oauth/revoke", form={"client_id": "pam-native", "token": rt},
                      headers={"DPoP": dpop_proof(t, alice.key, path="/oauth/revoke")})
    check("revoke with a good proof", reply.status == 200)
    reply = t.request("POST", "/oauth/revoke", form={"client_id": "pam-native", "token": alice.login().json[
        "refresh_token"]})
    check("revoke of a bound token without proof (as Auth0.swift does)", reply.status == 200)
    check("stats: revoke proofs checked, not enforced", dpop_stats(t)["revoke_proofs"] == {"valid": 1, "invalid": 1})
    t.reset()


# ---------------------------------------------------------------------- passwordless

PASSWORDLESS_GRANT = "http://auth0.com/oauth/grant-type/passwordless/otp"


def pwl_start(t, connection="email", client_id="pam-native", **fields):
    body = {"client_id": client_id, "connection": connection, "send": "code", **fields}
    return t.request("POST", "/passwordless/start", json_body=body)


def pwl_code(t, to):
    sent = [m for m in t.control("GET", "passwordless/outbox") if m["to"] == to]
    return sent[-1]["code"] if sent else None


def pwl_grant(t, username, otp, realm="email", client_id="pam-native", scope=FULL_SCOPE, **extra):
    return t.token(grant_type=PASSWORDLESS_GRANT, client_id=client_id, username=username, otp=otp, realm=realm,
                   scope=scope, **extra)


def wrong_code(code):
    # Not a run of one digit: "000000" occurs in the log's user_ids, and the secret sweep would
    # count it as a leak.
    return "987654" if code != "987654" else "987653"


def test_passwordless_start(t):
    reply = pwl_start(t, email="a0alice@example.com")
    check("start email 200", reply.status == 200 and reply.json.get("email") == "a0alice@example.com"
          and reply.json.get("email_verified") is False and re.match(r"^[0-9a-f]{24}$", reply.json.get("_id", "")),
          reply.body)
    sent = t.control("GET", "passwordless/outbox")
    check("outbox holds the code", len(sent) == 1 and sent[0]["connection"] == "email" and sent[0]["send"] == "code"
          and re.match(r"^[0-9]{6}$", sent[0]["code"] or ""), sent)
    reply = pwl_start(t, "sms", phone_number="+15550100001")
    check("start sms 200", reply.status == 200 and reply.json.get("phone_number") == "+15550100001", reply.body)
    check_error("no client_id", t.request("POST", "/passwordless/start", json_body={"connection": "email"}),
                400, "bad.client_id", "Missing required property: client_id")
    check_error("no connection", pwl_start(t, None, email="a0alice@example.com"), 400, "bad.connection",
                "Missing required property: connection")
    check_error("unknown connection", pwl_start(t, "nope", email="a0alice@example.com"), 400, "bad.connection",
                "Connection does not exist")
    check_error("database connection", pwl_start(t, DB, email="a0alice@example.com"), 400, "bad.connection",
                "Invalid connection strategy. It must either be a passwordless connection")
    check_error("connection disabled for the client", pwl_start(t, client_id="broker-secret",
                                                                client_secret="test-broker-secret:+/%7E-444",
                                                                email="a0alice@example.com"),
                400, "bad.connection", "Connection is disabled")
    check_error("confidential client without secret", pwl_start(t, client_id="pam-confidential",
                                                                email="a0alice@example.com"), 401, "access_denied")
    check_error("no phone_number", pwl_start(t, "sms"), 400, "bad.phone_number",
                "Missing required property: phone_number")
    check_error("bad phone_number", pwl_start(t, "sms", phone_number="555-0100"), 400, "bad.phone_number",
                "String does not match pattern: ^\\+[0-9]{1,15}$")
    check_error("no email", pwl_start(t), 400, "bad.email")
    check_error("bad email", pwl_start(t, email="not-an-address"), 400, "bad.email")
    check_error("authParams not an object", pwl_start(t, email="a0alice@example.com", authParams="x"), 400,
                "bad.authParams", "error in authParams - invalid type: string (expected object)")
    t.control("POST", "passwordless", {"connection": "email", "rate_limit_per_hour": 1})
    check("first start under the limit", pwl_start(t, email="a0bob@example.com").status == 200)
    reply = pwl_start(t, email="a0bob@example.com")
    check_error("rate limited", reply, 429, "too_many_requests")
    check("rate limit headers", reply.headers.get("x-ratelimit-remaining") == "0"
          and reply.headers.get("x-ratelimit-reset") is not None, reply.headers)
    t.control("DELETE", "passwordless/outbox")
    check("outbox cleared", t.control("GET", "passwordless/outbox") == [])
    t.reset()


def test_passwordless_grant(t):
    pwl_start(t, email="a0alice@example.com")
    code = pwl_code(t, "a0alice@example.com")
    check_error("wrong email code", pwl_grant(t, "a0alice@example.com", wrong_code(code)), 403, "invalid_grant",
                "Wrong email or verification code.")
    reply = pwl_grant(t, "A0Alice@example.com", code, audience=API)
    check("email code signs in", reply.status == 200 and "refresh_token" in reply.json, reply.body)
    check("passwordless tokens are a0alice's", reply.status == 200
          and claims_of(reply.json["id_token"])["sub"] == "auth0|6a0000000000000000000001")
    record = t.control("GET", "log")[-1]
    check("grant logged", record["grant_type"] == PASSWORDLESS_GRANT and record["username"] == "a0alice"
          and record["realm"] == "email", record)
    check_error("code used once", pwl_grant(t, "a0alice@example.com", code), 403, "invalid_grant",
                "Wrong email or verification code.")

    pwl_start(t, "sms", phone_number="+15550100001")
    code = pwl_code(t, "+15550100001")
    check_error("wrong sms code", pwl_grant(t, "+15550100001", wrong_code(code), realm="sms"), 403, "invalid_grant",
                "Wrong phone number or verification code.")
    reply = pwl_grant(t, "+15550100001", code, realm="sms")
    check("sms code signs in", reply.status == 200 and "access_token" in reply.json, reply.body)

    pwl_start(t, email="a0alice@example.com")
    first = pwl_code(t, "a0alice@example.com")
    pwl_start(t, email="a0alice@example.com")
    second = pwl_code(t, "a0alice@example.com")
    if first != second:
        check_error("only the last code counts", pwl_grant(t, "a0alice@example.com", first), 403, "invalid_grant")
    for attempt in range(3):
        pwl_grant(t, "a0alice@example.com", wrong_code(second))
    check_error("three failures use the code up", pwl_grant(t, "a0alice@example.com", second), 403,
                "invalid_grant", "You've reached the maximum number of attempts. Please try to login again.")

    pwl_start(t, email="a0alice@example.com")
    code = pwl_code(t, "a0alice@example.com")
    t.control("POST", "passwordless", {"expire_codes": True})
    check_error("expired code", pwl_grant(t, "a0alice@example.com", code), 403, "invalid_grant",
                "The verification code has expired. Please try to login again.")

    pwl_start(t, email="a0otp@example.com")
    reply = pwl_grant(t, "a0otp@example.com", pwl_code(t, "a0otp@example.com"))
    check_error("mfa after passwordless", reply, 403, "mfa_required")
    check("mfa_token after passwordless", bool((reply.json or {}).get("mfa_token")))

    pwl_start(t, email="a0blocked@example.com")
    check_error("blocked user", pwl_grant(t, "a0blocked@example.com", pwl_code(t, "a0blocked@example.com")), 403,
                "invalid_grant", "user is blocked")
    pwl_start(t, email="nobody@example.com")
    check("unknown address still gets a code", pwl_code(t, "nobody@example.com") is not None)
    check_error("unknown address refused", pwl_grant(t, "nobody@example.com", pwl_code(t, "nobody@example.com")),
                403, "access_denied")

    pwl_start(t, email="a0alice@example.com", client_id="no-mfa-grants")
    check_error("grant not enabled", pwl_grant(t, "a0alice@example.com", pwl_code(t, "a0alice@example.com"),
                                               client_id="no-mfa-grants"), 403, "unauthorized_client",
                f"Grant type `{PASSWORDLESS_GRANT}` not allowed for the client.")
    check_error("unknown realm", pwl_grant(t, "a0alice@example.com", "123456", realm="nope"), 400,
                "invalid_request")
    check_error("missing otp", t.token(grant_type=PASSWORDLESS_GRANT, client_id="pam-native",
                                       username="a0alice@example.com", realm="email"), 400, "invalid_request")
CTE_TYPE = "urn:acme:legacy-token"


def test_custom_token_exchange(t):
    """Custom Token Exchange (fake_tenant.py's section of that name): a profile per
    subject_token_type, its Action's decisions, reserved types, Suspicious IP Throttling."""
    def subject(sub, **extra):
        token = t.control("POST", "cte-subject-token", {"subject_token_type": CTE_TYPE, "sub": sub, **extra})
        t.secrets_seen.add(token["subject_token"])
        return token["subject_token"]

    def exchange(token, token_type=CTE_TYPE, client_id="pam-native", **extra):
        return t.token(grant_type="urn:ietf:params:oauth:grant-type:token-exchange", client_id=client_id,
                       subject_token=token, subject_token_type=token_type, **extra)

    alice = "auth0|6a0000000000000000000001"
    reply = exchange(subject(alice), scope=FULL_SCOPE, audience=API)
    body = reply.json or {}
    check("cte: accepted", reply.status == 200 and body.get("token_type") == "Bearer"
          and body.get("refresh_token") and claims_of(body["id_token"])["sub"] == alice
          and claims_of(body["access_token"])["sub"] == alice, reply.body[:200])
    check("cte: the refresh token works", t.refresh(body["refresh_token"]).status == 200)
    check("cte: logged with its type", t.control("GET", "log")[-2].get("subject_token_type") == CTE_TYPE)
    for reserved in ("urn:ietf:params:oauth:token-type:access_token", "urn:auth0:custom", "https://auth0.com/x",
                     "http://okta.com/y", "urn:okta:z"):
        check_error(f"cte: reserved {reserved}", exchange(subject(alice), token_type=reserved), 400,
                    "invalid_request", "Invalid subject_token_type and requested_token_type combination.")
    check_error("cte: a type without a profile", exchange(subject(alice), token_type="urn:acme:other"), 400,
                "invalid_request", "Invalid subject_token_type and requested_token_type combination.")
    check_error("cte: a bad signature", exchange(subject(alice, tamper=True)), 400, "invalid_request",
                "Invalid subject token")
    check_error("cte: expired", exchange(subject(alice, expires_in=-10)), 400, "invalid_request")
    check_error("cte: not a JWT", exchange("not-a-subject-token"), 400, "invalid_request")
    check_error("cte: a user that does not exist", exchange(subject("auth0|6a00000000000000000000ff")), 400,
                "invalid_request", "User not found")
    check_error("cte: denied by the Action", exchange(subject("auth0|6a000000000000000000000b")), 400,
                "access_denied")
    check_error("cte: grant not enabled", exchange(subject(alice), client_id="no-mfa-grants"), 403,
                "unauthorized_client")
    check_error("cte: missing subject_token", t.token(
        grant_type="urn:ietf:params:oauth:grant-type:token-exchange", client_id="pam-native",
        subject_token_type=CTE_TYPE), 400, "invalid_request", "Missing required parameter: subject_token")
    stats = t.control("GET", "stats")["custom_token_exchange"]
    check("cte: stats", stats["accepted"] == 1 and stats["rejected"].get("invalid_subject_token") == 3
          and stats["rejected"].get("no_profile") == 6, stats)
    # Ten failures from one address: throttled, a good token too.
    for _ in range(7):
        exchange("junk-subject-token")
    check_error("cte: throttled after 10 failures", exchange(subject(alice)), 429, "too_many_attempts",
                "We have detected suspicious login behavior and further attempts will be blocked. "
                "Please contact the administrator.")
    t.reset()
    # Profiles by control: a reserved one is refused as the Management API does.
    reply = t.request("POST", "/__control/cte-profile", json_body={"subject_token_type": "urn:ietf:x"})
    check("cte: control refuses a reserved type", reply.status == 400)
    t.control("POST", "cte-profile", {"subject_token_type": "https://tokens.example.org/v1", "name": "Second"})
    token = t.control("POST", "cte-subject-token", {"subject_token_type": "https://tokens.example.org/v1",
                                                    "sub": alice})["subject_token"]
    t.secrets_seen.add(token)
    check("cte: a profile added by control", exchange(token, token_type="https://tokens.example.org/v1",
                                                      scope="openid").status == 200)
    t.control("DELETE", "cte-profile", {"subject_token_type": "https://tokens.example.org/v1"})
    check_error("cte: a deleted profile", exchange(token, token_type="https://tokens.example.org/v1"), 400,
                "invalid_request")
# ----------------------------------------------------------- device authorization flow

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def device_start(t, client_id="pam-device", scope=FULL_SCOPE, audience=API, form=True):
    params = {"client_id": client_id, "scope": scope}
    if audience:
        params["audience"] = audience
    if form:
        return t.request("POST", "/oauth/device/code", form=params)
    return t.request("POST", "/oauth/device/code", json_body=params)


def device_poll(t, device_code, client_id="pam-device"):
    return t.token(grant_type=DEVICE_GRANT, client_id=client_id, device_code=device_code)


def test_device_flow(t):
    t.control("POST", "device", {"interval": 1})
    reply = device_start(t)
    body = reply.json or {}
    check("device code answer", reply.status == 200 and set(body) == {
        "device_code", "user_code", "verification_uri", "verification_uri_complete", "expires_in", "interval"},
        reply.body)
    check("device code no-store", reply.headers.get("cache-control") == "no-store")
    check("user code XXXX-XXXX in BASE20", re.fullmatch(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}",
                                                        body.get("user_code", "")) is not None, body.get("user_code"))
    check("verification uri on the tenant", body.get("verification_uri") == f"{t.issuer}activate"
          and body.get("verification_uri_complete") == f"{t.issuer}activate?user_code={body.get('user_code')}")
    check("device code lifetime and interval", body.get("expires_in") == 900 and body.get("interval") == 1, body)
    t.secrets_seen.add(body.get("device_code", ""))
    code = body["device_code"]
    check_error("poll at once: slow_down", device_poll(t, code), 429, "slow_down",
                "You are polling faster than the specified interval of 1 seconds.")
    time.sleep(1.05)
    check_error("poll within the raised interval: slow_down", device_poll(t, code), 429, "slow_down",
                "You are polling faster than the specified interval of 6 seconds.")
    listed = t.control("GET", "device")
    check("control lists the pending code", len(listed) == 1 and listed[0]["state"] == "pending"
          and listed[0]["slow_downs"] == 2 and "device_code" not in listed[0], listed)
    # Approve as a person would; the next poll in time gets the tokens for that user.
    t.control("POST", "device", {"enforce_interval": 0})
    check_error("poll pending", device_poll(t, code), 403, "authorization_pending",
                "User has yet to authorize device code.")
    t.control("POST", "device-approve", {"user_code": body["user_code"].replace("-", "").lower(), "username": "a0bob"})
    reply = device_poll(t, code)
    check("approved poll: tokens", reply.status == 200 and {"access_token", "id_token", "refresh_token"}
          <= set(reply.json or {}), reply.body)
    if reply.status == 200:
        check("ID token names the approving user", claims_of(reply.json["id_token"]).get("sub")
              == "auth0|6a0000000000000000000002", claims_of(reply.json["id_token"]).get("sub"))
    check_error("used device code", device_poll(t, code), 403, "invalid_grant")
    check_error("unknown device code", device_poll(t, "junk-device-code"), 403, "invalid_grant")

    t.control("POST", "device", {"interval": 0, "enforce_interval": None})
    # Denied: access_denied once, then invalid_grant.
    code = device_start(t, form=False).json["device_code"]
    t.secrets_seen.add(code)
    t.control("POST", "device-deny", {})
    check_error("denied", device_poll(t, code), 403, "access_denied",
                "User cancelled the confirmation prompt or consent page.")
    check_error("denied, then invalid_grant", device_poll(t, code), 403, "invalid_grant")

    # Expired: expired_token exactly once, then invalid_grant (device-flow).
    code = device_start(t).json["device_code"]
    t.secrets_seen.add(code)
    check("expire control", t.control("POST", "device-expire", {}) == {"expired": 1})
    check_error("expired", device_poll(t, code), 403, "expired_token")
    check_error("expired, then invalid_grant", device_poll(t, code), 403, "invalid_grant")
    code = device_start(t).json["device_code"]
    t.secrets_seen.add(code)
    check_error("another client's device code", device_poll(t, code, client_id="pam-native"), 403,
                "unauthorized_client")

    # The Device Code grant must be enabled for the application.
    check_error("device code without the grant", device_start(t, client_id="pam-native"), 403, "unauthorized_client",
                f"Grant type `{DEVICE_GRANT}` not allowed for the client.")
    check_error("device code for an unknown API", device_start(t, audience="https://nope.example.com/"), 403,
                "access_denied")

    # Hostile answers, for the clients' tests.
    t.control("POST", "device", {"hostile": "http"})
    body = device_start(t).json
    t.secrets_seen.add(body["device_code"])
    check("hostile http", body["verification_uri"].startswith("http://")
          and body["verification_uri_complete"].startswith("http://"), body)
    t.control("POST", "device", {"hostile": "other_domain"})
    body = device_start(t).json
    t.secrets_seen.add(body["device_code"])
    check("hostile other domain", "example.net" in body["verification_uri_complete"], body)
    t.control("POST", "device", {"hostile": "control_chars"})
    body = device_start(t).json
    t.secrets_seen.add(body["device_code"])
    check("hostile control characters", "\x1b" in body["user_code"], body)
    t.control("POST", "device", {"hostile": "oversize"})
    body = device_start(t).json
    t.secrets_seen.add(body["device_code"])
    check("hostile oversize", len(body["user_code"]) > 4000, len(body["user_code"]))
    t.control("POST", "device", {"hostile": None, "override": {"interval": 0}})
    check("override of answer members", device_start(t).json["interval"] == 0)
    stats = t.control("GET", "stats")["device"]
    check("device stats", stats["codes"] == 9 and stats["slow_down"] == 2 and stats["approved"] == 1
          and stats["denied"] == 1 and stats["expired"] == 1, stats)
    t.reset()


def test_clock(t):
    """The Date header: IMF-fixdate on every answer, moved by /__control/clock, back at reset."""
    fixdate = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                         r"\d{4} \d\d:\d\d:\d\d GMT$")

    def offset(reply):
        date = reply.headers.get("date", "")
        return fixdate.match(date) is not None, email.utils.parsedate_to_datetime(date).timestamp() - time.time()

    ok, off = offset(t.request("GET", "/.well-known/openid-configuration"))
    check("clock: Date is IMF-fixdate", ok)
    check("clock: Date is the real time", abs(off) < 3, f"off by {off}")
    t.control("POST", "clock", {"skew": 120})
    ok, off = offset(t.request("GET", "/.well-known/jwks.json"))
    check("clock: skewed Date is IMF-fixdate", ok)
    check("clock: Date 120 s ahead", abs(off - 120) < 3, f"off by {off}")
    ok, off = offset(t.request("POST", "/oauth/token", form={"grant_type": "refresh_token", "client_id": "pam-native",
                                                              "refresh_token": "not-a-token"}))
    check("clock: error answers skewed too", ok and abs(off - 120) < 3, f"off by {off}")
    t.control("POST", "clock", {"skew": -90})
    ok, off = offset(t.request("GET", "/.well-known/jwks.json"))
    check("clock: Date 90 s behind", ok and abs(off + 90) < 3, f"off by {off}")
    for bad in ("10", 1.5, True, 10 ** 10):
        reply = t.request("POST", "/__control/clock", json_body={"skew": bad})
        check(f"clock: skew {bad!r} refused", reply.status == 400)
    t.control("POST", "reset")
    ok, off = offset(t.request("GET", "/.well-known/jwks.json"))
    check("clock: reset puts it back", ok and abs(off) < 3, f"off by {off}")


TESTS = [test_certs_and_listeners, test_keepalive_and_connections, test_discovery, test_password_realm,
         test_mfa_otp, test_mfa_push, test_mfa_sms_and_multi, test_mfa_recovery, test_mfa_associate,
         test_change_password, test_refresh,
         test_revoke_and_userinfo, test_id_token_modes, test_signup, test_brute_force, test_faults,
         test_client_credentials, test_credentials_exchange_action, test_private_key_jwt,
         test_client_auth_methods, test_token_vault_refresh_exchange, test_token_vault_access_exchange,
         test_token_vault_worker_exchange, test_management_auth,
         test_management_users, test_users_paging_limit, test_roles, test_connections_and_exports,
         test_management_rate_limit, test_management_faults, test_control_users, test_dpop_token_endpoint,
         test_dpop_nonce, test_dpop_refresh, test_dpop_mfa, test_dpop_policies, test_dpop_token_vault,
         test_dpop_resource, test_dpop_userinfo_and_revoke, test_passwordless_start,
         test_passwordless_grant, test_custom_token_exchange, test_device_flow, test_clock, test_reset]


def run_all(t):
    for test in TESTS:
        try:
            test(t)
        except Exception:
            check(test.__name__, False, traceback.format_exc())
            try:
                t.control("DELETE", "fault")
                t.control("POST", "reset")
            except Exception:
                pass


def test_shutdown(t):
    with open(t.stderr_path) as f:
        stderr = f.read()
    check("stderr holds no secrets", not t.leaked_secrets(stderr), stderr[-500:])
    rc = t.stop()
    check("SIGTERM exits cleanly", rc == 0, f"rc={rc}")
    with open(t.stdout_path) as f:
        check("stdout is only the ready line", f.read() == f"ready port={t.port}\n")


def main():
    started = time.time()
    workdir = tempfile.mkdtemp(prefix="fake-tenant-selftest-")
    fake = None
    try:
        fake = Fake(workdir)
        run_all(fake)
        test_shutdown(fake)
    except Exception:
        check("harness", False, traceback.format_exc())
    finally:
        if fake and fake.proc.poll() is None:
            fake.proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)
    if VERBOSE:
        print(f"({time.time() - started:.1f}s)")
    print(f"{PASSED} passed, {FAILED} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
