#!/usr/bin/python3
"""A fake Auth0 tenant for pam_auth0's tests and demo.

It speaks the wire protocol of Auth0's Authentication API (token endpoint with the
password-realm, refresh and MFA grants, the MFA API, database sign-up, revocation,
userinfo and discovery, with brute-force protection) over TLS on 127.0.0.1, plus a
/__control/ API through which tests inject faults, change settings and read a request
log.  README.md has the details.

The fake must answer exactly as Auth0 does: a fake that flatters the client hides
its bugs.  Each non-obvious wire choice names its source; abbreviations used:
  docs     github.com/auth0/docs (articles/...)
  docs-v2  github.com/auth0/docs-v2 (main/docs/...)
  swift    github.com/auth0/Auth0.swift   android  github.com/auth0/Auth0.Android
  draft    github.com/jaredhanson/draft-oauth-mfa, the OAuth MFA draft that Auth0's
           MFA API implements
  fiddur   github.com/fiddur/docs OauthMfaErrors.md, an Auth0 engineer's list of the
           MFA API's error messages
  notes    the project's Auth0 wire notes (auth0-protocol.md), drawn from docs-v2 and
           the Auth0 SDKs
  go-auth0 github.com/auth0/go-auth0, whose authentication/authentication_error_test.go
           holds Auth0's sign-up error bodies as tenants send them
  sheriff  github.com/auth0/password-sheriff, the library behind Auth0's password
           policies (rule codes and messages)
  UNVERIFIED  no public source found; the choice is the most plausible one and is
           listed in README.md so it can be corrected when checked against a tenant.

Uses only the standard library and python3-cryptography (Debian 12).
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import http.server
import ipaddress
import itertools
import json
import os
import re
import secrets
import signal
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# --------------------------------------------------------------------------- constants

GRANT_PASSWORD = "password"
GRANT_REALM = "http://auth0.com/oauth/grant-type/password-realm"
GRANT_REFRESH = "refresh_token"
GRANT_OTP = "http://auth0.com/oauth/grant-type/mfa-otp"
GRANT_OOB = "http://auth0.com/oauth/grant-type/mfa-oob"
GRANT_RECOVERY = "http://auth0.com/oauth/grant-type/mfa-recovery-code"
IMPLEMENTED_GRANTS = {GRANT_PASSWORD, GRANT_REALM, GRANT_REFRESH, GRANT_OTP, GRANT_OOB, GRANT_RECOVERY}
# Grants a real tenant knows but this fake does not implement.  No fake client enables
# them, so asking for one yields unauthorized_client, as on a tenant where the
# application lacks the grant, rather than unsupported_grant_type.
OTHER_AUTH0_GRANTS = {
    "authorization_code", "client_credentials", "implicit",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "urn:openid:params:grant-type:ciba",
    "http://auth0.com/oauth/grant-type/passwordless/otp",
    "urn:auth0:params:oauth:grant-type:token-exchange:federated-connection-access-token",
}

SESSION_TRANSFER_TOKEN_TYPE = "urn:auth0:params:oauth:token-type:session_transfer_token"
SESSION_TRANSFER_LIFETIME = 60
# Auth0's recovery codes are 24 characters without look-alikes, e.g. K6LGLV3RSH3VERMKET8L7QKU
# (docs articles/mfa/guides/mfa-api/recovery-code.md).
RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
TOTP_STEP = 30

CONTROL_PREFIX = "/__control/"
MAX_BODY = 1 << 20
NO_STORE = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]  # RFC 6749 5.1

DEFAULT_SETTINGS = {
    "access_token_lifetime": 86400,
    "id_token_lifetime": 36000,
    "mfa_token_lifetime": 600,        # mfa_token lives 10 min (notes)
    "oob_code_lifetime": 300,         # OTP and OOB codes live 5 min (same source)
    "min_poll_interval": 0,
    "id_token_mode": "good",
    "default_directory": None,
    "connections": [],
    "apis": [],
    "mfa_enroll_factors": [],
    # Auth0's tenant flag of this name (flags.enable_public_signup_user_exists_error in
    # the Management API's tenant settings): off, a sign-up for an existing user gets
    # the generic invalid_signup; on, it gets user_exists.  Off by default, as on Auth0.
    "enable_public_signup_user_exists_error": False,
    # Brute-force protection (docs-v2 secure/attack-protection/brute-force-protection):
    # on by default; "Default sets the brute force threshold to 10", custom 1 to 100.
    "brute_force_protection": True,
    "brute_force_max_attempts": 10,
}
BOOLEAN_SETTINGS = {"enable_public_signup_user_exists_error", "brute_force_protection"}
SETTABLE = {"access_token_lifetime", "min_poll_interval", "id_token_mode", "mfa_token_lifetime",
            "brute_force_max_attempts"} | BOOLEAN_SETTINGS

# A database connection's settings, named as in Auth0's Management API (connection
# options).  Sign-up is on unless disable_signup; a password policy of "none" is the
# documented default (docs authenticate/database-connections/password-strength:
# "None (default)"); usernames are 1 to 15 characters by default (Dashboard >
# Database > Username Length).
CONNECTION_DEFAULTS = {"disable_signup": False, "requires_username": False, "passwordPolicy": "none",
                       "validation": {"username": {"min": 1, "max": 15}}}

# mfa_requirements.challenge[].type for each kind of authenticator; the SDKs filter
# authenticators with exactly these names (android MfaApiClient.matchesFactorType).
CHALLENGE_TYPE_BY_CHANNEL = {"auth0": "push-notification", "sms": "phone", "voice": "phone", "email": "email"}

# ----------------------------------------------------------------------------- helpers


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def json_bytes(obj) -> bytes:
    # Raw UTF-8 like Node's JSON.stringify, which Auth0's servers use: the curly quote
    # in too_many_attempts arrives as UTF-8 bytes, not as a \u escape.
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def short_hash(token: str) -> str:
    """Lets tests correlate tokens in the log without the log ever holding one."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def same_secret(given, expected) -> bool:
    if not (isinstance(given, str) and isinstance(expected, str)):
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def scope_list(scope: str) -> list:
    return list(dict.fromkeys((scope or "").split()))


def atomic_write(path: str, data: bytes, mode: int = 0o644) -> None:
    """Readers never see a half-written file: write aside, then rename over."""
    tmp = f"{path}.tmp{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = None
    headers: list = field(default_factory=list)


def json_response(status: int, obj, headers=()) -> Response:
    return Response(status, json_bytes(obj), "application/json; charset=utf-8", list(headers))


class ApiError(Exception):
    """An error answer in Auth0's {"error", "error_description", ...} shape."""

    def __init__(self, status: int, error: str, description: str, **extra):
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.body = {"error": error, "error_description": description, **extra}

    def response(self, headers=()) -> Response:
        return json_response(self.status, self.body, headers)


def missing(name: str) -> ApiError:
    # The token endpoint's wording, e.g. "Missing required parameter: code" in
    # github.com/auth0-samples/auth0-python-web-app issue 18.
    return ApiError(400, "invalid_request", f"Missing required parameter: {name}")


def require(params: dict, name: str) -> str:
    value = params.get(name)
    if not value:
        raise missing(name)
    return value


class WireError(ApiError):
    """An error answer whose body is not in the OAuth shape: /dbconnections/signup
    answers {"name", "code", "description", "statusCode"} or a bare {"error"}."""

    def __init__(self, status: int, body: dict):
        Exception.__init__(self, f"{status} {body}")
        self.status = status
        self.body = body


def db_error(code: str, description, status: int = 400) -> WireError:
    """Auth0's sign-up error shape, e.g. {"name":"BadRequestError","code":"user_exists",
    "description":"The user already exists.","statusCode":400} (github.com/auth0/lock
    issue 2321, auth0/auth0.js issue 447)."""
    return WireError(status, {"name": "BadRequestError", "code": code, "description": description,
                              "statusCode": status})


INVALID_REFRESH_TOKEN = (403, "invalid_grant", "Unknown or invalid refresh token.")
WRONG_CREDENTIALS = (403, "invalid_grant", "Wrong email or password.")
UNAUTHORIZED_CLIENT_AUTH = (401, "access_denied", "Unauthorized")
# Brute-force protection's answer.  Text from docs articles/_includes/
# _co_authenticate_errors.md (/co/authenticate) and Auth0's support article "Error 'Your
# Account has been Blocked After Multiple Consecutive Login Attempts'" (the tenant log's
# errorMessage); that the token endpoint uses the same text is UNVERIFIED.  The 429 and
# the code: docs-v2 secure/attack-protection/brute-force-protection ("HTTP 429
# too_many_attempts").
TOO_MANY_ATTEMPTS = (429, "too_many_attempts",
                     "Your account has been blocked after multiple consecutive login attempts. "
                     "We’ve sent you an email with instructions on how to unblock it.")

# ------------------------------------------------------------------------------ crypto


class SigningKey:
    """An RSA key that signs the tenant's JWTs, with its JWKS kid."""

    def __init__(self):
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = b64url(secrets.token_bytes(16))  # Auth0 kids are opaque strings

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def verifies(self, data: bytes, signature: bytes) -> bool:
        try:
            self.private.public_key().verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
            return True
        except InvalidSignature:
            return False

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def jwk(self) -> dict:
        numbers = self.private.public_key().public_numbers()
        return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
                "n": b64url(_int_bytes(numbers.n)), "e": b64url(_int_bytes(numbers.e))}


def _int_bytes(n: int) -> bytes:
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


def assemble_jwt(header: dict, payload: bytes, sign) -> str:
    """payload is raw bytes so that a deliberately non-JSON payload can be signed."""
    signing_input = f"{b64url(json_bytes(header))}.{b64url(payload)}"
    signature = sign(signing_input.encode()) if sign else b""
    return f"{signing_input}.{b64url(signature)}"


def totp(secret_b32: str, at: float) -> str:
    """RFC 6238 TOTP: HMAC-SHA1, 6 digits, 30 s steps."""
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(at // TOTP_STEP)), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000)


def totp_accepts(secret_b32: str, otp: str, now: float) -> bool:
    # One step either side tolerates clock skew between the phone and the server.
    return any(same_secret(otp, totp(secret_b32, now + d * TOTP_STEP)) for d in (-1, 0, 1))


def new_secret(kind: str, nbytes: int) -> str:
    """An opaque token or code the tenant hands out. With $A0_FAKE_ISSUED set it is also
    appended to that file as "KIND VALUE", so that tests/secrets/sweep can look for it in
    everything the suite wrote (JWTs it finds by their shape)."""
    value = secrets.token_urlsafe(nbytes)
    path = os.environ.get("A0_FAKE_ISSUED")
    if path:
        with open(path, "a") as f:
            f.write(f"{kind} {value}\n")
    return value


def new_recovery_code() -> str:
    return "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(24))

# ------------------------------------------------------------------------ certificates

DAY = datetime.timedelta(days=1)
LOCAL_NAMES = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]


def _cn(name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])


def _key_usage(**flags) -> x509.KeyUsage:
    names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
    return x509.KeyUsage(**{n: flags.get(n, False) for n in names})


def make_ca(name: str, now):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(_cn(name)).issuer_name(_cn(name))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - DAY).not_valid_after(now + 3650 * DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def make_server_cert(ca_key, ca_cert, names, not_before, not_after):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(_cn(names[0].value))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(digital_signature=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


def _cert_pem(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def gen_certs(directory: str) -> None:
    os.makedirs(directory, mode=0o700, exist_ok=True)
    os.chmod(directory, 0o700)
    ca_path = os.path.join(directory, "ca.pem")
    if os.path.exists(ca_path):
        return  # idempotent: ca.pem is written last, so its presence means a complete set
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, ca_cert = make_ca("pam_auth0 fake tenant test CA", now)
    other_key, other_cert = make_ca("pam_auth0 fake tenant OTHER CA", now)
    valid = (now - DAY, now + 825 * DAY)
    leaves = {
        "server": (ca_key, ca_cert, LOCAL_NAMES, *valid),
        "other": (other_key, other_cert, LOCAL_NAMES, *valid),
        "wrong-host": (ca_key, ca_cert, [x509.DNSName("wrong.example")], *valid),
        "expired": (ca_key, ca_cert, LOCAL_NAMES, now - 30 * DAY, now - DAY),
    }
    for name, spec in leaves.items():
        key, cert = make_server_cert(*spec)
        atomic_write(os.path.join(directory, f"{name}.key"), _key_pem(key), 0o600)
        atomic_write(os.path.join(directory, f"{name}.pem"), _cert_pem(cert))
    atomic_write(os.path.join(directory, "other-ca.pem"), _cert_pem(other_cert))
    atomic_write(os.path.join(directory, "ca.key"), _key_pem(ca_key), 0o600)
    atomic_write(ca_path, _cert_pem(ca_cert))

# ------------------------------------------------------------------------- tenant data


def load_tenant_data(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    for client in data["clients"]:
        unknown = set(client.get("grant_types", [])) - IMPLEMENTED_GRANTS
        if unknown:
            raise ValueError(f"client {client['client_id']}: grants not implemented by the fake: {sorted(unknown)}")
    names = [u["username"] for u in data["users"]]
    if len(set(names)) != len(names):
        raise ValueError("duplicate usernames in tenant data")
    for conn in data.get("tenant", {}).get("connections", []):
        if isinstance(conn, dict) and conn.get("passwordPolicy", "none") not in PASSWORD_POLICIES:
            raise ValueError(f"connection {conn.get('name')}: passwordPolicy must be one of "
                             f"{sorted(PASSWORD_POLICIES)}")
    return data


def connection_table(entries) -> dict:
    """tenant.connections lists names or {"name", ...settings}; unset settings take
    CONNECTION_DEFAULTS."""
    table = {}
    for entry in entries:
        conn = {"name": entry} if isinstance(entry, str) else dict(entry)
        table[conn["name"]] = {**json.loads(json.dumps(CONNECTION_DEFAULTS)), **conn}
    return table


def user_key(user: dict) -> str:
    """The key of a user in Tenant.users, in logs and in the control API: the username,
    or the email of a user without one (a connection that does not require usernames)."""
    return user["_key"]


def is_active(authenticator: dict) -> bool:
    return authenticator.get("active", True)


def challenge_type_of(authenticator: dict) -> str:
    kind = authenticator["authenticator_type"]
    return CHALLENGE_TYPE_BY_CHANNEL[authenticator["oob_channel"]] if kind == "oob" else kind


def public_authenticator(authenticator: dict) -> dict:
    """An authenticator as GET /mfa/authenticators shows it: never its secrets
    (shape: docs articles/mfa/guides/mfa-api/push.md)."""
    shown = {"id": authenticator["id"], "authenticator_type": authenticator["authenticator_type"],
             "active": is_active(authenticator)}
    for key in ("oob_channel", "name"):
        if key in authenticator:
            shown[key] = authenticator[key]
    return shown


def profile_claims(user: dict, scopes: list) -> dict:
    """Standard claims follow the OIDC scopes (profile -> name, nickname...; email ->
    email, email_verified); namespaced custom claims, which a rule or Action adds, come
    regardless of scope (docs articles/api-auth/tutorials/adoption/password.md,
    scope-custom-claims.md)."""
    claims = {}
    if "profile" in scopes:
        for key in ("nickname", "name", "given_name", "family_name", "picture", "updated_at"):
            if key in user:
                claims[key] = user[key]
    if "email" in scopes:
        claims["email"] = user["email"]
        claims["email_verified"] = user.get("email_verified", False)
    claims.update(user.get("extra_claims", {}))
    return claims

# ------------------------------------------------------------------ tenant state parts


@dataclass
class MfaTransaction:
    """What an mfa_token stands for: a password check that still needs a second factor."""
    username: str
    client_id: str
    scopes: list
    audience: str
    expires_at: float


@dataclass
class OobTransaction:
    """An outstanding out-of-band challenge (push, SMS, voice or email)."""
    mfa_token: str
    authenticator_id: str
    expires_at: float
    polls: int = 0
    last_poll: float = None


@dataclass
class Family:
    """A refresh-token family: every token descending from one login."""
    id: str
    client_id: str
    username: str
    scopes: list
    audience: str
    rotating: bool
    revoked: bool = False
    last_rotated: tuple = None  # (token, when) of the token most recently rotated out


class RefreshStore:
    def __init__(self):
        self.families = {}
        self.tokens = {}  # token -> [family id, already used]
        self._ids = itertools.count(1)

    def new_family(self, client: dict, username: str, scopes: list, audience: str):
        family = Family(f"fam-{next(self._ids)}", client["client_id"], username, scopes, audience,
                        bool(client.get("rotation")))
        self.families[family.id] = family
        return family, self.issue(family)

    def issue(self, family: Family) -> str:
        token = new_secret("refresh_token", 48)
        self.tokens[token] = [family.id, False]
        return token

    def find(self, token: str):
        """The live (family, entry) for a token, or (family or None, None) when unusable."""
        entry = self.tokens.get(token)
        if entry is None:
            return None, None
        family = self.families[entry[0]]
        return (family, None) if family.revoked else (family, entry)


@dataclass
class Fault:
    path: str
    kind: str
    remaining: int  # -1: until cleared
    params: dict


FAULT_KINDS = {"delay", "status", "drop", "silence", "garbage", "truncated", "huge", "slow_body",
               "rate_limit", "wrong_content_type"}


def new_stats() -> dict:
    return {"connections": 0, "control_connections": 0, "handshake_failures": 0, "listeners": {},
            "requests": 0, "refresh_requests": 0, "reuse_detected": 0, "revoked_families": 0,
            "jwks_fetches": 0, "challenges": {}, "signups": 0}


class Tenant:
    """All mutable state of the fake tenant, guarded by self.lock: request handlers
    run under it (run_app, handle_control); methods called from elsewhere take it."""

    def __init__(self, data_path: str, port: int):
        self.data_path = data_path
        self.issuer = f"https://localhost:{port}/"
        self.userinfo_url = f"{self.issuer}userinfo"
        self.session_transfer_audience = f"urn:localhost:{port}:session_transfer"
        self.lock = threading.RLock()
        self.first_key = SigningKey()
        self.impostor_key = SigningKey()  # signs the ID tokens that must fail verification
        self.conn_ids = itertools.count(1)  # not reset: a kept-alive connection outlives a reset
        self.generation = 0  # bumped by reset, so stats never count a connection they did not see open
        self.reset()

    def reset(self) -> None:
        with self.lock:
            data = load_tenant_data(self.data_path)
            self.settings = {**DEFAULT_SETTINGS, **data.get("tenant", {})}
            self.clients = {c["client_id"]: c for c in data["clients"]}
            self.connections = connection_table(self.settings["connections"])
            self.users = {}
            for user in data["users"]:
                self.add_user(user)
            # Brute-force protection's failed-login counters: (user_id, ip) -> count.
            self.failed_logins = {}
            self.keys = [self.first_key]
            self.mfa_tokens = {}
            self.oob = {}
            self.refresh = RefreshStore()
            self.faults = []
            self.log = []
            self.stats = new_stats()
            self.generation += 1

    @property
    def key(self) -> SigningKey:
        return self.keys[-1]

    def sign_jwt(self, claims: dict, key: SigningKey = None, kid: str = None) -> str:
        key = key or self.key
        header = {"alg": "RS256", "typ": "JWT", "kid": kid or key.kid}
        return assemble_jwt(header, json_bytes(claims), key.sign)

    def add_user(self, user: dict) -> None:
        key = user.get("username") or user["email"]
        if key in self.users:  # the same email in two connections that lack usernames
            key = f"{key}#{user.get('connection')}"
        user["_key"] = key
        self.users[key] = user

    def find_user(self, login: str, connection: str):
        """A database connection that requires usernames accepts the username or the
        email as login (Auth0 Community "Username can only contain alphanumeric
        characters...": "Auth0 will attempt to log the user in using the username
        parameter ... with both the username and email fields of the user profile")."""
        login = login.lower()
        for user in self.users.values():
            if user.get("connection") == connection and login in (
                    (user.get("username") or "").lower(), user["email"].lower()):
                return user
        return None

    # --- connections and stats
    def _listener_stats(self, listener: str) -> dict:
        return self.stats["listeners"].setdefault(listener, {"handshakes": 0, "handshake_failures": 0})

    def open_connection(self, listener: str):
        """Counts a completed TLS handshake; returns (connection id, stats generation)."""
        with self.lock:
            self.stats["connections"] += 1
            self._listener_stats(listener)["handshakes"] += 1
            return next(self.conn_ids), self.generation

    def handshake_failed(self, listener: str) -> None:
        with self.lock:
            self.stats["handshake_failures"] += 1
            self._listener_stats(listener)["handshake_failures"] += 1

    def reclassify_as_control(self, generation: int) -> None:
        """A connection whose first request is a control call belongs to the test
        harness, not to the client under test, so it leaves the connection count."""
        with self.lock:
            if generation == self.generation:
                self.stats["connections"] -= 1
                self.stats["control_connections"] += 1

    def begin_record(self, **fields) -> dict:
        with self.lock:
            self.stats["requests"] += 1
            record = {"seq": len(self.log) + 1, **fields, "grant_type": None, "client_id": None,
                      "username": None, "user_id": None, "realm": None, "audience": None, "scope": None,
                      "status": None, "error": None, "rt_family": None, "rt_sha": None,
                      "reuse_detected": False, "fault": None}
            self.log.append(record)
            return record

    def take_fault(self, path: str):
        with self.lock:
            for fault in self.faults:
                if fault.path in ("*", path):
                    if fault.remaining > 0:
                        fault.remaining -= 1
                        if fault.remaining == 0:
                            self.faults.remove(fault)
                    return fault
            return None

# ----------------------------------------------------------------------- token issuing


def access_token(tenant: Tenant, user: dict, client_id: str, scopes: list, audience) -> str:
    now = int(time.time())
    if not audience or audience == tenant.userinfo_url:
        aud = tenant.userinfo_url
    elif "openid" in scopes:
        # With a custom API and openid the token is valid for the API and /userinfo, so
        # aud is an array (docs articles/api-auth/tutorials/adoption/password.md).
        aud = [audience, tenant.userinfo_url]
    else:
        aud = audience
    claims = {"iss": tenant.issuer, "sub": f"auth0|{user['user_id']}", "aud": aud, "iat": now,
              "exp": now + tenant.settings["access_token_lifetime"], "scope": " ".join(scopes),
              "azp": client_id}
    return tenant.sign_jwt(claims)


def _first_half(text: str) -> str:
    return text[:len(text) // 2]


def _bad_id_token_builders(tenant: Tenant):
    """id_token_mode -> function(claims) -> token, each breaking exactly one property
    that an ID-token verifier must check."""
    now = int(time.time())
    life = tenant.settings["id_token_lifetime"]
    impostor = tenant.impostor_key
    return {
        "good": tenant.sign_jwt,
        "alg_none": lambda c: assemble_jwt({"alg": "none", "typ": "JWT"}, json_bytes(c), None),
        "hs256_pubkey": lambda c: assemble_jwt(
            {"alg": "HS256", "typ": "JWT", "kid": tenant.key.kid}, json_bytes(c),
            lambda data: hmac.new(tenant.key.public_pem(), data, hashlib.sha256).digest()),
        "wrong_key": lambda c: tenant.sign_jwt(c, key=impostor, kid=tenant.key.kid),
        "unknown_kid": lambda c: tenant.sign_jwt(c, key=impostor),
        "wrong_iss": lambda c: tenant.sign_jwt({**c, "iss": "https://wrong-issuer.example.com/"}),
        "wrong_aud": lambda c: tenant.sign_jwt({**c, "aud": "some-other-client"}),
        "expired": lambda c: tenant.sign_jwt({**c, "iat": now - 7200, "exp": now - 3600}),
        "future_iat": lambda c: tenant.sign_jwt({**c, "iat": now + 3600, "exp": now + 3600 + life}),
        "future_nbf": lambda c: tenant.sign_jwt({**c, "nbf": now + 3600}),
        "truncated": lambda c: _first_half(tenant.sign_jwt(c)),
        "three_dots": lambda c: "a.b.c.d",
        "huge": lambda c: tenant.sign_jwt({**c, "padding": "x" * 200_000}),
        "non_json_payload": lambda c: assemble_jwt(
            {"alg": "RS256", "typ": "JWT", "kid": tenant.key.kid}, b"this payload is not JSON", tenant.key.sign),
    }


ID_TOKEN_MODES = {"good", "alg_none", "hs256_pubkey", "wrong_key", "unknown_kid", "wrong_iss", "wrong_aud",
                  "expired", "future_iat", "future_nbf", "truncated", "three_dots", "huge",
                  "non_json_payload", "missing"}


def id_token(tenant: Tenant, user: dict, client_id: str, scopes: list):
    mode = tenant.settings["id_token_mode"]
    if mode == "missing":
        return None
    now = int(time.time())
    claims = {"iss": tenant.issuer, "sub": f"auth0|{user['user_id']}", "aud": client_id, "iat": now,
              "exp": now + tenant.settings["id_token_lifetime"], **profile_claims(user, scopes)}
    return _bad_id_token_builders(tenant)[mode](claims)


def granted_scopes(requested: str, client: dict) -> list:
    scopes = scope_list(requested)
    if GRANT_REFRESH not in client["grant_types"]:
        # Without the refresh grant Auth0 issues no refresh token, so offline_access is not granted.
        scopes = [s for s in scopes if s != "offline_access"]
    return scopes


def token_body(tenant: Tenant, user: dict, client: dict, scopes: list, audience, refresh_token=None) -> dict:
    """The success body of the token endpoint (docs-v2 api/authentication/
    resource-owner-password-flow/get-token.mdx, refresh-token/refresh-token.mdx)."""
    body = {"access_token": access_token(tenant, user, client["client_id"], scopes, audience)}
    if "openid" in scopes:
        token = id_token(tenant, user, client["client_id"], scopes)
        if token is not None:
            body["id_token"] = token
    if refresh_token:
        body["refresh_token"] = refresh_token
    if scopes:
        body["scope"] = " ".join(scopes)
    body.update(expires_in=tenant.settings["access_token_lifetime"], token_type="Bearer")
    return body


def login_tokens(tenant: Tenant, user: dict, client: dict, scopes: list, audience, record: dict) -> dict:
    """Tokens for a finished login (password or MFA): a new refresh family when
    offline_access was granted."""
    refresh_token = None
    if "offline_access" in scopes:
        family, refresh_token = tenant.refresh.new_family(client, user_key(user), scopes, audience)
        record["rt_family"] = family.id
    return token_body(tenant, user, client, scopes, audience, refresh_token)

# ------------------------------------------------------------------ client credentials


def basic_credentials(headers):
    """client_secret_basic, which Auth0 accepts besides client_secret_post."""
    auth = headers.get("Authorization", "")
    if not auth.startswith("Basic "):
        return None, None
    try:
        client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
    except ValueError:
        return None, None
    return client_id, secret


def authenticate_client(tenant: Tenant, params: dict, headers, failure=UNAUTHORIZED_CLIENT_AUTH) -> dict:
    """A missing or wrong secret gets 401 access_denied "Unauthorized" on the token
    endpoint (github.com/auth0/react-native-auth0 issue 68, auth0/node-auth0 issue
    682).  An unknown client_id gets the same: UNVERIFIED."""
    basic_id, basic_secret = basic_credentials(headers)
    client_id = params.get("client_id") or basic_id
    if not client_id:
        raise missing("client_id")  # UNVERIFIED wording for this parameter
    client = tenant.clients.get(client_id)
    if client is None:
        raise ApiError(*failure)
    expected = client.get("client_secret")
    if expected is not None and not same_secret(params.get("client_secret") or basic_secret, expected):
        raise ApiError(*failure)
    return client

# ------------------------------------------------------------------ request parsing


@dataclass
class AppRequest:
    method: str
    path: str
    headers: object
    body: bytes
    peer: str = "127.0.0.1"  # the TCP peer's address

    def params(self) -> dict:
        """Form or JSON body: Auth0 accepts both on /oauth/token and SDKs send JSON
        (notes).  Non-string JSON values are dropped so they read as absent rather
        than being coerced into something valid."""
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype == "application/x-www-form-urlencoded":
            form = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
            return {k: v[0] for k, v in form.items()}
        if ctype == "application/json":
            try:
                data = json.loads(self.body or b"{}")
            except ValueError:
                raise ApiError(400, "invalid_request", "Invalid JSON")  # UNVERIFIED wording
            if not isinstance(data, dict):
                raise ApiError(400, "invalid_request", "Invalid JSON")
            return {k: v for k, v in data.items() if isinstance(v, str)}
        return {}

    def fields(self) -> dict:
        """The body's fields with their JSON types kept (user_metadata is an object), so
        that a wrongly typed value can be reported rather than dropped."""
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            return self.params()
        try:
            data = json.loads(self.body or b"{}")
        except ValueError:
            raise ApiError(400, "invalid_request", "Invalid JSON")  # UNVERIFIED wording
        if not isinstance(data, dict):
            raise ApiError(400, "invalid_request", "Invalid JSON")
        return data

    def bearer(self):
        auth = self.headers.get("Authorization", "")
        return auth[7:].strip() if auth.startswith("Bearer ") else None

# ------------------------------------------------------------------- token endpoint


def token_endpoint(tenant: Tenant, req: AppRequest, record: dict) -> Response:
    params = req.params()
    record.update(grant_type=params.get("grant_type"), client_id=params.get("client_id"),
                  username=params.get("username"), realm=params.get("realm"),
                  audience=params.get("audience"), scope=params.get("scope"))
    grant = require(params, "grant_type")
    if grant == GRANT_REFRESH:
        tenant.stats["refresh_requests"] += 1
    if grant not in IMPLEMENTED_GRANTS | OTHER_AUTH0_GRANTS:
        # UNVERIFIED: status and wording; RFC 6749 5.2 error code, Auth0-style sentence.
        raise ApiError(403, "unsupported_grant_type", f"Unsupported grant type: {grant}")
    client = authenticate_client(tenant, params, req.headers)
    record.update(client_id=client["client_id"], ip=effective_ip(client, req))
    if grant not in client["grant_types"]:
        # notes; seen verbatim (quotes instead of backticks in older tenants) in
        # github.com/devdennysegura/flutter-auth0 issue 36.
        raise ApiError(403, "unauthorized_client", f"Grant type `{grant}` not allowed for the client.")
    return json_response(200, GRANT_HANDLERS[grant](tenant, client, params, record))


def effective_ip(client: dict, req: "AppRequest") -> str:
    """The end user's IP as attack protection sees it: the auth0-forwarded-for header
    only for an application that authenticated with its client secret and has "Trust
    Token Endpoint IP Header" on (is_token_endpoint_ip_header_trusted in the Management
    API); otherwise the TCP peer (docs-v2 get-started/authentication-and-authorization-
    flow/resource-owner-password-flow/avoid-common-issues-with-resource-owner-password-
    flow-and-attack-protection: "The auth0-forwarded-for header will only be accepted for
    authenticated calls with the Client Secret").  authenticate_client has already
    checked the secret of a client that has one.  A header that is not one IP address
    is ignored: UNVERIFIED."""
    forwarded = (req.headers.get("auth0-forwarded-for") or "").strip()
    if client.get("client_secret") is not None and client.get("is_token_endpoint_ip_header_trusted"):
        try:
            return str(ipaddress.ip_address(forwarded))
        except ValueError:
            pass
    return req.peer


def password_grant(tenant: Tenant, client: dict, params: dict, record: dict) -> dict:
    realm = tenant.settings["default_directory"]
    if not realm:
        raise ApiError(500, "server_error", "Authorization server not configured with default connection.")
    record["realm"] = realm
    return _password_login(tenant, client, {**params, "realm": realm}, record)


def password_realm_grant(tenant: Tenant, client: dict, params: dict, record: dict) -> dict:
    return _password_login(tenant, client, params, record)


def _password_login(tenant: Tenant, client: dict, params: dict, record: dict) -> dict:
    username = require(params, "username")
    password = require(params, "password")
    realm = require(params, "realm")
    if realm not in tenant.connections:
        # docs articles/_includes/_co_authenticate_errors.md ("Unknown realm
        # non-existent-connection."); the token endpoint's wording is UNVERIFIED.
        raise ApiError(400, "invalid_request", f"Unknown realm {realm}.")
    audience = params.get("audience")
    check_audience(tenant, audience)
    user = tenant.find_user(username, realm)
    if user is None:
        raise ApiError(*WRONG_CREDENTIALS)
    record.update(username=user_key(user), user_id=user["user_id"])
    if user.get("brute_force") or brute_force_blocked(tenant, user, record["ip"]):
        # A block stops even the right password.
        raise ApiError(*TOO_MANY_ATTEMPTS)
    if not same_secret(password, user["password"]):
        count_failed_login(tenant, user, record["ip"])
        raise ApiError(*WRONG_CREDENTIALS)  # notes
    tenant.failed_logins.pop((user["user_id"], record["ip"]), None)
    check_not_blocked(user)
    scopes = granted_scopes(params.get("scope"), client)
    if needs_mfa(user):
        raise start_mfa(tenant, user, client, scopes, audience)
    return login_tokens(tenant, user, client, scopes, audience, record)


def brute_force_blocked(tenant: Tenant, user: dict, ip: str) -> bool:
    """Brute-force protection with its default response, "Block Brute-force Logins":
    once a user has failed the threshold number of logins from one IP address, further
    logins as that user from that address are refused; other addresses are not
    affected ("Account Lockout" is off by default).  The attempt that reaches the
    threshold is itself answered normally; the block applies "immediately after"
    (docs-v2 secure/attack-protection/brute-force-protection).  The block lifts when
    an administrator raises the threshold, when the user's password changes (control
    API: POST /__control/user with a password) and on reset; the 30 days after the last
    failure are not modelled."""
    return (tenant.settings["brute_force_protection"]
            and tenant.failed_logins.get((user["user_id"], ip), 0) >= tenant.settings["brute_force_max_attempts"])


def count_failed_login(tenant: Tenant, user: dict, ip: str) -> None:
    """A wrong password for an existing user from one IP address.  The count is of
    consecutive failures ("after multiple consecutive login attempts"): a successful
    login from that address clears it (UNVERIFIED in detail)."""
    if tenant.settings["brute_force_protection"]:
        key = (user["user_id"], ip)
        tenant.failed_logins[key] = tenant.failed_logins.get(key, 0) + 1


def check_audience(tenant: Tenant, audience) -> None:
    if audience and audience != tenant.userinfo_url and audience not in tenant.settings["apis"]:
        # Seen on tenants: {"error":"access_denied","error_description":"Service not
        # found: https://..."} (github.com/aws-samples/ask-around-me issue 2, auth0/lock 842).
        raise ApiError(403, "access_denied", f"Service not found: {audience}")


def check_not_blocked(user: dict) -> None:
    if user.get("blocked"):
        # Token endpoint answer for a blocked user: 403 invalid_grant "user is blocked"
        # (github.com/ionic-team/demo-authconnect-auth0 issue 4; fiddur).
        raise ApiError(403, "invalid_grant", "user is blocked")

# --------------------------------------------------------------------------- refresh


def refresh_grant(tenant: Tenant, client: dict, params: dict, record: dict) -> dict:
    token = require(params, "refresh_token")
    record["rt_sha"] = short_hash(token)
    family, entry = tenant.refresh.find(token)
    if family is not None:
        record["rt_family"] = family.id
    if entry is None or family.client_id != client["client_id"]:
        raise ApiError(*INVALID_REFRESH_TOKEN)
    user = tenant.users[family.username]
    record.update(username=user_key(user), user_id=user["user_id"])
    check_not_blocked(user)
    audience = params.get("audience") or family.audience
    if audience == tenant.session_transfer_audience:
        new_token = rotate(tenant, client, family, token, entry, record)
        body = session_transfer_body(new_token)
        if new_token and "openid" in family.scopes:
            # With rotation the answer also carries a new ID token (react-native-auth0
            # getSSOCredentials: "update the stored credentials with new tokens (ID token and
            # refresh token)").
            token = id_token(tenant, user, client["client_id"], family.scopes)
            if token is not None:
                body["id_token"] = token
        return body
    scopes = narrowed_scopes(family, params.get("scope"))
    check_refresh_audience(tenant, client, family, audience)
    new_token = rotate(tenant, client, family, token, entry, record)
    return token_body(tenant, user, client, scopes, audience, new_token)


def narrowed_scopes(family: Family, requested) -> list:
    """A refresh may only narrow the family's scope (docs-v2 api/authentication/
    refresh-token/refresh-token.mdx: "you can request a reduced set of scopes")."""
    if not requested:
        return family.scopes
    scopes = scope_list(requested)
    extra = [s for s in scopes if s not in family.scopes]
    if extra:
        # UNVERIFIED wording; invalid_scope is a 400 on Auth0 (docs
        # articles/api/authentication/errors/_errors.md).
        raise ApiError(400, "invalid_scope", f"Scope not granted to the refresh token: {' '.join(extra)}")
    return scopes


def check_refresh_audience(tenant: Tenant, client: dict, family: Family, audience) -> None:
    """Multi-resource refresh: the family's own audience, or one in the client's
    refresh policies (docs-v2 secure/tokens/refresh-tokens/multi-resource-refresh-token)."""
    if audience == family.audience or audience in client.get("refresh_audiences", []):
        return
    check_audience(tenant, audience)
    raise ApiError(403, "access_denied", "Unauthorized")  # UNVERIFIED: API exists, not in policy


def rotate(tenant: Tenant, client: dict, family: Family, token: str, entry: list, record: dict):
    """Redeems a refresh token; returns the token to hand out, or None when the client
    does not rotate (then Auth0's response carries no refresh_token)."""
    if not family.rotating:
        return None
    now = time.time()
    if not entry[1]:
        entry[1] = True
        family.last_rotated = (token, now)
        return tenant.refresh.issue(family)
    if _within_leeway(client, family, token, now):
        return tenant.refresh.issue(family)
    # Reuse of a rotated-out token: Auth0 revokes the whole family, so the token the
    # legitimate holder has now fails too (docs-v2 secure/tokens/refresh-tokens/
    # refresh-token-rotation.mdx, "automatic reuse detection").
    family.revoked = True
    record["reuse_detected"] = True
    tenant.stats["reuse_detected"] += 1
    tenant.stats["revoked_families"] += 1
    raise ApiError(*INVALID_REFRESH_TOKEN)


def _within_leeway(client: dict, family: Family, token: str, now: float) -> bool:
    """The reuse interval tolerates only the immediately previous token."""
    interval = client.get("reuse_interval", 0)
    last_token, when = family.last_rotated or (None, 0)
    return interval > 0 and last_token == token and now - when <= interval


def session_transfer_body(refresh_token) -> dict:
    """Native-to-web SSO exchange (notes)."""
    body = {"access_token": new_secret("access_token", 32), "issued_token_type": SESSION_TRANSFER_TOKEN_TYPE,
            "token_type": "N_A", "expires_in": SESSION_TRANSFER_LIFETIME}
    if refresh_token:
        body["refresh_token"] = refresh_token
    return body

# ------------------------------------------------------------------------------- MFA


def needs_mfa(user: dict) -> bool:
    return user.get("mfa_required", False) or any(is_active(a) for a in user.get("mfa", []))


def mfa_requirements(tenant: Tenant, user: dict) -> dict:
    """challenge lists the enrolled kinds; a user with none must enrol instead
    (github.com/auth0/auth0-server-python examples/MFA.md)."""
    kinds = list(dict.fromkeys(challenge_type_of(a) for a in user.get("mfa", []) if is_active(a)))
    if kinds:
        return {"challenge": [{"type": k} for k in kinds]}
    return {"enroll": [{"type": k} for k in tenant.settings["mfa_enroll_factors"]]}


def start_mfa(tenant: Tenant, user: dict, client: dict, scopes: list, audience) -> ApiError:
    token = new_secret("mfa_token", 48)
    tenant.mfa_tokens[token] = MfaTransaction(user_key(user), client["client_id"], scopes, audience,
                                              time.time() + tenant.settings["mfa_token_lifetime"])
    # Shape: notes and github.com/auth0/auth0-server-python examples/MFA.md.
    return ApiError(403, "mfa_required", "Multifactor authentication required", mfa_token=token,
                    mfa_requirements=mfa_requirements(tenant, user))


def mfa_transaction(tenant: Tenant, token, client_id=None, status=403) -> MfaTransaction:
    """The exact error texts are what the SDKs test for (swift AuthenticationError,
    android AuthenticationException: isMultifactorTokenInvalid)."""
    tx = tenant.mfa_tokens.get(token)
    if tx is None:
        raise ApiError(status, "invalid_grant", "Malformed mfa_token")
    if tx.expires_at <= time.time():
        raise ApiError(status, "expired_token", "mfa_token is expired")  # 403: fiddur
    if client_id is not None and tx.client_id != client_id:
        raise ApiError(400, "invalid_request", "mfa_token not issued to this client")  # fiddur
    return tx


def _mfa_context(tenant: Tenant, client: dict, params: dict, record: dict):
    tx = mfa_transaction(tenant, require(params, "mfa_token"), client["client_id"])
    user = tenant.users[tx.username]
    record.update(username=user_key(user), user_id=user["user_id"])
    return tx, user


def _active(user: dict, kind: str) -> list:
    return [a for a in user.get("mfa", []) if is_active(a) and a["authenticator_type"] == kind]


def mfa_otp_grant(tenant: Tenant, client: dict, params: dict, record: dict) -> dict:
    tx, user = _mfa_context(tenant, client, params, record)
    otp = require(params, "otp")
    if not any(totp_accepts(a["totp_secret"], otp, time.time()) for a in _active(user, "otp")):
        raise ApiError(403, "invalid_grant", "Invalid otp_code.")  # swift/android isMultifactorCodeInvalid
    return login_tokens(tenant, user, client, tx.scopes, tx.audience, record)


def mfa_oob_grant(tenant: Tenant, client: dict, params: dict, record: dict) -> dict:
    tx, user = _mfa_context(tenant, client, params, record)
    code = require(params, "oob_code")
    oob = tenant.oob.get(code)
    # fiddur: expired_token "${tokenName} is invalid" / "... is expired", both 403.
    if oob is None or tenant.mfa_tokens.get(oob.mfa_token) is not tx:
        raise ApiError(403, "expired_token", "oob_code is invalid")
    if oob.expires_at <= time.time():
        raise ApiError(403, "expired_token", "oob_code is expired")
    authenticator = next((a for a in _active(user, "oob") if a["id"] == oob.authenticator_id), None)
    if authenticator is None:
        raise ApiError(403, "expired_token", "oob_code is invalid")
    if authenticator["oob_channel"] == "auth0":
        poll_push(tenant, oob, authenticator)
    else:
        check_binding_code(params, authenticator)
    del tenant.oob[code]
    return login_tokens(tenant, user, client, tx.scopes, tx.audience, record)


def poll_push(tenant: Tenant, oob: OobTransaction, authenticator: dict) -> None:
    """Returns once the push is approved; otherwise raises the polling answer
    (docs articles/mfa/guides/mfa-api/push.md)."""
    now = time.time()
    interval = tenant.settings["min_poll_interval"]
    if interval and oob.last_poll is not None and now - oob.last_poll < interval:
        # A too-fast poll is not counted, so it cannot advance the push's outcome.
        raise ApiError(400, "slow_down", "You are polling faster than allowed. Try again later.")  # UNVERIFIED wording
    oob.last_poll = now
    oob.polls += 1
    verdict = push_verdict(authenticator.get("push", {}), oob.polls)
    if verdict == "pending":
        raise ApiError(400, "authorization_pending",
                       "Authorization pending: please repeat the request in a few seconds.")
    if verdict == "rejected":
        raise ApiError(403, "invalid_grant", "MFA Authorization rejected.")


def push_verdict(push: dict, poll: int) -> str:
    """The first N polls stay pending; poll N+1 gets the user's answer."""
    if push.get("never"):
        return "pending"
    if "reject_after_polls" in push:
        return "rejected" if poll > push["reject_after_polls"] else "pending"
    return "approved" if poll > push.get("approve_after_polls", 0) else "pending"


def check_binding_code(params: dict, authenticator: dict) -> None:
    binding = params.get("binding_code")
    if not binding:
        raise ApiError(400, "invalid_request", "binding_code is required")  # fiddur
    if not same_secret(binding, authenticator["binding_code"]):
        raise ApiError(403, "invalid_grant", "Invalid binding_code.")  # notes


def mfa_recovery_grant(tenant: Tenant, client: dict, params: dict, record: dict) -> dict:
    tx, user = _mfa_context(tenant, client, params, record)
    code = require(params, "recovery_code")
    matching = [a for a in _active(user, "recovery-code") if same_secret(code, a["recovery_code"])]
    if not matching:
        raise ApiError(403, "invalid_grant", "Invalid recovery_code.")  # UNVERIFIED wording
    # The used code is spent; Auth0 answers with its replacement
    # (docs articles/mfa/guides/mfa-api/recovery-code.md).
    matching[0]["recovery_code"] = new_recovery_code()
    body = login_tokens(tenant, user, client, tx.scopes, tx.audience, record)
    body["recovery_code"] = matching[0]["recovery_code"]
    return body


GRANT_HANDLERS = {
    GRANT_PASSWORD: password_grant,
    GRANT_REALM: password_realm_grant,
    GRANT_REFRESH: refresh_grant,
    GRANT_OTP: mfa_otp_grant,
    GRANT_OOB: mfa_oob_grant,
    GRANT_RECOVERY: mfa_recovery_grant,
}


def mfa_authenticators(tenant: Tenant, req: AppRequest, record: dict) -> Response:
    """GET /mfa/authenticators with the mfa_token as bearer.  UNVERIFIED: the error
    bodies; the 401 status is documented (docs-v2 api/authentication/
    multi-factor-authentication)."""
    token = req.bearer()
    if not token:
        raise ApiError(*UNAUTHORIZED_CLIENT_AUTH)
    tx = mfa_transaction(tenant, token, status=401)
    record.update(username=tx.username, client_id=tx.client_id)
    return json_response(200, [public_authenticator(a) for a in tenant.users[tx.username].get("mfa", [])])


def mfa_challenge(tenant: Tenant, req: AppRequest, record: dict) -> Response:
    params = req.params()
    record["client_id"] = params.get("client_id")
    client = authenticate_client(tenant, params, req.headers)
    tx, user = _mfa_context(tenant, client, params, record)
    key = user_key(user)
    tenant.stats["challenges"][key] = tenant.stats["challenges"].get(key, 0) + 1
    authenticator = pick_authenticator(user, params)
    if authenticator["authenticator_type"] == "otp":
        return json_response(200, {"challenge_type": "otp"})
    code = new_secret("oob_code", 32)
    tenant.oob[code] = OobTransaction(params["mfa_token"], authenticator["id"],
                                      time.time() + tenant.settings["oob_code_lifetime"])
    body = {"challenge_type": "oob", "oob_code": code}
    if authenticator["oob_channel"] != "auth0":
        body["binding_method"] = "prompt"  # the user types the code sent to them
    return json_response(200, body)


def pick_authenticator(user: dict, params: dict) -> dict:
    active = [a for a in user.get("mfa", []) if is_active(a)]
    if not active:
        # The draft's error for a user with no authenticator (draft 2.2.3;
        # docs-v2 .../request-mfa-challenge.mdx).  UNVERIFIED wording.
        raise ApiError(400, "association_required", "User is not enrolled with any authenticator.")
    types = (params.get("challenge_type") or "otp oob").split()
    wanted = params.get("authenticator_id")
    challengeable = {"otp", "oob"} & set(types)  # a recovery code is entered, never challenged
    for authenticator in active:
        if authenticator["authenticator_type"] in challengeable and wanted in (None, authenticator["id"]):
            return authenticator
    # Verbatim from a tenant: github.com/auth0/Auth0.swift issue 1262.
    raise ApiError(401, "unsupported_challenge_type", "User does not have any enrolled authenticator "
                   f"with the supported challenge type ({', '.join(types)})")

# ------------------------------------------------------------------- sign-up

# Password policies as Auth0 checks them (sheriff index.js: none, low, fair, good,
# excellent), with the rule texts of sheriff lib/rules/*.  The containsAtLeast intro is
# the one tenants send ("Contain at least ...", go-auth0), not sheriff's newest wording.
CHARSETS = [  # (code, message, test), in sheriff's order
    ("lowerCase", "lower case letters (a-z)", lambda p: any("a" <= c <= "z" for c in p)),
    ("upperCase", "upper case letters (A-Z)", lambda p: any("A" <= c <= "Z" for c in p)),
    ("numbers", "numbers (i.e. 0-9)", lambda p: any("0" <= c <= "9" for c in p)),
    ("specialCharacters", "special characters (e.g. !@#$%^&*)",
     lambda p: any(c in " !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~" for c in p)),  # OWASP's list
]
PASSWORD_POLICIES = {
    "none": {"length": 1},
    "low": {"length": 6},
    "fair": {"length": 8, "contains": 3},          # lower, upper and numbers
    "good": {"length": 8, "contains_at_least": 3},  # 3 of the 4 charsets
    "excellent": {"length": 10, "contains_at_least": 3, "identical_chars": 2},
}


def password_rules(policy: str, password: str) -> list:
    """sheriff's PasswordPolicy.missing(): each rule with verified true or false, in the
    key order tenants send."""
    spec = PASSWORD_POLICIES[policy]
    rules = []
    length = spec["length"]
    if length == 1:
        rules.append({"message": "Non-empty password required", "code": "nonEmpty", "verified": bool(password)})
    else:
        rules.append({"message": "At least %d characters in length", "format": [length], "code": "lengthAtLeast",
                      "verified": len(password) >= length})
    items = [{"message": message, "code": code, "verified": test(password)} for code, message, test in CHARSETS]
    if "contains" in spec:
        wanted = items[:spec["contains"]]
        rules.append({"message": "Should contain:", "code": "shouldContain",
                      "verified": all(i["verified"] for i in wanted), "items": wanted})
    if "contains_at_least" in spec:
        rules.append({"message": "Contain at least %d of the following %d types of characters:",
                      "code": "containsAtLeast", "format": [spec["contains_at_least"], len(items)], "items": items,
                      "verified": sum(i["verified"] for i in items) >= spec["contains_at_least"]})
    if "identical_chars" in spec:
        most = spec["identical_chars"]
        run = max((len(m.group(0)) for m in re.finditer(r"(.)\1*", password)), default=0)
        rules.append({"message": 'No more than %d identical characters in a row (e.g., "%s" not allowed)',
                      "code": "identicalChars", "format": [most, "a" * (most + 1)], "verified": run <= most})
    return rules


def _sheriff_format(message: str, args: list) -> str:
    for arg in args:
        message = message.replace("%d" if isinstance(arg, int) else "%s", str(arg), 1)
    return message


def policy_text(rules: list, indent: int = 0) -> str:
    """sheriff's flatDescriptions: "* rule" lines, items one space deeper."""
    lines = []
    for rule in rules:
        lines.append(" " * indent + "* " + _sheriff_format(rule["message"], rule.get("format", [])))
        if rule.get("items"):
            lines.append(policy_text(rule["items"], indent + 1))
    return "\n".join(lines)


def password_strength_error(policy: str, password: str):
    """None when the password meets the connection's policy, else Auth0's answer,
    verbatim in shape and key order from go-auth0 authentication_error_test.go:
    {"name":"PasswordStrengthError","message":"Password is too weak","code":
    "invalid_password","description":{"rules":[...],"verified":false},"policy":"* At
    least 8 characters in length\\n* Contain at least 3 ...","statusCode":400}."""
    rules = password_rules(policy, password)
    if all(r["verified"] for r in rules):
        return None
    return WireError(400, {"name": "PasswordStrengthError", "message": "Password is too weak",
                           "code": "invalid_password", "description": {"rules": rules, "verified": False},
                           "policy": policy_text(rules), "statusCode": 400})


SIGNUP_STRING_FIELDS = ("client_id", "email", "password", "connection", "username", "given_name", "family_name",
                        "name", "nickname", "picture", "phone_number")
SIGNUP_PROFILE_FIELDS = ("given_name", "family_name", "name", "nickname", "picture")
EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+$")  # Auth0 takes hello@hello (github.com/auth0/lock issue 198)
# Username characters (Auth0 Community "Modify username requirements with auth0 sign
# up widget": alphanumerics, converted to lower case, and @ ^ $ . ! ` - # + ' ...), and
# never an email address.
USERNAME_SHAPE = re.compile(r"^[a-z0-9_+\-.!#$^`~'@]+$")


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def request_error(text: str) -> WireError:
    """The sign-up endpoint's answer to a malformed request: 400 with a bare {"error":
    text}.  Seen for disabled sign-ups ({"error":"public signup is disabled"},
    github.com/auth0/auth0.js issues 356 and 679) and, with the JSON-schema validator's
    text, for a mistyped field ("error in username - invalid type: null (expected
    string)", github.com/auth0/auth0-python issue 228); "connection not found" for an
    unknown connection (github.com/auth0/Auth0.Android issue 303, change_password).
    UNVERIFIED: the shape for missing properties and unknown clients, and that none of
    these has changed since."""
    return WireError(400, {"error": text})


INVALID_SIGNUP = ("invalid_signup", "Invalid sign up")  # go-auth0; node-auth0 PR 886


def signup_endpoint(tenant: Tenant, req: AppRequest, record: dict) -> Response:
    """POST /dbconnections/signup (docs-v2 api/authentication/signup/create-a-new-user).
    The docs say 409 for an existing user; tenants answer 400 (user_exists, or
    invalid_signup while the tenant hides which users exist), so this does."""
    body = req.fields()
    record.update({key: body.get(name) if isinstance(body.get(name), str) else None
                   for key, name in (("client_id", "client_id"), ("realm", "connection"), ("username", "username"))})
    for name in SIGNUP_STRING_FIELDS:
        if name in body and not isinstance(body[name], str):
            raise request_error(f"error in {name} - invalid type: {_json_type(body[name])} (expected string)")
    metadata = body.get("user_metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise request_error(f"error in user_metadata - invalid type: {_json_type(metadata)} (expected object)")
    for name in ("client_id", "email", "password", "connection"):
        if name not in body:
            raise request_error(f"Missing required property: {name}")
    if body["client_id"] not in tenant.clients:
        raise request_error(f"Unknown client: {body['client_id']}")  # UNVERIFIED
    conn = tenant.connections.get(body["connection"])
    if conn is None:
        raise request_error("connection not found")
    if conn["disable_signup"]:
        raise request_error("public signup is disabled")
    user = new_signup_user(tenant, conn, body)
    policy_error = password_strength_error(conn["passwordPolicy"], body["password"])
    if policy_error is not None:
        raise policy_error
    check_not_taken(tenant, conn, user)
    tenant.add_user(user)
    record.update(username=user_key(user), user_id=user["user_id"])
    tenant.stats["signups"] += 1
    return json_response(200, signup_body(user, body))


def new_signup_user(tenant: Tenant, conn: dict, body: dict) -> dict:
    """The user a sign-up creates, or invalid_signup for data Auth0 would refuse.
    UNVERIFIED: that a bad email, username or user_metadata gets invalid_signup rather
    than a more specific answer."""
    email = body["email"].lower()  # Auth0 lower-cases database users' emails and usernames
    if not EMAIL_SHAPE.match(email):
        raise db_error(*INVALID_SIGNUP)
    username = None
    if conn["requires_username"]:
        username = (body.get("username") or "").lower()
        limits = {**CONNECTION_DEFAULTS["validation"]["username"], **conn["validation"].get("username", {})}
        if (not limits["min"] <= len(username) <= limits["max"] or not USERNAME_SHAPE.match(username)
                or EMAIL_SHAPE.match(username)):
            raise db_error(*INVALID_SIGNUP)
    # Otherwise a username is ignored: "Only valid if the connection requires a username."
    metadata = body.get("user_metadata") or {}
    # "no more than ten properties ... names ... 100 characters, and property values must
    # be strings of no more than 500 characters" (the endpoint's docs).
    if len(metadata) > 10 or any(len(k) > 100 or not isinstance(v, str) or len(v) > 500 for k, v in metadata.items()):
        raise db_error(*INVALID_SIGNUP)
    user_id = secrets.token_hex(12)  # auth0|<24 hex digits>, like Auth0's database users
    while any(u["user_id"] == user_id for u in tenant.users.values()):
        user_id = secrets.token_hex(12)
    profile = {k: body[k] for k in SIGNUP_PROFILE_FIELDS if k in body}
    # A database user's nickname defaults to the email's local part and the name to the
    # email (Auth0's normalized profile; UNVERIFIED for the name).
    return {"user_id": user_id, "username": username, "email": email, "email_verified": False,
            "name": email, "nickname": email.split("@")[0], **profile, "connection": conn["name"],
            "password": body["password"], "user_metadata": metadata, "extra_claims": {}, "mfa": []}


def check_not_taken(tenant: Tenant, conn: dict, user: dict) -> None:
    """An email or username already in the connection.  With the tenant flag
    enable_public_signup_user_exists_error off (Auth0's default) both get the generic
    invalid_signup "Invalid sign up" (node-auth0 PR 886; github.com/boxlite-ai/boxlite
    issue 1373); on, user_exists "The user already exists." (auth0.js issue 447), and
    for a taken username "The user already exists (username: NAME)." (lock issue 2321,
    as a tenant answered).  The username_exists code that Auth0's error list names has
    not been seen on the wire, so it is not used."""
    for other in tenant.users.values():
        if other.get("connection") != conn["name"]:
            continue
        same_email = other["email"].lower() == user["email"]
        same_username = user["username"] and (other.get("username") or "").lower() == user["username"]
        if not (same_email or same_username):
            continue
        if not tenant.settings["enable_public_signup_user_exists_error"]:
            raise db_error(*INVALID_SIGNUP)
        if same_email:
            raise db_error("user_exists", "The user already exists.")
        raise db_error("user_exists", f"The user already exists (username: {user['username']}).")


def signup_body(user: dict, body: dict) -> dict:
    """The created user as Auth0 returns it: _id without the auth0| prefix, the email,
    email_verified false, the username (connections that require one) and the profile
    fields the request gave (the endpoint's response sample)."""
    answer = {"_id": user["user_id"], "email_verified": False, "email": user["email"]}
    if user["username"]:
        answer["username"] = user["username"]
    answer.update({k: body[k] for k in SIGNUP_PROFILE_FIELDS if k in body})
    return answer

# ------------------------------------------------------------------ other endpoints


def revoke_endpoint(tenant: Tenant, req: AppRequest, record: dict) -> Response:
    """POST /oauth/revoke: 200 with an empty body whether or not the token was known
    (docs articles/api/authentication/errors/_oauth-revoke.md, RFC 7009)."""
    params = req.params()
    record["client_id"] = params.get("client_id")
    # The revocation endpoint reports client failures as invalid_client (same source);
    # the description is UNVERIFIED.
    client = authenticate_client(tenant, params, req.headers,
                                 failure=(401, "invalid_client", "Client authentication failed."))
    token = require(params, "token")
    record["rt_sha"] = short_hash(token)
    family, _ = tenant.refresh.find(token)
    if family is not None and family.client_id == client["client_id"]:
        record.update(rt_family=family.id, username=family.username)
        if not family.revoked:
            family.revoked = True
            tenant.stats["revoked_families"] += 1
    return Response(200)


def userinfo_endpoint(tenant: Tenant, req: AppRequest, record: dict) -> Response:
    claims = verified_access_token(tenant, req.bearer())
    if claims is None:
        # A bad token gets a bare "Unauthorized" text body, not JSON
        # (github.com/auth0/Auth0.Android issue 629, auth0/react-native-auth0 issue 1375).
        return Response(401, b"Unauthorized", "text/plain; charset=utf-8",
                        [("WWW-Authenticate", 'Bearer error="invalid_token"')])
    user = next(u for u in tenant.users.values() if f"auth0|{u['user_id']}" == claims["sub"])
    record.update(username=user_key(user), user_id=user["user_id"], client_id=claims.get("azp"))
    return json_response(200, {"sub": claims["sub"], **profile_claims(user, scope_list(claims.get("scope")))})


def verified_access_token(tenant: Tenant, token):
    """Claims of an access token this tenant signed that is valid for /userinfo
    (openid granted, docs-v2 api/authentication/user-profile/get-user-info.mdx)."""
    try:
        header_b64, payload_b64, signature_b64 = token.split(".")
        header = json.loads(b64url_decode(header_b64))
        key = next(k for k in tenant.keys if k.kid == header.get("kid"))
        if header.get("alg") != "RS256" or not key.verifies(f"{header_b64}.{payload_b64}".encode(),
                                                            b64url_decode(signature_b64)):
            return None
        claims = json.loads(b64url_decode(payload_b64))
    except (AttributeError, ValueError, StopIteration):
        return None
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if (claims.get("iss") != tenant.issuer or claims.get("exp", 0) <= time.time()
            or tenant.userinfo_url not in audiences or "openid" not in scope_list(claims.get("scope"))):
        return None
    return claims


def jwks_endpoint(tenant: Tenant, req: AppRequest, record: dict) -> Response:
    tenant.stats["jwks_fetches"] += 1
    return json_response(200, {"keys": [k.jwk() for k in reversed(tenant.keys)]})


def openid_configuration(tenant: Tenant, req: AppRequest, record: dict) -> Response:
    base = tenant.issuer
    return json_response(200, {
        "issuer": base,
        "authorization_endpoint": f"{base}authorize",
        "token_endpoint": f"{base}oauth/token",
        "device_authorization_endpoint": f"{base}oauth/device/code",
        "userinfo_endpoint": tenant.userinfo_url,
        "mfa_challenge_endpoint": f"{base}mfa/challenge",
        "jwks_uri": f"{base}.well-known/jwks.json",
        "registration_endpoint": f"{base}oidc/register",
        "revocation_endpoint": f"{base}oauth/revoke",
        "end_session_endpoint": f"{base}oidc/logout",
        "scopes_supported": ["openid", "profile", "offline_access", "name", "given_name", "family_name",
                             "nickname", "email", "email_verified", "picture", "created_at",
                             "identities", "phone", "address"],
        "response_types_supported": ["code", "token", "id_token", "code token", "code id_token",
                                     "token id_token", "code token id_token"],
        "code_challenge_methods_supported": ["S256", "plain"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["public"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post",
                                                  "private_key_jwt"],
        "id_token_signing_alg_values_supported": ["HS256", "RS256", "PS256"],
        "claims_supported": ["aud", "auth_time", "created_at", "email", "email_verified", "exp",
                             "family_name", "given_name", "iat", "identities", "iss", "name",
                             "nickname", "phone_number", "picture", "sub"],
        "request_uri_parameter_supported": False,
        "request_parameter_supported": False,
    })


def not_found() -> Response:
    return ApiError(404, "not_found", "Not Found").response()  # UNVERIFIED body


ROUTES = {
    ("POST", "/oauth/token"): (token_endpoint, NO_STORE),
    ("POST", "/oauth/revoke"): (revoke_endpoint, []),
    ("GET", "/mfa/authenticators"): (mfa_authenticators, []),
    ("POST", "/mfa/challenge"): (mfa_challenge, []),
    ("POST", "/dbconnections/signup"): (signup_endpoint, []),
    ("GET", "/userinfo"): (userinfo_endpoint, []),
    ("POST", "/userinfo"): (userinfo_endpoint, []),
    ("GET", "/.well-known/jwks.json"): (jwks_endpoint, []),
    ("GET", "/.well-known/openid-configuration"): (openid_configuration, []),
}


def run_app(tenant: Tenant, req: AppRequest, record: dict) -> Response:
    route, headers = ROUTES.get((req.method, req.path), (None, []))
    if route is None:
        return not_found()
    try:
        with tenant.lock:
            response = route(tenant, req, record)
    except ApiError as err:
        return err.response(headers)
    except Exception:  # a bug in the fake: say so loudly rather than answer plausibly
        traceback.print_exc()
        return ApiError(500, "server_error", "fake tenant internal error").response()
    response.headers = headers + response.headers
    return response

# ---------------------------------------------------------------------- control API


class ControlError(Exception):
    pass


def _number(payload: dict, key: str, default, minimum=0):
    value = payload.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise ControlError(f"{key} must be a number >= {minimum}")
    return value


def control_fault(tenant: Tenant, payload: dict):
    kind = payload.get("kind")
    if kind not in FAULT_KINDS:
        raise ControlError(f"kind must be one of {sorted(FAULT_KINDS)}")
    path = payload.get("path")
    if not isinstance(path, str) or not (path == "*" or path.startswith("/")):
        raise ControlError('path must be "*" or start with "/"')
    count = payload.get("count", 1)
    if count != -1 and (not isinstance(count, int) or count < 1):
        raise ControlError("count must be a positive integer or -1")
    params = {k: v for k, v in payload.items() if k not in ("kind", "path", "count")}
    for key in ("seconds", "interval", "bytes", "retry_after"):
        if key in params:
            _number(params, key, 0)
    if kind == "status":
        _number(params, "status", None, 100)
    tenant.faults.append(Fault(path, kind, count, params))
    return {"ok": True, "faults": len(tenant.faults)}


def control_clear_faults(tenant: Tenant, payload: dict):
    tenant.faults.clear()
    return {"ok": True}


def control_settings(tenant: Tenant, payload: dict):
    unknown = set(payload) - SETTABLE
    if unknown:
        raise ControlError(f"unknown settings {sorted(unknown)}; settable: {sorted(SETTABLE)}")
    if "id_token_mode" in payload and payload["id_token_mode"] not in ID_TOKEN_MODES:
        raise ControlError(f"id_token_mode must be one of {sorted(ID_TOKEN_MODES)}")
    for key in BOOLEAN_SETTINGS & set(payload):
        if not isinstance(payload[key], bool):
            raise ControlError(f"{key} must be true or false")
    for key in SETTABLE - {"id_token_mode"} - BOOLEAN_SETTINGS:
        if key in payload:
            _number(payload, key, None)
    if "brute_force_max_attempts" in payload and not (
            isinstance(payload["brute_force_max_attempts"], int) and 1 <= payload["brute_force_max_attempts"] <= 100):
        raise ControlError("brute_force_max_attempts must be an integer from 1 to 100")  # Auth0's range
    tenant.settings.update(payload)
    return {k: tenant.settings[k] for k in sorted(SETTABLE)}


def control_get_settings(tenant: Tenant, payload: dict):
    return {k: tenant.settings[k] for k in sorted(SETTABLE)}


def control_rotate_key(tenant: Tenant, payload: dict):
    tenant.keys.append(SigningKey())
    return {"kid": tenant.key.kid, "kids": [k.kid for k in reversed(tenant.keys)]}


def _update_entity(table: dict, key_field: str, payload: dict):
    entity = table.get(payload.get(key_field))
    if entity is None:
        raise ControlError(f"no such {key_field}: {payload.get(key_field)!r}")
    entity.update({k: v for k, v in payload.items() if k != key_field})
    return {"ok": True}


def control_user(tenant: Tenant, payload: dict):
    """"username" is the user's key: the username, or the email of a user without one."""
    answer = _update_entity(tenant.users, "username", payload)
    if "password" in payload:
        # A password change lifts the user's brute-force blocks (brute-force-protection docs).
        user_id = tenant.users[payload["username"]]["user_id"]
        for key in [k for k in tenant.failed_logins if k[0] == user_id]:
            del tenant.failed_logins[key]
    return answer


def control_connection(tenant: Tenant, payload: dict):
    if "passwordPolicy" in payload and payload["passwordPolicy"] not in PASSWORD_POLICIES:
        raise ControlError(f"passwordPolicy must be one of {sorted(PASSWORD_POLICIES)}")
    return _update_entity(tenant.connections, "name", payload)


def control_stats(tenant: Tenant, payload: dict):
    stats = json.loads(json.dumps(tenant.stats))
    by_id = {u["user_id"]: user_key(u) for u in tenant.users.values()}
    stats["failed_logins"] = [
        {"username": by_id.get(user_id), "user_id": user_id, "ip": ip, "failures": count,
         "blocked": brute_force_blocked(tenant, {"user_id": user_id}, ip)}
        for (user_id, ip), count in tenant.failed_logins.items()]
    return stats


def control_client(tenant: Tenant, payload: dict):
    return _update_entity(tenant.clients, "client_id", payload)


def control_expire_mfa_tokens(tenant: Tenant, payload: dict):
    for tx in tenant.mfa_tokens.values():
        tx.expires_at = 0
    return {"expired": len(tenant.mfa_tokens)}


def control_reset(tenant: Tenant, payload: dict):
    tenant.reset()
    return {"ok": True}


CONTROL_ROUTES = {
    ("POST", "reset"): control_reset,
    ("GET", "log"): lambda t, p: [dict(r) for r in t.log],
    ("GET", "stats"): control_stats,
    ("POST", "fault"): control_fault,
    ("DELETE", "fault"): control_clear_faults,
    ("GET", "settings"): control_get_settings,
    ("POST", "settings"): control_settings,
    ("POST", "rotate-key"): control_rotate_key,
    ("POST", "user"): control_user,
    ("POST", "client"): control_client,
    ("POST", "connection"): control_connection,
    ("POST", "expire-mfa-tokens"): control_expire_mfa_tokens,
}


def handle_control(tenant: Tenant, method: str, path: str, body: bytes) -> Response:
    handler = CONTROL_ROUTES.get((method, path[len(CONTROL_PREFIX):]))
    if handler is None:
        return json_response(404, {"error": "not_found", "error_description": f"no control endpoint {method} {path}"})
    try:
        payload = json.loads(body) if body.strip() else {}
        if not isinstance(payload, dict):
            raise ControlError("body must be a JSON object")
        with tenant.lock:
            return json_response(200, handler(tenant, payload))
    except (ValueError, ControlError) as err:
        return json_response(400, {"error": "bad_control_request", "error_description": str(err)})

# ----------------------------------------------------------------------------- HTTP


class Handler(http.server.BaseHTTPRequestHandler):
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle on this side
    # and delayed ACK on the client add ~40 ms to every answer, which no real tenant does.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"  # keep-alive, so clients can reuse one connection
    timeout = 60  # an idle kept-alive connection is closed after this long

    def version_string(self):
        return "fake-auth0"

    def handle(self):
        # The handshake runs here, in the connection's own thread (see Listener.get_request).
        try:
            self.connection.do_handshake()
        except (ssl.SSLError, OSError):
            self.server.tenant.handshake_failed(self.server.name)
            return
        self.conn_id, self.generation = self.server.tenant.open_connection(self.server.name)
        self.requests_seen = 0
        super().handle()

    def log_message(self, format, *args):
        pass  # stdout carries only the ready line; request details live in /__control/log

    def log_error(self, format, *args):
        if format.startswith("Request timed out"):
            return  # an idle kept-alive connection timing out is routine, not an error
        sys.stderr.write("fake_tenant: %s\n" % (format % args))

    def do_GET(self):
        self.dispatch()

    do_POST = do_DELETE = do_PUT = do_PATCH = do_GET

    def dispatch(self):
        body = self.read_body()
        if body is None:
            return
        path = urlsplit(self.path).path
        first_request = self.requests_seen == 0
        self.requests_seen += 1
        tenant = self.server.tenant
        if self.server.is_main and path.startswith(CONTROL_PREFIX):
            if first_request:
                tenant.reclassify_as_control(self.generation)
            self.send(handle_control(tenant, self.command, path, body))
            return
        peer = self.client_address[0]
        req = AppRequest(self.command, path, self.headers, body, peer)
        record = tenant.begin_record(
            conn=self.conn_id, listener=self.server.name, method=self.command, path=path,
            content_type=self.headers.get("Content-Type"),
            auth0_forwarded_for=self.headers.get("auth0-forwarded-for"), ip=peer, client_ip=peer,
            has_authorization="Authorization" in self.headers,
            user_agent=self.headers.get("User-Agent"),
            # Every header of a token request as sent, [name, value] (tests of extra headers).
            headers=[[k, v] for k, v in self.headers.items()] if path == "/oauth/token" else None)
        self.serve_app(tenant, req, record, tenant.take_fault(path))

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self.send(Response(411))  # every Auth0 client sends Content-Length
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True
            self.send(Response(413 if length > MAX_BODY else 400))
            return None
        return self.rfile.read(length)

    def serve_app(self, tenant: Tenant, req: AppRequest, record: dict, fault: Fault):
        """Answers normally unless a fault applies.  Faults that stand for a broken
        network or proxy never reach the tenant's logic; those that break only the
        answer (truncated, slow_body, wrong_content_type) let the tenant act first, as a
        real server that processed the request but whose answer got lost."""
        if fault is not None:
            record["fault"] = fault.kind
            if fault.kind == "delay":
                time.sleep(fault.params.get("seconds", 1))
            elif fault.kind in PRE_APP_FAULTS:
                record["status"] = PRE_APP_FAULTS[fault.kind](self, fault.params)
                return
        started = time.perf_counter()
        response = run_app(tenant, req, record)
        # The tenant's own processing time, so benchmarks can set the client's cost apart.
        record["server_ms"] = round((time.perf_counter() - started) * 1000, 3)
        record["status"] = response.status
        record["error"] = _error_code(response)
        if fault is not None and fault.kind in POST_APP_FAULTS:
            POST_APP_FAULTS[fault.kind](self, response, fault.params)
        else:
            self.send(response)

    def send_head(self, status: int, content_type, length: int, headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def send(self, response: Response):
        self.send_head(response.status, response.content_type, len(response.body), response.headers)
        self.wfile.write(response.body)

    def hang_up(self):
        """Ends the TCP connection without an answer and without TLS close_notify: to
        the client it simply dies.  shutdown(), unlike close(), acts at once even
        though rfile and wfile still reference the socket."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # --- faults that replace the tenant's answer; each returns the status sent (None: none)
    def fault_status(self, params):
        body = params.get("body", b"")
        ctype = None
        if isinstance(body, (dict, list)):
            body, ctype = json_bytes(body), "application/json; charset=utf-8"
        elif isinstance(body, str):
            body, ctype = body.encode(), "text/plain; charset=utf-8"
        headers = list(params.get("headers", {}).items())
        if any(name.lower() == "content-type" for name, _ in headers):
            ctype = None
        self.send(Response(params["status"], body, ctype, headers))
        return params["status"]

    def fault_drop(self, params):
        self.hang_up()

    def fault_silence(self, params):
        time.sleep(params.get("seconds", 30))
        self.hang_up()

    def fault_garbage(self, params):
        # Claims JSON and is not: the client must not trust the Content-Type alone.
        self.send(Response(200, b"<html><body>502 Bad Gateway</body></html>\x00\xff",
                           "application/json; charset=utf-8"))
        return 200

    def fault_huge(self, params):
        size = int(params.get("bytes", 10 << 20))
        filler = b'{"padding":"' + b"x" * max(0, size - 14) + b'"}'
        body = filler[:size]
        self.send_head(200, "application/json; charset=utf-8", size)
        try:
            for start in range(0, size, 1 << 16):
                self.wfile.write(body[start:start + (1 << 16)])
        except OSError:
            self.close_connection = True  # the client gave up reading, as it should
        return 200

    def fault_rate_limit(self, params):
        reset = int(time.time()) + int(params.get("retry_after", 60))
        # 429 and the X-RateLimit-* headers (docs-v2 api/authentication/user-profile/
        # get-user-info.mdx; Reset is epoch seconds); body text UNVERIFIED.
        headers = [("X-RateLimit-Limit", "10"), ("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", str(reset))]
        if "retry_after" in params:
            headers.append(("Retry-After", str(int(params["retry_after"]))))
        self.send(json_response(429, {"error": "too_many_requests",
                                      "error_description": "Global limit has been reached"}, headers))
        return 429

    # --- faults that mangle the tenant's answer
    def fault_truncated(self, response, params):
        self.send_head(response.status, response.content_type, len(response.body), response.headers)
        self.wfile.write(response.body[:len(response.body) // 2])
        self.hang_up()

    def fault_slow_body(self, response, params):
        self.send_head(response.status, response.content_type, len(response.body), response.headers)
        try:
            for i in range(len(response.body)):
                self.wfile.write(response.body[i:i + 1])
                time.sleep(params.get("interval", 1))
        except OSError:
            self.close_connection = True

    def fault_wrong_content_type(self, response, params):
        self.send(Response(response.status, response.body, "text/html", response.headers))


PRE_APP_FAULTS = {"status": Handler.fault_status, "drop": Handler.fault_drop, "silence": Handler.fault_silence,
                  "garbage": Handler.fault_garbage, "huge": Handler.fault_huge,
                  "rate_limit": Handler.fault_rate_limit}
POST_APP_FAULTS = {"truncated": Handler.fault_truncated, "slow_body": Handler.fault_slow_body,
                   "wrong_content_type": Handler.fault_wrong_content_type}


def _error_code(response: Response):
    if not (response.content_type or "").startswith("application/json"):
        return None
    body = json.loads(response.body or b"null")
    # OAuth answers carry "error"; /dbconnections answers may carry "code" instead.
    return (body.get("error") or body.get("code")) if isinstance(body, dict) else None


class Listener(http.server.ThreadingHTTPServer):
    daemon_threads = True  # a silent or slow connection must not block shutdown
    request_queue_size = 128

    def __init__(self, name: str, port: int, cert: str, key: str):
        self.name = name
        self.is_main = name == "main"
        self.tenant = None
        self.ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ssl_context.load_cert_chain(cert, key)
        self.ssl_context.set_alpn_protocols(["http/1.1"])
        super().__init__(("127.0.0.1", port), Handler)

    def server_bind(self):
        socketserver.TCPServer.server_bind(self)  # skips HTTPServer's reverse DNS lookup
        self.server_name, self.server_port = "localhost", self.server_address[1]

    def get_request(self):
        sock, addr = self.socket.accept()
        # No handshake in the accept loop: a slow or hostile client must not stall it.
        return self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], OSError):  # clients hanging up are routine
            super().handle_error(request, client_address)

# -------------------------------------------------------------------------------- CLI

LISTENER_CERTS = {"main": "server", "other_ca": "other", "wrong_host": "wrong-host", "expired": "expired"}


def closed_port() -> int:
    """A port that was just bound and released, so connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cert_pair(directory: str, stem: str):
    paths = [os.path.join(directory, f"{stem}.{ext}") for ext in ("pem", "key")]
    for path in paths:
        if not os.path.exists(path):  # ssl's own error would not name the file
            raise FileNotFoundError(f"missing {path}; run gen-certs first")
    return paths


def serve(args) -> int:
    listeners = {}
    for name, stem in LISTENER_CERTS.items():
        port = args.port if name == "main" else 0
        listeners[name] = Listener(name, port, *cert_pair(args.certs, stem))
    port = listeners["main"].server_address[1]
    tenant = Tenant(args.data, port)
    for listener in listeners.values():
        listener.tenant = tenant
        threading.Thread(target=listener.serve_forever, name=f"listener-{listener.name}", daemon=True).start()
    state = {"pid": os.getpid(), "port": port,
             **{f"port_{name}": listeners[name].server_address[1] for name in ("other_ca", "wrong_host", "expired")},
             "port_closed": closed_port()}
    atomic_write(args.state_file, json_bytes(state) + b"\n")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print(f"ready port={port}", flush=True)
    stop.wait()
    for listener in listeners.values():
        listener.shutdown()
        listener.server_close()
    return 0


def main(argv) -> int:
    parser = argparse.ArgumentParser(description="Fake Auth0 tenant for pam_auth0's tests.")
    commands = parser.add_subparsers(dest="command", required=True)
    certs = commands.add_parser("gen-certs", help="write the test CA and server certificates")
    certs.add_argument("dir")
    run = commands.add_parser("serve", help="run the fake tenant")
    run.add_argument("--certs", required=True)
    run.add_argument("--data", required=True)
    run.add_argument("--state-file", required=True)
    run.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        if args.command == "gen-certs":
            gen_certs(args.dir)
            return 0
        return serve(args)
    except (OSError, ValueError, KeyError) as err:
        print(f"fake_tenant: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
