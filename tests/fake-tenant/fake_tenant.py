#!/usr/bin/python3
"""A fake Auth0 tenant for pam_auth0's tests and demo.

It speaks the wire protocol of Auth0's Authentication API (token endpoint with the
password-realm, refresh, MFA, client-credentials and Token Vault grants, the MFA API,
database sign-up, revocation, userinfo and discovery, with brute-force protection and
DPoP sender-constraining) and of the Management API's user reads over TLS on 127.0.0.1,
plus a /__control/ API through which tests inject faults, change settings and read a
request log, and /__resource/, an API that enforces DPoP.  README.md has the details.

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
  dpop-docs  docs-v2 secure/sender-constraining/demonstrating-proof-of-possession-dpop.mdx
           and configure-sender-constraining.mdx (Auth0's DPoP and its issuance table)
  rfc9449  RFC 9449, OAuth 2.0 Demonstrating Proof of Possession (DPoP)
  jwt-bearer  github.com/auth0/node-oauth2-jwt-bearer, Auth0's own resource-server
           library (packages/access-token-jwt/src/dpop-verifier.ts, token-verifier.ts:
           its DPoP checks, messages and WWW-Authenticate challenges)
  UNVERIFIED  no public source found; the choice is the most plausible one and is
           listed in README.md so it can be corrected when checked against a tenant.

Uses only the standard library and python3-cryptography (Debian 12).
"""

import argparse
import base64
import datetime
import email.utils
import functools
import gzip
import hashlib
import hmac
import http.server
import ipaddress
import itertools
import json
import math
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
from urllib.parse import parse_qs, quote, unquote, unquote_plus, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# --------------------------------------------------------------------------- constants

GRANT_PASSWORD = "password"
GRANT_REALM = "http://auth0.com/oauth/grant-type/password-realm"
GRANT_REFRESH = "refresh_token"
GRANT_OTP = "http://auth0.com/oauth/grant-type/mfa-otp"
GRANT_OOB = "http://auth0.com/oauth/grant-type/mfa-oob"
GRANT_RECOVERY = "http://auth0.com/oauth/grant-type/mfa-recovery-code"
GRANT_CLIENT_CREDENTIALS = "client_credentials"
# Token Vault's grant (docs-v2 api/authentication/token-vault-token-exchange/get-token.mdx).
GRANT_TOKEN_VAULT = "urn:auth0:params:oauth:grant-type:token-exchange:federated-connection-access-token"
# Custom Token Exchange (RFC 8693's grant; its section below).
GRANT_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
IMPLEMENTED_GRANTS = {GRANT_PASSWORD, GRANT_REALM, GRANT_REFRESH, GRANT_OTP, GRANT_OOB, GRANT_RECOVERY,
                      GRANT_CLIENT_CREDENTIALS, GRANT_TOKEN_VAULT, GRANT_TOKEN_EXCHANGE,
                      "http://auth0.com/oauth/grant-type/passwordless/otp",
                      "urn:ietf:params:oauth:grant-type:device_code"}  # the device flow's section
# Grants a real tenant knows but this fake does not implement.  No fake client enables
# them, so asking for one yields unauthorized_client, as on a tenant where the
# application lacks the grant, rather than unsupported_grant_type.
OTHER_AUTH0_GRANTS = {
    "authorization_code", "implicit",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "urn:openid:params:grant-type:ciba",
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
    # The Management API's per-tenant token bucket (docs-v2 troubleshoot/customer-support/
    # operational-policies/rate-limit-policy: "Auth0 rate limits use a token bucket";
    # bucket size = burst limit, refill rate = sustained limit).  A free tenant's
    # Management API has burst 2, 2/second (.../rate-limit-configurations/free-public);
    # the default here is generous so that only tests that lower it are limited.
    "mgmt_rate_limit_burst": 1000,
    "mgmt_rate_limit_per_second": 1000,
    # User search is eventually consistent (Elasticsearch behind /api/v2/users?q=): a
    # change becomes visible to searches this many seconds after it was made.  0: at once.
    "search_lag_seconds": 0,
    # GET /api/v2/jobs/{id} answers "pending" this many times before "completed".
    "export_pending_polls": 1,
    # An export's download link (the job's location) is valid for 60 seconds
    # (docs-v2 manage-users/user-migration/bulk-user-exports).
    "export_link_lifetime": 60,
    # The social and enterprise connections whose tokens Token Vault keeps (the fake has
    # no login through them: POST /__control/federated stores a user's tokens directly).
    "federated_connections": [],
    # Which clients must put the token endpoint's nonce in their DPoP proofs: Auth0 demands
    # one from public clients ("If a public client makes a /token request and doesn't
    # include a nonce value in the DPoP HTTP header, Auth0 responds with an HTTP 400",
    # dpop-docs), so "public_clients" is the default; "all_clients" and "never" are test
    # knobs.
    "dpop_nonce": "public_clients",
    # Whether /__resource/ (an API enforcing DPoP) refuses Bearer tokens altogether, as
    # jwt-bearer's DPoP-only mode does; false: its "allowed" mode (unbound Bearer tokens
    # accepted, DPoP-bound tokens only with the DPoP scheme).
    "resource_dpop_required": True,
}
BOOLEAN_SETTINGS = {"enable_public_signup_user_exists_error", "brute_force_protection", "resource_dpop_required"}
DPOP_NONCE_MODES = ("public_clients", "all_clients", "never")
STRING_SETTINGS = {"id_token_mode", "dpop_nonce"}
SETTABLE = {"access_token_lifetime", "min_poll_interval", "id_token_mode", "mfa_token_lifetime",
            "brute_force_max_attempts", "mgmt_rate_limit_burst", "mgmt_rate_limit_per_second",
            "search_lag_seconds", "export_pending_polls", "export_link_lifetime",
            "dpop_nonce"} | BOOLEAN_SETTINGS

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
    """An error answer in Auth0's {"error", "error_description", ...} shape; `headers`
    are sent with it (a DPoP-Nonce)."""
    headers = ()

    def __init__(self, status: int, error: str, description: str, **extra):
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.body = {"error": error, "error_description": description, **extra}

    def response(self, headers=()) -> Response:
        return json_response(self.status, self.body, list(headers) + list(self.headers))


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
    ids = [u["user_id"] for u in data["users"]]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate user_ids in tenant data")
    for role in data.get("roles", []):
        if not ID_SHAPES["rol"].match(role.get("id", "")):
            raise ValueError(f"role {role.get('name')}: id must be rol_ and 16 letters or digits")
        unknown = set(role.get("users", [])) - set(ids)
        if unknown:
            raise ValueError(f"role {role.get('name')}: unknown user_ids {sorted(unknown)}")
    for conn in data.get("tenant", {}).get("connections", []):
        if isinstance(conn, dict) and conn.get("passwordPolicy", "none") not in PASSWORD_POLICIES:
            raise ValueError(f"connection {conn.get('name')}: passwordPolicy must be one of "
                             f"{sorted(PASSWORD_POLICIES)}")
    return data


def connection_table(entries) -> dict:
    """tenant.connections lists names or {"name", ...settings}; unset settings take
    CONNECTION_DEFAULTS.  Every connection has an id, con_ and 16 letters or digits as
    Auth0 makes them (the Management API's schema: pattern ^con_[A-Za-z0-9]{16}$); one
    the data file does not give is made up."""
    table = {}
    for entry in entries:
        conn = {"name": entry} if isinstance(entry, str) else dict(entry)
        conn = {**json.loads(json.dumps(CONNECTION_DEFAULTS)), **conn}
        conn.setdefault("id", new_id("con"))
        if not ID_SHAPES["con"].match(conn["id"]):
            raise ValueError(f"connection {conn['name']}: id must be con_ and 16 letters or digits")
        table[conn["name"]] = conn
    return table


ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
ID_SHAPES = {prefix: re.compile(rf"^{prefix}_[A-Za-z0-9]{{16}}$") for prefix in ("con", "rol", "job")}


def new_id(prefix: str) -> str:
    """Auth0's entity ids: con_..., rol_..., job_... with 16 letters or digits
    (con_ftSSLHb0O7rcUGmF, rol_9yRKwo2Bl0zckceV, job_iSjvljNtsTMmSpRW in go-auth0's
    recordings of a real tenant, test/data/recordings, 2023)."""
    return f"{prefix}_" + "".join(secrets.choice(ID_ALPHABET) for _ in range(16))


def now_ms() -> int:
    return int(time.time() * 1000)


@functools.lru_cache(maxsize=4096)
def iso_ms(ms: int) -> str:
    """Auth0's timestamps: ISO 8601, UTC, milliseconds, Z (2023-01-25T17:48:14.784Z)."""
    when = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)


def parse_iso_ms(text: str) -> int:
    """An ISO 8601 date or date-time as epoch milliseconds; naive times are UTC."""
    if not isinstance(text, str) or not re.match(r"^\d{4}-\d{2}-\d{2}", text):
        raise ValueError(f"not an ISO 8601 date: {text!r}")
    when = datetime.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return int(round(when.timestamp() * 1000))


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
    jkt: str = None  # the DPoP key the family is bound to (thumbprint), or None


class RefreshStore:
    def __init__(self):
        self.families = {}
        self.tokens = {}  # token -> [family id, already used]
        self._ids = itertools.count(1)

    def new_family(self, client: dict, username: str, scopes: list, audience: str, jkt: str = None):
        family = Family(f"fam-{next(self._ids)}", client["client_id"], username, scopes, audience,
                        bool(client.get("rotation")), jkt=jkt)
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
            "jwks_fetches": 0, "challenges": {}, "signups": 0, "client_credentials": 0, "client_assertions": 0,
            "token_vault": {"requests": 0, "exchanges": 0, "federated_refreshes": 0, "by_user_connection": {}},
            "management": {"requests": 0, "by_route": {}, "rate_limited": 0},
            "exports": {"downloads": 0, "downloads_with_authorization": 0},
            "dpop": {"proofs": {"accepted": 0, "refused": {}}, "nonce_challenges": 0,
                     "bound_access_tokens": 0, "bound_refresh_families": 0, "binding_refused": {},
                     "not_issued": {}, "revoke_proofs": {"valid": 0, "invalid": 0},
                     "userinfo": {"accepted": 0, "refused": {}}, "resource": {"accepted": 0, "refused": {}}},
            "custom_token_exchange": {"accepted": 0, "rejected": {}},
            "device": {"codes": 0, "polls": 0, "pending": 0, "slow_down": 0, "approved": 0, "denied": 0,
                       "expired": 0}}


class Tenant:
    """All mutable state of the fake tenant, guarded by self.lock: request handlers
    run under it (run_app, handle_control); methods called from elsewhere take it."""

    def __init__(self, data_path: str, port: int):
        self.data_path = data_path
        self.issuer = f"https://localhost:{port}/"
        self.userinfo_url = f"{self.issuer}userinfo"
        self.session_transfer_audience = f"urn:localhost:{port}:session_transfer"
        # The Management API's identifier is https://{domain}/api/v2/ (docs-v2
        # get-started/authentication-and-authorization-flow/client-credentials-flow/...).
        self.mgmt_audience = f"{self.issuer}api/v2/"
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
            base_dir = os.path.dirname(os.path.abspath(self.data_path))
            for client in self.clients.values():
                pkjwt = (client.get("client_authentication_methods") or {}).get("private_key_jwt")
                if pkjwt:
                    pkjwt["credentials"] = load_credentials(pkjwt.get("credentials", []), base_dir)
                privileged = client.get("token_vault_privileged_access")
                if privileged:
                    privileged["credentials"] = load_credentials(privileged.get("credentials", []), base_dir)
            self.connections = connection_table(self.settings["connections"])
            # The APIs (resource servers): the data file's "apis" are identifiers or
            # {"identifier", "proof_of_possession"} objects; settings["apis"] keeps the
            # identifiers, resource_servers their sender-constraining policy.
            self.resource_servers = {self.mgmt_audience: {"proof_of_possession": None}}
            identifiers = []
            for entry in self.settings["apis"]:
                entry = {"identifier": entry} if isinstance(entry, str) else entry
                identifiers.append(entry["identifier"])
                self.resource_servers[entry["identifier"]] = {
                    "proof_of_possession": check_proof_of_possession(entry.get("proof_of_possession"))}
            self.settings["apis"] = identifiers
            self.dpop_nonce = new_dpop_nonce()
            self.dpop_jtis = {}      # (jkt, jti) -> until when: proofs the token endpoint took
            self.resource_jtis = {}  # the same for /__resource/ (another server, its own store)
            self.users = {}
            self.by_id = {}          # user_id (without auth0|) -> user
            self.login_index = {}    # (connection, lower-cased username or email) -> user
            started = now_ms()
            for user in data["users"]:
                self.add_user(user, started, fresh=False)
            self.roles = {}          # role id -> {"id", "name", "description", "members": {user_id: ms}}
            for role in data.get("roles", []):
                members = {f"auth0|{uid}": started for uid in role.get("users", [])}
                self.roles[role["id"]] = {"id": role["id"], "name": role["name"],
                                          "description": role.get("description", ""), "members": members}
            self.jobs = {}           # job id -> export job
            self.ghosts = []         # (visible until ms, snapshot) of deleted users search still shows
            self.cc_action = None    # the simulated credentials-exchange Action
            self.used_jtis = {}      # (client_id, jti) -> exp of client assertions already used
            # Token Vault: (user_id with auth0|, connection) -> the user's connected
            # accounts there, each {"login_hint", "access_token", "expires_at", "lifetime",
            # "refresh_token", "scopes", "refresh_fails"}.
            self.federated = {}
            # Custom Token Exchange: subject_token_type -> profile (cte_profile), and
            # Suspicious IP Throttling's failures: ip -> (count, since).
            self.cte_profiles = {}
            for entry in data.get("custom_token_exchange_profiles", []):
                profile = cte_profile(self, entry)
                self.cte_profiles[profile["subject_token_type"]] = profile
            self.cte_failures = {}
            self.device = new_device_state()  # the device authorization flow's
            self.worker_jtis = {}    # (client_id, jti) -> until when a worker JWT's jti is kept
            self.bucket = TokenBucket()
            self.export_key = secrets.token_bytes(32)  # signs the export download links
            self.bulk_ids = itertools.count(1)
            # Brute-force protection's failed-login counters: (user_id, ip) -> count.
            self.failed_logins = {}
            self.keys = [self.first_key]
            self.mfa_tokens = {}
            self.oob = {}
            self.outbox = []              # mails and texts the tenant sent (GET /__control/outbox)
            self.associate_override = {}  # POST /__control/associate: hostile enrolment answers
            self.clock_skew = 0           # POST /__control/clock: seconds the Date header is off
            passwordless_reset(self, data)
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

    def add_user(self, user: dict, created: int = None, fresh: bool = True) -> None:
        """Stores a user (data file, sign-up or control API).  created_at and updated_at
        are the data's, else `created` (ms) or now; both kept also as epoch ms.  A
        `fresh` user is subject to the search lag; the data file's are not."""
        key = user.get("username") or user["email"]
        if key in self.users:  # the same email in two connections that lack usernames
            key = f"{key}#{user.get('connection')}"
        user["_key"] = key
        stamp = created if created is not None else now_ms()
        for name in ("created_at", "updated_at"):
            ms = parse_iso_ms(user[name]) if name in user else stamp
            user[name], user[f"_{name}_ms"] = iso_ms(ms), ms
        self.users[key] = user
        self.by_id[user["user_id"]] = user
        self.index_user(user)
        if fresh:
            self.note_search_change(user, None)

    def index_user(self, user: dict) -> None:
        conn = user.get("connection")
        for login in (user.get("email"), user.get("username")):
            if login:
                self.login_index.setdefault((conn, login.lower()), user)

    def unindex_user(self, user: dict) -> None:
        conn = user.get("connection")
        for login in (user.get("email"), user.get("username")):
            if login and self.login_index.get((conn, login.lower())) is user:
                del self.login_index[(conn, login.lower())]

    def find_user(self, login: str, connection: str):
        """A database connection that requires usernames accepts the username or the
        email as login (Auth0 Community "Username can only contain alphanumeric
        characters...": "Auth0 will attempt to log the user in using the username
        parameter ... with both the username and email fields of the user profile")."""
        return self.login_index.get((connection, login.lower()))

    def user_by_sub(self, sub: str):
        return self.by_id.get(sub[len("auth0|"):]) if isinstance(sub, str) and sub.startswith("auth0|") else None

    # --- changes to users, as the Management API and search see them
    def note_search_change(self, user: dict, before) -> None:
        """User search is eventually consistent: for search_lag_seconds after a change,
        searches still see the user as it was (`before`: a copy, or None for a new
        user).  A second change within the window keeps the oldest view."""
        lag = self.settings["search_lag_seconds"]
        if not lag:
            user.pop("_search", None)
            return
        now = now_ms()
        pending = user.get("_search")
        if pending is not None and pending[0] > now:
            user["_search"] = (now + int(lag * 1000), pending[1])
        else:
            user["_search"] = (now + int(lag * 1000), before)

    def change_user(self, user: dict, fields: dict, bump: bool = True) -> None:
        """Applies a change: shallow update, re-indexed logins, and updated_at bumped
        unless `bump` is false (Auth0 bumps updated_at on every profile change, a
        password change included: go-auth0 recording TestUserManager_Update)."""
        before = {k: v for k, v in user.items() if k != "_search"}
        self.unindex_user(user)
        user.update(fields)
        self.index_user(user)
        if bump:
            ms = max(now_ms(), user["_updated_at_ms"])
            user["updated_at"], user["_updated_at_ms"] = iso_ms(ms), ms
        self.note_search_change(user, before)

    def delete_user(self, user: dict) -> None:
        lag = self.settings["search_lag_seconds"]
        if lag:
            self.ghosts.append((now_ms() + int(lag * 1000), {k: v for k, v in user.items() if k != "_search"}))
        self.unindex_user(user)
        del self.users[user_key(user)]
        del self.by_id[user["user_id"]]
        for role in self.roles.values():
            role["members"].pop(f"auth0|{user['user_id']}", None)
        for key in [k for k in self.failed_logins if k[0] == user["user_id"]]:
            del self.failed_logins[key]
        for key in [k for k in self.federated if k[0] == f"auth0|{user['user_id']}"]:
            del self.federated[key]

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
                      "status": None, "error": None, "rt_family": None, "rt_sha": None, "connection": None,
                      "reuse_detected": False, "fault": None, "mgmt_route": None, "dpop": None,
                      "token_type": None}
            self.log.append(record)
            return record

    def take_fault(self, path: str):
        """The first fault whose path matches: "*", the exact path, or a prefix ending
        in "*" ("/api/v2/*").  A fault with `skip` lets that many matching requests
        through first."""
        with self.lock:
            for fault in self.faults:
                if fault.path == "*" or fault.path == path or (
                        fault.path.endswith("*") and path.startswith(fault.path[:-1])):
                    if fault.params.get("skip", 0) > 0:
                        fault.params["skip"] -= 1
                        return None
                    if fault.remaining > 0:
                        fault.remaining -= 1
                        if fault.remaining == 0:
                            self.faults.remove(fault)
                    return fault
            return None

# ----------------------------------------------------------------------- token issuing


def access_token(tenant: Tenant, user: dict, client_id: str, scopes: list, audience, jkt: str = None) -> str:
    """A user's access token; with `jkt` it is DPoP-bound: "The Auth0 Authorization Server
    includes a confirmation claim, cnf, in the access token. The cnf claim contains the
    thumbprint (hash) of the public key" (dpop-docs), as {"jkt": ...} (rfc9449 6.1).  Its
    place after the other claims is UNVERIFIED."""
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
    if jkt:
        claims["cnf"] = {"jkt": jkt}
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


def token_body(tenant: Tenant, user: dict, client: dict, scopes: list, audience, record: dict,
               refresh_token=None) -> dict:
    """The success body of the token endpoint (docs-v2 api/authentication/
    resource-owner-password-flow/get-token.mdx, refresh-token/refresh-token.mdx); a
    DPoP-bound access token has token_type DPoP (rfc9449 5, dpop-docs)."""
    jkt = dpop_access_jkt(record)
    body = {"access_token": access_token(tenant, user, client["client_id"], scopes, audience, jkt)}
    if "openid" in scopes:
        token = id_token(tenant, user, client["client_id"], scopes)
        if token is not None:
            body["id_token"] = token
    if refresh_token:
        body["refresh_token"] = refresh_token
    if scopes:
        body["scope"] = " ".join(scopes)
    body.update(expires_in=tenant.settings["access_token_lifetime"], token_type=dpop_token_type(tenant, jkt))
    return body


def login_tokens(tenant: Tenant, user: dict, client: dict, scopes: list, audience, record: dict) -> dict:
    """Tokens for a finished login (password or MFA): a new refresh family when
    offline_access was granted, bound to the key of the login's DPoP proof if it had one
    (dpop_family_jkt)."""
    refresh_token = None
    if "offline_access" in scopes:
        jkt = dpop_family_jkt(tenant, record)
        family, refresh_token = tenant.refresh.new_family(client, user_key(user), scopes, audience, jkt)
        record["rt_family"] = family.id
    return token_body(tenant, user, client, scopes, audience, record, refresh_token)

# ------------------------------------------------------------------ client credentials


def basic_credentials(headers):
    """client_secret_basic: "Basic base64(id:secret)" where id and secret are each
    application/x-www-form-urlencoded first (RFC 6749 2.3.1).  (None, None) when there
    is no Basic header or it does not decode."""
    auth = headers.get("Authorization", "")
    if not auth.startswith("Basic "):
        return None, None
    try:
        raw = base64.b64decode(auth[6:].strip(), validate=True).decode()
    except ValueError:
        return None, None
    client_id, colon, secret = raw.partition(":")
    if not colon:
        return None, None
    return unquote_plus(client_id), unquote_plus(secret)


# How a request authenticates its client, by what it carries (RFC 6749 2.3.1, RFC 7523,
# OIDC Core 9): an assertion, an HTTP Basic header, a client_secret in the body, or none.
def presented_auth_method(params: dict, headers) -> str:
    if params.get("client_assertion") or params.get("client_assertion_type"):
        return "private_key_jwt"
    if headers.get("Authorization", "").startswith("Basic "):
        return "client_secret_basic"
    if params.get("client_secret") is not None:
        return "client_secret_post"
    return "none"


def client_auth_method(client: dict) -> str:
    """The method a client must use.  Private-key credentials make it private_key_jwt
    (Auth0 sets token_endpoint_auth_method to null once client_authentication_methods
    holds them: docs-v2 get-started/applications/configure-private-key-jwt); otherwise
    its token_endpoint_auth_method (none, client_secret_post, client_secret_basic: the
    Management API's enum).  A client of the data file that names none takes either
    secret method ("client_secret", the fake's older clients) or none without a secret."""
    if private_key_credentials(client):
        return "private_key_jwt"
    method = client.get("token_endpoint_auth_method")
    if method:
        return method
    return "client_secret" if client.get("client_secret") is not None else "none"


def is_confidential(client: dict) -> bool:
    return client_auth_method(client) != "none"


def authenticate_client(tenant: Tenant, params: dict, headers, failure=UNAUTHORIZED_CLIENT_AUTH) -> dict:
    """Authenticates the client as its configured method requires (client_auth_method).
    A missing or wrong secret gets 401 access_denied "Unauthorized" on the token
    endpoint (github.com/auth0/react-native-auth0 issue 68, auth0/node-auth0 issue
    682); so do an unknown client_id, a method other than the client's, a Basic header
    and a body naming different clients, and a secret sent both ways (RFC 6749 2.3: "MUST
    NOT use more than one authentication method in each request"): UNVERIFIED.  A
    client_assertion is private_key_jwt (verify_client_assertion): its failures are 401
    invalid_client.  A public client (method none) is identified by client_id alone and
    a secret it sends is ignored."""
    presented = presented_auth_method(params, headers)
    if presented == "private_key_jwt":
        return verify_client_assertion(tenant, params)
    basic_id, basic_secret = basic_credentials(headers)
    if presented == "client_secret_basic" and basic_id is None:
        raise ApiError(*failure)
    if basic_id is not None and params.get("client_id") not in (None, "", basic_id):
        raise ApiError(*failure)
    client_id = params.get("client_id") or basic_id
    if not client_id:
        raise missing("client_id")  # UNVERIFIED wording for this parameter
    client = tenant.clients.get(client_id)
    if client is None:
        raise ApiError(*failure)
    method = client_auth_method(client)
    if method == "none":
        return client
    allowed = {"client_secret_post", "client_secret_basic"} if method == "client_secret" else {method}
    if presented not in allowed:
        raise ApiError(*failure)
    if presented == "client_secret_basic":
        if params.get("client_secret") is not None:
            raise ApiError(*failure)
        secret = basic_secret
    else:
        secret = params.get("client_secret")
    if not same_secret(secret, client.get("client_secret")):
        raise ApiError(*failure)
    return client


JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Private Key JWT (docs-v2 get-started/authentication-and-authorization-flow/
# authenticate-with-private-key-jwt and get-started/applications/configure-private-key-jwt):
# RSA keys of 2048 to 4096 bits (secure/application-credentials/generate-rsa-key-pair),
# signing algorithms RS256, RS384 and PS256, lifetime at most 5 minutes, 10 s of clock
# skew on iat and nbf, jti single-use, assertion at most 2048 bytes, iss, sub and jti at
# most 64 characters, alg at most 16.
ASSERTION_ALGS = {
    "RS256": lambda: (padding.PKCS1v15(), hashes.SHA256()),
    "RS384": lambda: (padding.PKCS1v15(), hashes.SHA384()),
    "PS256": lambda: (padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256()),
}
ASSERTION_MAX_BYTES = 2048
ASSERTION_MAX_LIFETIME = 300
ASSERTION_SKEW = 10


def make_credential(pem, alg="RS256", kid=None, expires_at=None) -> dict:
    """A public-key credential as Auth0 takes one (docs-v2 get-started/applications/
    configure-private-key-jwt, secure/application-credentials/generate-rsa-key-pair): a
    PEM public key or X.509 certificate of an RSA key of 2048 to 4096 bits, alg RS256,
    RS384 or PS256, optional kid (default: base64url SHA-256 of the key's DER) and
    expires_at (ISO).  ValueError says what is wrong."""
    if alg not in ASSERTION_ALGS:
        raise ValueError(f"alg must be one of {sorted(ASSERTION_ALGS)}")
    try:
        data = pem.encode()
        key = (x509.load_pem_x509_certificate(data).public_key() if b"CERTIFICATE" in data
               else serialization.load_pem_public_key(data))
    except (ValueError, TypeError, AttributeError):
        raise ValueError("pem must be a PEM public key or certificate")
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("Auth0 takes RSA keys only (RS256, RS384, PS256)")
    if not 2048 <= key.key_size <= 4096:
        raise ValueError("the RSA key must have 2048 to 4096 bits")
    expires = parse_iso_ms(expires_at) / 1000 if expires_at else None
    kid = kid or b64url(hashlib.sha256(key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).digest())
    return {"kid": kid, "alg": alg, "_key": key, "_expires": expires}


def load_credentials(entries: list, base_dir: str) -> list:
    """The data file's credentials: {"pem" or "pem_file" (relative to the data file),
    "alg"?, "kid"?, "expires_at"?}."""
    loaded = []
    for entry in entries:
        pem = entry.get("pem")
        if pem is None:
            with open(os.path.join(base_dir, entry["pem_file"]), encoding="ascii") as f:
                pem = f.read()
        loaded.append(make_credential(pem, entry.get("alg", "RS256"), entry.get("kid"), entry.get("expires_at")))
    return loaded


def private_key_credentials(client: dict) -> list:
    methods = client.get("client_authentication_methods") or {}
    return (methods.get("private_key_jwt") or {}).get("credentials") or []


def assertion_error(why: str) -> ApiError:
    """Every assertion failure is 401 invalid_client with a short reason.  UNVERIFIED:
    no public source shows Auth0's answer to a bad client assertion; a client should
    treat any 401 from the token endpoint as its credentials being refused."""
    return ApiError(401, "invalid_client", why)


def verify_client_assertion(tenant: Tenant, params: dict) -> dict:
    if params.get("client_assertion_type") != JWT_BEARER:
        raise ApiError(400, "invalid_request", "client_assertion_type must be " + JWT_BEARER)  # UNVERIFIED
    assertion = params.get("client_assertion") or ""
    tenant.stats["client_assertions"] += 1
    if len(assertion.encode()) > ASSERTION_MAX_BYTES:
        raise assertion_error("client_assertion is too long")
    try:
        header_b64, payload_b64, signature_b64 = assertion.split(".")
        header = json.loads(b64url_decode(header_b64))
        claims = json.loads(b64url_decode(payload_b64))
        signature = b64url_decode(signature_b64)
    except (ValueError, UnicodeDecodeError):
        raise assertion_error("client_assertion is not a JWT")
    if not (isinstance(header, dict) and isinstance(claims, dict)):
        raise assertion_error("client_assertion is not a JWT")
    alg, iss = header.get("alg"), claims.get("iss")
    if not isinstance(alg, str) or alg not in ASSERTION_ALGS:
        raise assertion_error(f"client_assertion alg must be one of {', '.join(ASSERTION_ALGS)}")
    if not isinstance(iss, str) or len(iss) > 64 or claims.get("sub") != iss:
        raise assertion_error("client_assertion iss and sub must be the client_id")
    if params.get("client_id") not in (None, "", iss):
        raise assertion_error("client_id does not match the client_assertion")
    client = tenant.clients.get(iss)
    credentials = private_key_credentials(client) if client else []
    now = time.time()
    usable = [c for c in credentials if c["alg"] == alg and header.get("kid") in (None, c["kid"])
              and (c.get("_expires") is None or c["_expires"] > now)]
    signed = f"{header_b64}.{payload_b64}".encode()
    if not any(_assertion_signed_by(c["_key"], alg, signed, signature) for c in usable):
        raise assertion_error("client_assertion signature does not verify with the client's credentials")
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if not ({tenant.issuer, f"{tenant.issuer}oauth/token"} & set(a for a in audiences if isinstance(a, str))):
        raise assertion_error(f"client_assertion aud must be {tenant.issuer}")
    exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf")
    if not isinstance(exp, (int, float)) or isinstance(exp, bool) or exp <= now:
        raise assertion_error("client_assertion is expired or has no exp")
    for name, value in (("iat", iat), ("nbf", nbf)):
        if value is not None and (not isinstance(value, (int, float)) or value > now + ASSERTION_SKEW):
            raise assertion_error(f"client_assertion {name} is in the future")
    if exp - (iat if isinstance(iat, (int, float)) else now) > ASSERTION_MAX_LIFETIME:
        raise assertion_error("client_assertion lifetime exceeds 5 minutes")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 64:
        raise assertion_error("client_assertion has no jti")
    for key in [k for k, until in tenant.used_jtis.items() if until < now - ASSERTION_SKEW]:
        del tenant.used_jtis[key]
    if (iss, jti) in tenant.used_jtis:
        raise assertion_error("client_assertion jti has already been used")
    tenant.used_jtis[(iss, jti)] = exp
    return client


def _assertion_signed_by(public_key, alg: str, signed: bytes, signature: bytes) -> bool:
    pad, digest = ASSERTION_ALGS[alg]()
    try:
        public_key.verify(signature, signed, pad, digest)
        return True
    except (InvalidSignature, ValueError):
        return False

# ----------------------------------------------------------------------------- DPoP
#
# DPoP (RFC 9449) as Auth0 does it.  Sources: dpop-docs (the proof's header and claims,
# "Auth0 supports the use of Elliptic Curve, such as in ES256 keys", alg "such as RS256 or
# ES256", the nonce for public clients with its use_dpop_nonce answer and description,
# token_type DPoP and cnf, refresh "using the same key pair used in the original token
# request", no jti check at /userinfo, the grants that take a proof, the issuance table of
# configure-sender-constraining.mdx); the Authentication API's OpenAPI description
# (docs-v2 oas/authentication: DPoP-Nonce on 200 and 400 answers of /oauth/token); rfc9449
# (the checks of 4.3, invalid_dpop_proof, use_dpop_nonce, 7.1's challenges, 7.2's refusal
# of a bound token sent as Bearer); jwt-bearer (Auth0's resource-server checks and texts).

DPOP_TYP = "dpop+jwt"
DPOP_ALGS = ("ES256", "RS256")  # ES256 and the docs' other example; others are refused (UNVERIFIED)
DPOP_MAX_BYTES = 8192           # the fake's bound on a proof; Auth0's is UNVERIFIED
DPOP_JTI_MAX = 256              # the fake's bound on a jti (UNVERIFIED)
# The iat window: jwt-bearer's defaults (iatOffset 300 s in the past, iatLeeway 30 s in the
# future).  That the token endpoint uses the same window is UNVERIFIED.
DPOP_IAT_PAST = 300
DPOP_IAT_FUTURE = 30
DPOP_RSA_MIN_BITS = 2048        # as for client assertions (UNVERIFIED for DPoP)
# Members of a private JWK (RFC 7518 6.2.2, 6.3.2, 6.4): "MUST NOT contain a private key".
DPOP_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
DPOP_NONCE_MISSING = "Authorization server requires nonce in DPoP proof"  # dpop-docs, verbatim
B64URL_TEXT = re.compile(r"^[A-Za-z0-9_-]*$")
PERCENT_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
URL_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
POP_MECHANISMS = ("none", "dpop")  # Auth0's also has mtls, which the fake does not do
POP_REQUIRED_FOR = ("all_clients", "public_clients")


class DpopError(Exception):
    """A refused proof: `reason` is the short code counted in the stats, `error` the
    OAuth error code (invalid_dpop_proof, or use_dpop_nonce for a nonce)."""

    def __init__(self, reason: str, description: str, error: str = "invalid_dpop_proof"):
        super().__init__(description)
        self.reason = reason
        self.description = description
        self.error = error


@dataclass
class DpopProof:
    """A proof that passed every check: its key's thumbprint and its claims."""
    jkt: str
    claims: dict


def new_dpop_nonce() -> str:
    return secrets.token_urlsafe(24)  # NQCHAR only (rfc9449 8.1), unpredictable


def check_proof_of_possession(value):
    """A resource server's proof_of_possession as the Management API names it
    (configure-sender-constraining.mdx): null, or {"mechanism": "none" | "dpop",
    "required": bool, "required_for": "all_clients" (default) | "public_clients"}.
    ValueError says what is wrong."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError("proof_of_possession must be an object or null")
    unknown = set(value) - {"mechanism", "required", "required_for"}
    if unknown:
        raise ValueError(f"proof_of_possession: unknown members {sorted(unknown)}")
    mechanism = value.get("mechanism")
    if mechanism not in POP_MECHANISMS:
        raise ValueError('proof_of_possession.mechanism must be "none" or "dpop" (the fake has no mTLS)')
    required = value.get("required")
    if not isinstance(required, bool):
        raise ValueError("proof_of_possession.required must be true or false")
    required_for = value.get("required_for", "all_clients")
    if required_for not in POP_REQUIRED_FOR:
        raise ValueError(f"proof_of_possession.required_for must be one of {list(POP_REQUIRED_FOR)}")
    if required and mechanism != "dpop":
        raise ValueError("proof_of_possession.required needs a sender-constraining mechanism")
    return {"mechanism": mechanism, "required": required, "required_for": required_for}


def b64url_strict(text) -> bytes:
    """base64url without padding (RFC 7515 2), or ValueError."""
    if not isinstance(text, str) or not B64URL_TEXT.match(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    return b64url_decode(text)


def jwk_thumbprint(jwk: dict) -> str:
    """RFC 7638: base64url SHA-256 of the key's required members, in lexical order, as
    JSON without whitespace (EC: crv, kty, x, y; RSA: e, kty, n)."""
    members = ("crv", "kty", "x", "y") if jwk.get("kty") == "EC" else ("e", "kty", "n")
    canonical = json.dumps({k: jwk[k] for k in members}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def dpop_public_key(alg: str, jwk):
    """The public key of a proof's jwk, which must suit its alg and hold no private part."""
    if not isinstance(jwk, dict):
        raise DpopError("jwk", "DPoP proof has no jwk header parameter")
    if any(member in jwk for member in DPOP_PRIVATE_MEMBERS):
        raise DpopError("jwk_private", "DPoP proof jwk must not contain a private key")
    try:
        if alg == "ES256":
            if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
                raise DpopError("jwk", "DPoP proof jwk must be an EC P-256 key for ES256")
            x, y = b64url_strict(jwk.get("x")), b64url_strict(jwk.get("y"))
            if len(x) != 32 or len(y) != 32:  # "the full size of a coordinate" (RFC 7518 6.2.1.2)
                raise DpopError("jwk", "DPoP proof jwk x and y must be 32 bytes each")
            # ValueError when the point is not on the curve.
            return ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"),
                                                 ec.SECP256R1()).public_key()
        if jwk.get("kty") != "RSA":
            raise DpopError("jwk", "DPoP proof jwk must be an RSA key for RS256")
        n, e = b64url_strict(jwk.get("n")), b64url_strict(jwk.get("e"))
        key = rsa.RSAPublicNumbers(int.from_bytes(e, "big"), int.from_bytes(n, "big")).public_key()
    except ValueError:
        raise DpopError("jwk", "DPoP proof jwk is not a valid public key")
    if key.key_size < DPOP_RSA_MIN_BITS:
        raise DpopError("jwk", f"DPoP proof RSA key must have at least {DPOP_RSA_MIN_BITS} bits")
    return key


def dpop_signature_verifies(alg: str, key, signed: bytes, signature: bytes) -> bool:
    """ES256 signatures are the raw r || s, 32 bytes each (RFC 7518 3.4), not DER."""
    if alg == "RS256":
        return _assertion_signed_by(key, "RS256", signed, signature)
    if len(signature) != 64:
        return False
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        key.verify(der, signed, ec.ECDSA(hashes.SHA256()))
        return True
    except InvalidSignature:
        return False


def normalized_url(url: str) -> str:
    """An https URL after syntax- and scheme-based normalisation (RFC 3986 6.2.2, 6.2.3:
    lower-case scheme and host, no default port, percent-escapes of unreserved characters
    decoded and the others upper-cased, empty path "/"), as rfc9449 4.3 recommends before
    comparing htu.  ValueError for anything but https with a host, and for userinfo, a
    query or a fragment: an htu is "without query and fragment parts" (rfc9449 4.2);
    refusing one that has them (rather than ignoring them) is the fake's strictness."""
    if not isinstance(url, str) or "?" in url or "#" in url:
        raise ValueError("not an htu")
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.hostname or "@" in parts.netloc:
        raise ValueError("not an https URL")
    port = parts.port  # ValueError when not a number
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname  # hostname is lower-cased
    netloc = host if port in (None, 443) else f"{host}:{port}"

    def escape(match):
        char = chr(int(match.group(1), 16))
        return char if char in URL_UNRESERVED else "%" + match.group(1).upper()
    return f"https://{netloc}{PERCENT_ESCAPE.sub(escape, parts.path) or '/'}"


def request_url(tenant: "Tenant", req: "AppRequest") -> str:
    """The request's target URI without query (what its htu must match): https, the Host
    header (the issuer's host without one), the path."""
    host = (req.headers.get("Host") or "").strip() or urlsplit(tenant.issuer).netloc
    try:
        return normalized_url(f"https://{host}{req.path}")
    except ValueError:
        return normalized_url(f"{tenant.issuer.rstrip('/')}{req.path}")


def dpop_header_value(req: "AppRequest"):
    """The request's one DPoP header, None without one; two or more are refused
    (rfc9449 4.3: "not more than one DPoP HTTP request header field")."""
    values = req.headers.get_all("DPoP") or []
    if len(values) > 1:
        raise DpopError("multiple", "Multiple DPoP headers")
    return values[0] if values else None


def verify_dpop_proof(tenant: "Tenant", req: "AppRequest", text: str, jti_store, nonce=None,
                      access_token=None) -> DpopProof:
    """The checks of rfc9449 4.3 for a proof sent with `req`: a compact JWS; typ
    dpop+jwt; an accepted alg; a public jwk that suits it; the signature; jti, htm, htu
    and iat present; htm the request's method (exactly: methods are case-sensitive); htu
    the request's URI; iat in the window; with `access_token`, ath its hash (rfc9449 7);
    with `nonce` (required), that nonce; then jti single-use in `jti_store` (None: not
    checked, as at Auth0's /userinfo).  Texts partly jwt-bearer's, the others UNVERIFIED."""
    if len(text) > DPOP_MAX_BYTES:
        raise DpopError("malformed", "DPoP proof is too long")
    parts = text.split(".")
    try:
        if len(parts) != 3 or not all(parts):
            raise ValueError("not three parts")
        header = json.loads(b64url_strict(parts[0]))
        claims = json.loads(b64url_strict(parts[1]))
        signature = b64url_strict(parts[2])
    except (ValueError, UnicodeDecodeError):
        raise DpopError("malformed", "DPoP proof is not a well-formed JWT")
    if not (isinstance(header, dict) and isinstance(claims, dict)):
        raise DpopError("malformed", "DPoP proof is not a well-formed JWT")
    if header.get("typ") != DPOP_TYP:
        raise DpopError("typ", f'DPoP proof typ must be "{DPOP_TYP}"')
    alg = header.get("alg")
    if alg not in DPOP_ALGS:
        raise DpopError("alg", f"DPoP proof alg must be one of {', '.join(DPOP_ALGS)}")
    key = dpop_public_key(alg, header.get("jwk"))
    if not dpop_signature_verifies(alg, key, f"{parts[0]}.{parts[1]}".encode("ascii"), signature):
        raise DpopError("signature", "DPoP proof signature does not verify with its jwk")
    for name in ("jti", "htm", "htu", "iat"):
        if name not in claims:
            raise DpopError("missing_claim", f'Missing "{name}" claim in DPoP proof')
    jti, htm, htu, iat = claims["jti"], claims["htm"], claims["htu"], claims["iat"]
    if not isinstance(jti, str) or not 1 <= len(jti) <= DPOP_JTI_MAX:
        raise DpopError("jti", f"DPoP proof jti must be a string of 1 to {DPOP_JTI_MAX} characters")
    if htm != req.method:
        raise DpopError("htm", "DPoP Proof htm mismatch")
    try:
        htu_ok = normalized_url(htu) == request_url(tenant, req)
    except ValueError:
        htu_ok = False
    if not htu_ok:
        raise DpopError("htu", "DPoP Proof htu mismatch")
    if isinstance(iat, bool) or not isinstance(iat, (int, float)):
        raise DpopError("iat", '"iat" claim must be a number')
    now = time.time()
    if not now - DPOP_IAT_PAST <= iat <= now + DPOP_IAT_FUTURE:
        raise DpopError("iat", 'DPoP proof "iat" is outside the acceptable range')
    if access_token is not None:
        if "ath" not in claims:
            raise DpopError("ath", 'Missing "ath" claim in DPoP proof')
        if claims["ath"] != b64url(hashlib.sha256(access_token.encode("ascii", "replace")).digest()):
            raise DpopError("ath", 'DPoP Proof "ath" mismatch')
    if nonce is not None:
        if "nonce" not in claims:
            raise DpopError("nonce_missing", DPOP_NONCE_MISSING, "use_dpop_nonce")
        if claims["nonce"] != nonce:
            # rfc9449 8: "This same error code is used when supplying a new nonce value when
            # there was a nonce mismatch"; the description is UNVERIFIED.
            raise DpopError("nonce_stale", "DPoP proof nonce is invalid or expired", "use_dpop_nonce")
    jkt = jwk_thumbprint(header["jwk"])
    if jti_store is not None:
        for seen in [k for k, until in jti_store.items() if until < now]:
            del jti_store[seen]
        if (jkt, jti) in jti_store:
            raise DpopError("jti_replay", "DPoP proof jti has already been used")
        jti_store[(jkt, jti)] = iat + DPOP_IAT_PAST + 1  # until the proof is too old anyway
    return DpopProof(jkt, claims)


def dpop_summary(text: str, result: str, proof: DpopProof = None) -> dict:
    """What the log shows of a proof: its claims (no secret among them) and the result."""
    claims = proof.claims if proof else {}
    if proof is None:
        try:
            peeked = json.loads(b64url_strict(text.split(".")[1]))
            claims = peeked if isinstance(peeked, dict) else {}
        except (ValueError, IndexError, UnicodeDecodeError):
            pass
    return {"result": result, "jkt": proof.jkt if proof else None,
            **{k: claims.get(k) for k in ("htm", "htu", "iat", "jti")},
            "nonce": "nonce" in claims, "ath": "ath" in claims}


def _bump(counts: dict, key: str) -> None:
    counts[key] = counts.get(key, 0) + 1


def dpop_nonce_applies(tenant: "Tenant", client: dict) -> bool:
    mode = tenant.settings["dpop_nonce"]
    return mode == "all_clients" or (mode == "public_clients" and not is_confidential(client))


def dpop_token_request(tenant: "Tenant", req: "AppRequest", client: dict, grant: str, params: dict,
                       record: dict) -> None:
    """The token endpoint's part of DPoP, before the grant runs (so that a refused proof
    or a token Auth0 would not issue costs nothing: no code spent, no token rotated): the
    proof checked (nonce when it applies to the client), then the issuance table applied
    to the audience the grant will issue for.  Leaves record["_dpop"] for the grant:
    the proof and the key the access token is to be bound to."""
    stats = tenant.stats["dpop"]
    text = proof = None
    try:
        text = dpop_header_value(req)
        if text is not None:
            nonce = tenant.dpop_nonce if dpop_nonce_applies(tenant, client) else None
            proof = verify_dpop_proof(tenant, req, text, tenant.dpop_jtis, nonce=nonce)
    except DpopError as err:
        _bump(stats["proofs"]["refused"], err.reason)
        if err.error == "use_dpop_nonce":
            stats["nonce_challenges"] += 1
        record["dpop"] = dpop_summary(text or "", err.reason)
        raise ApiError(400, err.error, err.description)
    if proof is not None:
        stats["proofs"]["accepted"] += 1
        record["dpop"] = dpop_summary(text, "accepted", proof)
    known, audience = planned_audience(tenant, grant, params)
    access_jkt = dpop_access_binding(tenant, client, audience, proof) if known else None
    record["_dpop"] = {"proof": proof, "access_jkt": access_jkt}


def planned_audience(tenant: "Tenant", grant: str, params: dict):
    """(known, audience) of the access token a grant is about to issue, found as the grant
    will find it; not known when the grant will refuse anyway, or issues no Auth0 token
    (Token Vault answers with the provider's)."""
    if grant == GRANT_CLIENT_CREDENTIALS:
        return bool(params.get("audience")), params.get("audience")
    if grant in (GRANT_PASSWORD, GRANT_REALM):
        return True, params.get("audience")
    if grant in (GRANT_OTP, GRANT_OOB, GRANT_RECOVERY):
        tx = tenant.mfa_tokens.get(params.get("mfa_token"))
        return tx is not None, tx.audience if tx else None
    if grant == "urn:ietf:params:oauth:grant-type:device_code":
        tx = tenant.device["codes"].get(params.get("device_code") or "")
        return tx is not None and tx.state == "approved", tx.audience if tx else None
    if grant == GRANT_REFRESH:
        family, entry = tenant.refresh.find(params.get("refresh_token") or "")
        return entry is not None, (params.get("audience") or family.audience) if entry else None
    return False, None


def resource_policy(tenant: "Tenant", client: dict, audience: str):
    """The API's sender-constraining policy for this client: "none" (no mechanism),
    "allowed" (DPoP, not required, or required for public clients only and this one is
    confidential), "required"; None for an unknown audience."""
    server = tenant.resource_servers.get(audience)
    if server is None:
        return None
    pop = server.get("proof_of_possession") or {}
    if pop.get("mechanism") != "dpop":
        return "none"
    if pop.get("required") and (pop.get("required_for") != "public_clients" or not is_confidential(client)):
        return "required"
    return "allowed"


# The answers for a token Auth0 does not issue.  That it refuses is documented (the
# table's "Not Issued"); the status, codes and texts are UNVERIFIED.
NOT_ISSUED = {
    "client_requires_proof": (400, "invalid_request", "A DPoP proof is required by the application"),
    "api_requires_proof": (400, "invalid_request", "A DPoP proof is required for the audience: {audience}"),
    "api_without_sender_constraining": (400, "invalid_request",
                                        "Sender constraining is not enabled for the audience: {audience}"),
}


def dpop_access_binding(tenant: "Tenant", client: dict, audience, proof):
    """The key an access token for `audience` is bound to (None: a Bearer token), by
    Auth0's table (configure-sender-constraining.mdx, "How it works"): for /userinfo
    alone, bound whenever a proof came, refused when the application requires one
    (require_proof_of_possession) and none came; for an API, by its policy: none ->
    never bound ("Issued, Not Sender-Constrained" even with a proof; refused when the
    application requires a proof), allowed -> bound with a proof, required -> bound, and
    refused without a proof.  A session transfer token is opaque: never bound."""
    if audience == tenant.session_transfer_audience:
        return None
    requires = bool(client.get("require_proof_of_possession"))
    reason = None
    if not audience or audience == tenant.userinfo_url:
        if proof is None and requires:
            reason = "client_requires_proof"
    else:
        policy = resource_policy(tenant, client, audience)
        if policy is None:
            return None  # not an API of this tenant: the grant refuses it
        if proof is None and requires:
            reason = "client_requires_proof"
        elif proof is None and policy == "required":
            reason = "api_requires_proof"
        elif proof is not None and policy == "none":
            if requires:
                reason = "api_without_sender_constraining"
            else:
                return None
    if reason:
        _bump(tenant.stats["dpop"]["not_issued"], reason)
        status, error, text = NOT_ISSUED[reason]
        raise ApiError(status, error, text.format(audience=audience))
    return proof.jkt if proof else None


def dpop_proof_jkt(record: dict):
    proof = (record.get("_dpop") or {}).get("proof")
    return proof.jkt if proof else None


def dpop_access_jkt(record: dict):
    return (record.get("_dpop") or {}).get("access_jkt")


def dpop_family_jkt(tenant: "Tenant", record: dict):
    """The key a new refresh-token family is bound to: the login's proof's, whether or
    not the access token is bound (rfc9449 5: issuing a Bearer access token "has the
    effect of DPoP-binding the refresh token alone").  rfc9449 5 binds only public
    clients' refresh tokens; Auth0's docs say without exception that a refresh "requires
    a DPoP Proof JWT generated using the same key pair used in the original token
    request", so every client's are bound here (UNVERIFIED for confidential clients)."""
    jkt = dpop_proof_jkt(record)
    if jkt:
        tenant.stats["dpop"]["bound_refresh_families"] += 1
    return jkt


def dpop_token_type(tenant: "Tenant", jkt) -> str:
    """DPoP for a bound access token (rfc9449 5: "A token_type of DPoP MUST be included"),
    else Bearer; counts the bound ones."""
    if jkt:
        tenant.stats["dpop"]["bound_access_tokens"] += 1
        return "DPoP"
    return "Bearer"


def check_refresh_binding(tenant: "Tenant", family: Family, record: dict) -> None:
    """A DPoP-bound refresh token needs a proof by the same key (rfc9449 5; dpop-docs
    step 6).  A family issued without a proof stays unbound when later refreshed with one
    (UNVERIFIED); that refresh's access token is bound as the table says.  The answers'
    code and texts are UNVERIFIED (other servers answer invalid_dpop_proof too)."""
    if family.jkt is None:
        return
    jkt = dpop_proof_jkt(record)
    if jkt == family.jkt:
        return
    reason = "refresh_proof_missing" if jkt is None else "refresh_key_mismatch"
    _bump(tenant.stats["dpop"]["binding_refused"], reason)
    if jkt is None:
        raise ApiError(400, "invalid_dpop_proof", "A DPoP proof is required for a DPoP-bound refresh token")
    raise ApiError(400, "invalid_dpop_proof", "The DPoP proof key does not match the refresh token's binding")

# ------------------------------------------------------------------ request parsing


@dataclass
class AppRequest:
    method: str
    path: str
    headers: object
    body: bytes
    peer: str = "127.0.0.1"  # the TCP peer's address
    query: str = ""          # the raw query string

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
    # With a DPoP proof from a client that must send the nonce, every answer carries the
    # current one: the OpenAPI description's DPoP-Nonce on 200 and 400 answers, rfc9449 8.2
    # ("including a DPoP-Nonce HTTP header in the HTTP 200 (OK) response").  Its presence on
    # the other error answers is UNVERIFIED.
    nonce_headers = []
    if req.headers.get("DPoP") is not None and dpop_nonce_applies(tenant, client):
        nonce_headers = [("DPoP-Nonce", tenant.dpop_nonce)]
    try:
        dpop_token_request(tenant, req, client, grant, params, record)
        body = GRANT_HANDLERS[grant](tenant, client, params, record)
    except ApiError as err:
        err.headers = list(err.headers) + nonce_headers
        raise
    record["token_type"] = body.get("token_type")
    return json_response(200, body, nonce_headers)


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
    record_login(tenant, user, record["ip"])
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


def record_login(tenant: Tenant, user: dict, ip: str) -> None:
    """A password that checks out is a login: last_login, last_ip and logins_count
    change, counted even when MFA is not completed or the user is blocked (Auth0
    Community "How logins_count work", 2024), and "Changes to last_login are considered
    updates, so most of the time, updated_at will match last_login" (docs-v2
    manage-users/user-accounts/user-profiles/user-profile-structure)."""
    stamp = max(now_ms(), user["_updated_at_ms"])
    tenant.change_user(user, {"last_login": iso_ms(stamp), "last_ip": ip,
                              "logins_count": user.get("logins_count", 0) + 1}, bump=False)
    user["updated_at"], user["_updated_at_ms"] = iso_ms(stamp), stamp


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

# ----------------------------------------------------------------------- passwordless
#
# Passwordless connections (strategy email and sms), POST /passwordless/start and the
# Passwordless OTP grant.  Sources:
#   start   docs api/authentication/passwordless/get-code-or-link (body: client_id,
#           client_secret or client_assertion, connection email|sms, email or
#           phone_number, send link|code with link the default, authParams) and the
#           error table "Error Codes for /passwordless/start" of docs
#           articles/api/authentication/reference/_errors.md (bad.client_id,
#           bad.connection "Missing required property: connection" / "Connection does not
#           exist" / "Connection is disabled" / "Invalid connection strategy. It must
#           either be a passwordless connection", bad.authParams, bad.request,
#           bad.phone_number "Missing required property: phone_number" / "String does not
#           match pattern: ^\+[0-9]{1,15}$").  The bad.email texts are UNVERIFIED (made by
#           analogy).  Rate limit: 50 requests an hour per IP (notes), 429 as the fake's
#           other rate limits.
#   grant   docs api/authentication/passwordless/authenticate-user: grant_type
#           http://auth0.com/oauth/grant-type/passwordless/otp, username (the email or
#           phone number), otp, realm email|sms, scope, audience.
#   codes   docs articles/connections/_otp-limitations.md: only the last code issued is
#           accepted, a code is used once, "Only three failed attempts to input the
#           one-time password are allowed. After this, a new code will need to be
#           requested", valid three minutes by default (OTP Expiry, OTP Length in the
#           connection's settings).
#   errors  invalid_grant "Wrong email or verification code." / "Wrong phone number or
#           verification code." (swift AuthenticationError.isInvalidCredentials, android
#           AuthenticationException), "The verification code has expired. Please try to
#           login again." and "You've reached the maximum number of attempts. Please try to
#           login again." (as applications match them, e.g. the public Elixir client quoted
#           in the README, with HTTP 403).
# A passwordless identity here is linked to a user of the tenant (Auth0's account
# linking: a login through a linked identity signs in the primary user, whose user_id is
# the sub): a user's "passwordless" list names the connections (email: the user's email,
# sms: its phone_number) it can sign in through.  A code for an address no user has is
# sent all the same (Auth0 does not tell whether an address is known); its grant is
# refused (signing up a new passwordless user is not modelled: UNVERIFIED answer).

GRANT_PASSWORDLESS = "http://auth0.com/oauth/grant-type/passwordless/otp"
PASSWORDLESS_STRATEGIES = ("email", "sms")
PASSWORDLESS_DEFAULTS = {"enabled_clients": [], "otp_expiry": 180, "otp_length": 6, "max_attempts": 3,
                         "rate_limit_per_hour": 50}
PHONE_PATTERN = re.compile(r"^\+[0-9]{1,15}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
WRONG_PASSWORDLESS = {"email": "Wrong email or verification code.",
                      "sms": "Wrong phone number or verification code."}
PASSWORDLESS_EXPIRED = "The verification code has expired. Please try to login again."
PASSWORDLESS_MAX_ATTEMPTS = "You've reached the maximum number of attempts. Please try to login again."


@dataclass
class PasswordlessCode:
    """The one live code of an address at a connection."""
    code: str
    client_id: str
    expires_at: float
    failures: int = 0


def passwordless_reset(tenant: "Tenant", data: dict) -> None:
    """The data file's passwordless_connections ({"name", "strategy", "enabled_clients",
    "otp_expiry", "otp_length"}), the live codes and the outbox of sent messages."""
    tenant.passwordless = {}
    for entry in data.get("passwordless_connections", []):
        conn = {**json.loads(json.dumps(PASSWORDLESS_DEFAULTS)), **entry}
        conn.setdefault("strategy", conn["name"])
        if conn["strategy"] not in PASSWORDLESS_STRATEGIES:
            raise ValueError(f"passwordless connection {conn['name']}: strategy must be email or sms")
        tenant.passwordless[conn["name"]] = conn
    tenant.passwordless_codes = {}  # (connection, lower-cased address) -> PasswordlessCode
    tenant.passwordless_sent = {}   # ip -> [times of /passwordless/start requests]
    tenant.passwordless_outbox = []  # messages "sent": {"connection", "to", "send", "code", ...}


def passwordless_user(tenant: "Tenant", connection: dict, address: str):
    field_name = "email" if connection["strategy"] == "email" else "phone_number"
    for user in tenant.users.values():
        value = user.get(field_name)
        if (connection["name"] in user.get("passwordless", []) and isinstance(value, str)
                and value.lower() == address.lower()):
            return user
    return None


def passwordless_rate_limited(tenant: "Tenant", connection: dict, ip: str) -> bool:
    now = time.time()
    sent = [t for t in tenant.passwordless_sent.get(ip, []) if t > now - 3600]
    limited = len(sent) >= connection["rate_limit_per_hour"]
    if not limited:
        sent.append(now)
    tenant.passwordless_sent[ip] = sent
    return limited


def passwordless_start(tenant: "Tenant", req: "AppRequest", record: dict) -> Response:
    fields = req.fields()
    params = {k: v for k, v in fields.items() if isinstance(v, str)}
    if not params.get("client_id") and basic_credentials(req.headers)[0] is None:
        raise ApiError(400, "bad.client_id", "Missing required property: client_id")
    client = authenticate_client(tenant, params, req.headers)
    record.update(client_id=client["client_id"], ip=effective_ip(client, req))
    name = params.get("connection")
    record["connection"] = name
    if not name:
        raise ApiError(400, "bad.connection", "Missing required property: connection")
    if name in tenant.connections:
        raise ApiError(400, "bad.connection", "Invalid connection strategy. It must either be a passwordless connection")
    conn = tenant.passwordless.get(name)
    if conn is None:
        raise ApiError(400, "bad.connection", "Connection does not exist")
    if client["client_id"] not in conn["enabled_clients"]:
        raise ApiError(400, "bad.connection", "Connection is disabled")
    if "authParams" in fields and not isinstance(fields["authParams"], dict):
        raise ApiError(400, "bad.authParams",
                       f"error in authParams - invalid type: {_json_type(fields['authParams'])} (expected object)")
    send = fields.get("send", "link")
    if send not in ("link", "code"):
        raise ApiError(400, "bad.request", "the following properties are not allowed: send")  # UNVERIFIED
    if conn["strategy"] == "email":
        address = fields.get("email")
        if not isinstance(address, str) or not address:
            raise ApiError(400, "bad.email", "Missing required property: email")  # UNVERIFIED
        if not EMAIL_PATTERN.match(address):
            raise ApiError(400, "bad.email", f"error in email - email format validation failed: {address}")  # UNVERIFIED
    else:
        address = fields.get("phone_number")
        if not isinstance(address, str) or not address:
            raise ApiError(400, "bad.phone_number", "Missing required property: phone_number")
        if not PHONE_PATTERN.match(address):
            raise ApiError(400, "bad.phone_number", "String does not match pattern: ^\\+[0-9]{1,15}$")
    record["username"] = address
    if passwordless_rate_limited(tenant, conn, record["ip"]):
        reset = int(time.time()) + 3600
        raise RateLimitedError(429, "too_many_requests", "Global limit has been reached",
                               limit=conn["rate_limit_per_hour"], reset=reset)
    code = "".join(secrets.choice("0123456789") for _ in range(conn["otp_length"]))
    # Only the last code issued is accepted: a new one replaces it, failures start again.
    tenant.passwordless_codes[(name, address.lower())] = PasswordlessCode(
        code, client["client_id"], time.time() + conn["otp_expiry"])
    tenant.passwordless_outbox.append({"seq": len(tenant.passwordless_outbox) + 1, "connection": name,
                                       "to": address, "send": send,
                                       "code": code if send == "code" else None,
                                       "client_id": client["client_id"],
                                       "authParams": fields.get("authParams") or {}})
    message_id = secrets.token_hex(12)
    if conn["strategy"] == "email":
        body = {"_id": message_id, "email": address, "email_verified": False}
    else:
        body = {"_id": message_id, "phone_number": address, "phone_verified": False, "request_language": None}
    return json_response(200, body)


class RateLimitedError(ApiError):
    """A 429 with the X-RateLimit-* headers (limit, none remaining, reset in epoch seconds)."""

    def __init__(self, status: int, error: str, description: str, limit: int, reset: int):
        super().__init__(status, error, description)
        self.headers = [("X-RateLimit-Limit", str(limit)), ("X-RateLimit-Remaining", "0"),
                        ("X-RateLimit-Reset", str(reset))]


def passwordless_grant(tenant: "Tenant", client: dict, params: dict, record: dict) -> dict:
    username = require(params, "username")
    otp = require(params, "otp")
    realm = require(params, "realm")
    conn = tenant.passwordless.get(realm)
    if conn is None:
        raise ApiError(400, "invalid_request", f"Unknown realm {realm}.")  # as password-realm
    if client["client_id"] not in conn["enabled_clients"]:
        # docs articles/api/authentication/reference/_errors.md, all grant types.
        raise ApiError(400, "invalid_request", "the connection was disabled")
    audience = params.get("audience")
    check_audience(tenant, audience)
    key = (realm, username.lower())
    entry = tenant.passwordless_codes.get(key)
    wrong = ApiError(403, "invalid_grant", WRONG_PASSWORDLESS[conn["strategy"]])
    if entry is None:
        raise wrong
    if entry.failures >= conn["max_attempts"]:
        raise ApiError(403, "invalid_grant", PASSWORDLESS_MAX_ATTEMPTS)
    if time.time() > entry.expires_at:
        raise ApiError(403, "invalid_grant", PASSWORDLESS_EXPIRED)
    if not same_secret(otp, entry.code):
        entry.failures += 1
        raise wrong
    del tenant.passwordless_codes[key]  # used once
    user = passwordless_user(tenant, conn, username)
    if user is None:
        raise ApiError(403, "access_denied", "Signups are disabled for this connection")  # UNVERIFIED
    record.update(username=user_key(user), user_id=user["user_id"])
    record_login(tenant, user, record["ip"])
    check_not_blocked(user)
    scopes = granted_scopes(params.get("scope"), client)
    if needs_mfa(user):
        # MFA can follow a passwordless login (docs-v2 "Multi-factor authentication":
        # policies apply to every connection), with the same mfa_required answer.
        raise start_mfa(tenant, user, client, scopes, audience)
    return login_tokens(tenant, user, client, scopes, audience, record)


def control_passwordless(tenant: "Tenant", payload: dict):
    """Changes a passwordless connection's settings (enabled_clients, otp_expiry,
    otp_length, max_attempts, rate_limit_per_hour), or with "expire_codes": true makes
    every live code expired."""
    if payload.get("expire_codes"):
        for entry in tenant.passwordless_codes.values():
            entry.expires_at = 0
        return {"expired": len(tenant.passwordless_codes)}
    name = payload.get("connection")
    if name not in tenant.passwordless:
        raise ControlError(f"no passwordless connection {name!r}")
    unknown = set(payload) - {"connection"} - set(PASSWORDLESS_DEFAULTS)
    if unknown:
        raise ControlError(f"unknown settings {sorted(unknown)}")
    tenant.passwordless[name].update({k: v for k, v in payload.items() if k != "connection"})
    if "rate_limit_per_hour" in payload:
        tenant.passwordless_sent = {}
    return {k: v for k, v in tenant.passwordless[name].items()}


def control_passwordless_outbox(tenant: "Tenant", payload: dict):
    """The messages /passwordless/start sent (with their codes), oldest first."""
    return list(tenant.passwordless_outbox)


def control_clear_passwordless_outbox(tenant: "Tenant", payload: dict):
    count = len(tenant.passwordless_outbox)
    tenant.passwordless_outbox.clear()
    return {"cleared": count}


# --------------------------------------------------------------------------- refresh


def refresh_grant(tenant: Tenant, client: dict, params: dict, record: dict) -> dict:
    token = require(params, "refresh_token")
    record["rt_sha"] = short_hash(token)
    family, entry = tenant.refresh.find(token)
    if family is not None:
        record["rt_family"] = family.id
    if entry is None or family.client_id != client["client_id"]:
        raise ApiError(*INVALID_REFRESH_TOKEN)
    check_refresh_binding(tenant, family, record)
    user = tenant.users.get(family.username)
    if user is None:
        # A user deleted since (notes: invalid_grant "...user who doesn't exist
        # anymore.", 403); the start of the sentence is UNVERIFIED.
        raise ApiError(403, "invalid_grant", "The refresh_token was generated for a user who doesn't exist anymore.")
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
    return token_body(tenant, user, client, scopes, audience, record, new_token)


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
    user = tenant.users.get(tx.username)
    if user is None:  # deleted since the password step
        raise ApiError(403, "invalid_grant", "Malformed mfa_token")
    record.update(username=user_key(user), user_id=user["user_id"])
    return tx, user


def _active(user: dict, kind: str) -> list:
    return [a for a in user.get("mfa", []) if is_active(a) and a["authenticator_type"] == kind]


def mfa_otp_grant(tenant: Tenant, client: dict, params: dict, record: dict) -> dict:
    tx, user = _mfa_context(tenant, client, params, record)
    otp = require(params, "otp")
    candidates = _active(user, "otp") + enrolling(user, params["mfa_token"], "otp")
    match = next((a for a in candidates if totp_accepts(a["totp_secret"], otp, time.time())), None)
    if match is None:
        raise ApiError(403, "invalid_grant", "Invalid otp_code.")  # swift/android isMultifactorCodeInvalid
    confirm_enrolment(tenant, user, match)
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
    authenticator = next((a for a in _active(user, "oob") + enrolling(user, oob.mfa_token, "oob")
                          if a["id"] == oob.authenticator_id), None)
    if authenticator is None:
        raise ApiError(403, "expired_token", "oob_code is invalid")
    if authenticator["oob_channel"] == "auth0":
        poll_push(tenant, oob, authenticator)
    else:
        check_binding_code(params, authenticator)
    confirm_enrolment(tenant, user, authenticator)
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


# ------------------------------------------------------------- MFA enrolment (associate)
#
# POST /mfa/associate (docs-v2 api/authentication/multi-factor-authentication/
# add-an-authenticator): "If the user has no active authenticators, you can use the mfa_token
# from the mfa_required error in place of an Access Token"; with active ones an access token
# with the enroll scope for https://{domain}/mfa/ is needed, and the mfa_token gets "User is
# already enrolled" (docs secure/multi-factor-authentication/authenticate-using-ropg-flow-with-mfa/
# enroll-and-challenge-otp-authenticators; the error code and status are UNVERIFIED: the fake
# answers 403 access_denied).  The new authenticator is inactive until it is confirmed "in place
# of the values returned from the /mfa/challenge endpoint": the mfa-otp grant with a code of the
# secret, or the mfa-oob grant with the oob_code and the binding_code sent by SMS.
# "A recovery_codes field is included in the response the first time an authenticator is
# added."  Answer shapes: docs (otp: authenticator_type, secret, barcode_uri, recovery_codes;
# oob: authenticator_type, binding_method, oob_channel, oob_code, recovery_codes) and Auth0's
# SDKs (auth0.net AssociateMfaAuthenticatorResponse, auth0-spa-js OobEnrollmentResponse).

E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")  # "the phone number E.164 format" (enroll SMS docs)
ASSOCIATE_CHANNELS = ("sms", "voice")      # the fake enrols phones; push and email are not modelled
OTPAUTH_ISSUER = "fake-tenant"  # the tenant name the apps show (EXPORT_TENANT_NAME's)


def new_totp_secret() -> str:
    """A base32 TOTP secret (160 bits, as RFC 4226 recommends), registered for the secrets
    sweep as new_secret does."""
    value = base64.b32encode(secrets.token_bytes(20)).decode()
    path = os.environ.get("A0_FAKE_ISSUED")
    if path:
        with open(path, "a") as f:
            f.write(f"totp_secret {value}\n")
    return value


def enrolling(user: dict, mfa_token: str, kind: str) -> list:
    """The authenticators of kind that /mfa/associate made with this mfa_token, unconfirmed."""
    return [a for a in user.get("mfa", []) if a.get("_enrolling") == mfa_token and
            a["authenticator_type"] == kind and not is_active(a)]


def confirm_enrolment(tenant: Tenant, user: dict, authenticator: dict) -> None:
    """A first code of an authenticator being enrolled activates it and the recovery code
    enrolled with it; the other unconfirmed enrolments of the user are dropped."""
    token = authenticator.get("_enrolling")
    if token is None:
        return
    for a in user["mfa"]:
        if a.get("_enrolling") == token:
            a["active"] = True
            del a["_enrolling"]
    user["mfa"] = [a for a in user["mfa"] if "_enrolling" not in a]
    tenant.stats.setdefault("enrolments", 0)
    tenant.stats["enrolments"] += 1


def _string_list(body: dict, name: str) -> list:
    value = body.get(name)
    if value is None:
        raise missing(name)  # UNVERIFIED wording for /mfa/associate
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ApiError(400, "invalid_request", f"{name} must be a non-empty array of strings")  # UNVERIFIED
    return value


def mfa_associate(tenant: Tenant, req: AppRequest, record: dict) -> Response:
    token = req.bearer()
    if not token:
        raise ApiError(*UNAUTHORIZED_CLIENT_AUTH)  # 401: "Unauthorized, invalid access token or mfa_token"
    body = req.fields()
    params = req.params()
    record["client_id"] = params.get("client_id")
    client = authenticate_client(tenant, params, req.headers)
    tx = mfa_transaction(tenant, token, client["client_id"], status=401)
    user = tenant.users.get(tx.username)
    if user is None:
        raise ApiError(401, "invalid_grant", "Malformed mfa_token")
    record.update(username=user_key(user), user_id=user["user_id"])
    if any(is_active(a) for a in user.get("mfa", [])):
        raise ApiError(403, "access_denied", "User is already enrolled.")
    types = _string_list(body, "authenticator_types")
    if len(types) != 1 or types[0] not in ("otp", "oob"):
        raise ApiError(400, "invalid_request", "authenticator_types must be otp or oob")  # UNVERIFIED
    # An earlier, unconfirmed enrolment is replaced (UNVERIFIED: Auth0 keeps one pending).
    user["mfa"] = [a for a in user.get("mfa", []) if "_enrolling" not in a]
    override = tenant.associate_override
    if types[0] == "otp":
        secret = override.get("secret", new_totp_secret())
        label = f"{OTPAUTH_ISSUER}:{user.get('email') or user_key(user)}"
        uri = (f"otpauth://totp/{quote(label)}?secret={secret}&issuer={OTPAUTH_ISSUER}"
               "&algorithm=SHA1&digits=6&period=30")  # the docs' example's parameters
        authenticator = {"id": f"totp|dev_{secrets.token_hex(8)}", "authenticator_type": "otp",
                         "active": False, "totp_secret": secret, "_enrolling": token}
        answer = {"authenticator_type": "otp", "secret": secret, "barcode_uri": override.get("barcode_uri", uri)}
    else:
        channels = _string_list(body, "oob_channels")
        if len(channels) != 1 or channels[0] not in ASSOCIATE_CHANNELS:
            raise ApiError(400, "invalid_request", "oob_channels must be sms or voice")  # UNVERIFIED
        phone = body.get("phone_number")
        if not isinstance(phone, str) or not E164.match(phone):
            raise ApiError(400, "invalid_request", "phone_number must be in E.164 format")  # UNVERIFIED
        binding = f"{secrets.randbelow(10 ** 6):06d}"
        authenticator = {"id": f"{channels[0]}|dev_{secrets.token_hex(8)}", "authenticator_type": "oob",
                         "oob_channel": channels[0], "active": False, "name": "XXXXXXXX" + phone[-4:],
                         "phone_number": phone, "binding_code": binding, "_enrolling": token}
        code = new_secret("oob_code", 32)
        tenant.oob[code] = OobTransaction(token, authenticator["id"],
                                          time.time() + tenant.settings["oob_code_lifetime"])
        tenant.outbox.append({"channel": channels[0], "to": phone, "template": "mfa_enrollment",
                              "code": binding, "user_id": user["user_id"]})
        answer = {"authenticator_type": "oob", "binding_method": "prompt", "oob_channel": channels[0],
                  "oob_code": code}
    user.setdefault("mfa", []).append(authenticator)
    if not any(a["authenticator_type"] == "recovery-code" for a in user["mfa"]):
        recovery = new_recovery_code()
        user["mfa"].append({"id": f"recovery-code|dev_{secrets.token_hex(8)}",
                            "authenticator_type": "recovery-code", "active": False,
                            "recovery_code": recovery, "_enrolling": token})
        answer["recovery_codes"] = [override.get("recovery_code", recovery)]
    return json_response(200, answer)

# ------------------------------------------------------------------ password change
#
# POST /dbconnections/change_password (docs-v2 api/authentication/change-password/
# change-password): {client_id, email, connection}; "This endpoint only works for database
# connections"; "The 200 response body is a plain text string", the docs' example "We've just
# sent you an email to reset your password." (text/html, as apifox's copy of the API shows).
# Auth0 answers 200 whether or not the connection has a user with that address (the docs' 404
# "User not found" is UNVERIFIED: a tenant that said so would tell strangers who has an
# account); only a user's address gets the mail, recorded in the outbox.  An unknown
# connection is 400 {"error": "connection not found"} (github.com/auth0/Auth0.Android issue
# 303); missing properties as the sign-up endpoint's (UNVERIFIED).  Auth0's limit of one
# request a minute per address and IP is not modelled.

CHANGE_PASSWORD_SENT = "We've just sent you an email to reset your password."


def change_password_endpoint(tenant: Tenant, req: AppRequest, record: dict) -> Response:
    body = req.fields()
    record.update(client_id=body.get("client_id") if isinstance(body.get("client_id"), str) else None,
                  realm=body.get("connection") if isinstance(body.get("connection"), str) else None)
    for name in ("client_id", "email", "connection", "organization"):
        if name in body and not isinstance(body[name], str):
            raise request_error(f"error in {name} - invalid type: {_json_type(body[name])} (expected string)")
    for name in ("email", "connection"):
        if not body.get(name):
            raise request_error(f"Missing required property: {name}")
    if "client_id" in body and body["client_id"] not in tenant.clients:
        raise request_error(f"Unknown client: {body['client_id']}")  # UNVERIFIED
    conn = tenant.connections.get(body["connection"])
    if conn is None:
        raise request_error("connection not found")
    user = tenant.find_user(body["email"], conn["name"])
    if user is not None and (user.get("email") or "").lower() == body["email"].lower():
        record.update(username=user_key(user), user_id=user["user_id"])
        tenant.outbox.append({"channel": "email", "to": user["email"], "template": "change_password",
                              "connection": conn["name"], "client_id": body.get("client_id"),
                              "user_id": user["user_id"]})
    return Response(200, CHANGE_PASSWORD_SENT.encode(), "text/html; charset=utf-8")


def control_outbox(tenant: Tenant, payload: dict):
    return list(tenant.outbox)


def control_associate(tenant: Tenant, payload: dict):
    """What the next /mfa/associate answers put in place of the real values (hostile-tenant
    tests): barcode_uri, secret, recovery_code; {} restores the real ones."""
    unknown = set(payload) - {"barcode_uri", "secret", "recovery_code"}
    if unknown or not all(isinstance(v, str) for v in payload.values()):
        raise ControlError("associate overrides: barcode_uri, secret, recovery_code (strings)")
    tenant.associate_override = dict(payload)
    return {"ok": True}


# -------------------------------------------------------- device authorization flow
#
# RFC 8628 as Auth0 runs it (docs-v2 get-started/authentication-and-authorization-flow/
# device-authorization-flow/call-your-api-using-the-device-authorization-flow.mdx, "device-
# flow" below; docs articles/api/authentication/api-authz/_device-code.md, "device-api"):
# POST /oauth/device/code {client_id, scope, audience} -> 200 {device_code, user_code,
# verification_uri, verification_uri_complete, expires_in (900), interval (5)}; then the
# device_code grant polled on /oauth/token: 403 authorization_pending, 429 slow_down, 403
# expired_token (once; invalid_grant after), 403 access_denied, or the tokens.  The
# application needs the Device Code grant (unauthorized_client otherwise).  A person
# approves or denies a user code at the verification page: here POST /__control/device-approve
# and /__control/device-deny.

GRANT_DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"
DEVICE_CODE_LIFETIME = 900      # device-flow: "Expiration time: 15 minutes"; device-api: 900
DEVICE_POLL_INTERVAL = 5        # device-api's sample answer
# Auth0's default user code: 8 BASE20 letters shown as XXXX-XXXX (device-flow: "BASE20
# Letters: 8 characters" minimum; the samples WDJB-MJHT, QTZL-MCBW).
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
DEVICE_PENDING = (403, "authorization_pending", "User has yet to authorize device code.")  # device-api
DEVICE_DENIED = (403, "access_denied", "User cancelled the confirmation prompt or consent page.")  # device-api
DEVICE_EXPIRED = (403, "expired_token", "The device code has expired.")  # status device-flow; wording UNVERIFIED
DEVICE_INVALID = (403, "invalid_grant", "Invalid or expired device code.")  # wording UNVERIFIED
# Test knobs that make the answer of /oauth/device/code hostile (POST /__control/device).
DEVICE_HOSTILE = ("http", "other_domain", "control_chars", "oversize")
OVERSIZE_BYTES = 5000


@dataclass
class DeviceTransaction:
    """One device authorization: pending until a person approves (as `username`) or denies
    it at the verification page, or it expires."""
    device_code: str
    user_code: str
    client_id: str
    scopes: list
    audience: str
    expires_at: float
    interval: int
    issued_at: float
    state: str = "pending"      # pending, approved, denied, used, expired
    username: str = None
    polls: int = 0
    slow_downs: int = 0
    last_poll: float = None     # monotonic time of the last poll (or of the issue)
    gaps_ms: list = field(default_factory=list)  # between consecutive polls, slow_down ones too


def new_device_state() -> dict:
    """Tenant.device: the transactions by device code, and the /__control/device knobs."""
    return {"codes": {}, "interval": DEVICE_POLL_INTERVAL, "lifetime": DEVICE_CODE_LIFETIME,
            "enforce_interval": None, "hostile": None, "override": {}}


def new_device_user_code(tenant: Tenant) -> str:
    while True:
        code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))
        code = f"{code[:4]}-{code[4:]}"
        if all(tx.user_code != code for tx in tenant.device["codes"].values()):
            return code


def device_answer(tenant: Tenant, tx: DeviceTransaction) -> dict:
    uri = f"{tenant.issuer}activate"
    body = {"device_code": tx.device_code, "user_code": tx.user_code, "verification_uri": uri,
            "verification_uri_complete": f"{uri}?user_code={tx.user_code}",
            "expires_in": int(tx.expires_at - time.time() + 0.5), "interval": tx.interval}
    hostile = tenant.device["hostile"]
    if hostile == "http":
        body["verification_uri"] = body["verification_uri"].replace("https://", "http://", 1)
        body["verification_uri_complete"] = body["verification_uri_complete"].replace("https://", "http://", 1)
    elif hostile == "other_domain":
        body["verification_uri"] = "https://auth0-login.example.net/activate"
        body["verification_uri_complete"] = f"https://auth0-login.example.net/activate?user_code={tx.user_code}"
    elif hostile == "control_chars":
        # A terminal title change, a screen clear and a forged line, in the code people read.
        tx.user_code = f"{tx.user_code}\x1b]0;owned\x07\x1b[2J\r\nPassword: \x9b31m"
        body["user_code"] = tx.user_code
    elif hostile == "oversize":
        tx.user_code = tx.user_code + "X" * OVERSIZE_BYTES
        body["user_code"] = tx.user_code
        body["verification_uri_complete"] = f"{uri}?user_code={tx.user_code}"
    body.update(tenant.device["override"])
    return body


def device_code_endpoint(tenant: Tenant, req: AppRequest, record: dict) -> Response:
    """POST /oauth/device/code (device-api): client_id required, scope and audience
    optional.  The client must have the Device Code grant (device-flow prerequisites);
    the refusal is the token endpoint's unauthorized_client (UNVERIFIED here)."""
    params = req.params()
    record.update(client_id=params.get("client_id"), audience=params.get("audience"),
                  scope=params.get("scope"))
    client = authenticate_client(tenant, params, req.headers)
    if GRANT_DEVICE_CODE not in client["grant_types"]:
        raise ApiError(403, "unauthorized_client", f"Grant type `{GRANT_DEVICE_CODE}` not allowed for the client.")
    audience = params.get("audience")
    check_audience(tenant, audience)
    now = time.time()
    interval = tenant.device["interval"]
    tx = DeviceTransaction(new_secret("device_code", 32), new_device_user_code(tenant), client["client_id"],
                           granted_scopes(params.get("scope"), client), audience,
                           now + tenant.device["lifetime"], interval, now, last_poll=time.monotonic())
    tenant.device["codes"][tx.device_code] = tx
    tenant.stats["device"]["codes"] += 1
    return json_response(200, device_answer(tenant, tx))


def device_code_grant(tenant: Tenant, client: dict, params: dict, record: dict) -> dict:
    """One poll.  Too soon after the last one (or after the code was issued) is slow_down,
    and RFC 8628 3.5's "increased by 5 seconds for this and all subsequent requests" holds
    the client to the larger interval from then on (that the server enforces the increase is
    UNVERIFIED for Auth0).  A slow_down poll counts as the last poll: device-flow says to
    count each interval from the receipt of the last response."""
    stats = tenant.stats["device"]
    code = require(params, "device_code")
    tx = tenant.device["codes"].get(code)
    if tx is None or tx.client_id != client["client_id"] or tx.state in ("used", "gone"):
        raise ApiError(*DEVICE_INVALID)
    stats["polls"] += 1
    tx.polls += 1
    now = time.monotonic()
    gap = now - tx.last_poll
    tx.gaps_ms.append(int(gap * 1000))
    tx.last_poll = now
    enforced = tenant.device["enforce_interval"]
    needed = 0 if enforced == 0 else max(tx.interval + 5 * tx.slow_downs, enforced or 0)
    if tx.state == "pending" and time.time() >= tx.expires_at:
        tx.state = "expired"
    if tx.state == "expired":
        tx.state = "gone"  # device-flow: expired_token "exactly once; after that, invalid_grant"
        stats["expired"] += 1
        raise ApiError(*DEVICE_EXPIRED)
    if gap < needed:
        tx.slow_downs += 1
        stats["slow_down"] += 1
        # device-api's sample wording, with the interval the client is held to.
        raise ApiError(429, "slow_down", f"You are polling faster than the specified interval of {needed} seconds.")
    if tx.state == "pending":
        stats["pending"] += 1
        raise ApiError(*DEVICE_PENDING)
    if tx.state == "denied":
        tx.state = "gone"
        stats["denied"] += 1
        raise ApiError(*DEVICE_DENIED)
    user = tenant.users.get(tx.username)
    tx.state = "used"
    if user is None:  # deleted since the approval
        raise ApiError(*DEVICE_DENIED)
    record.update(username=user_key(user), user_id=user["user_id"])
    check_not_blocked(user)
    stats["approved"] += 1
    return login_tokens(tenant, user, client, tx.scopes, tx.audience, record)


def device_view(tx: DeviceTransaction) -> dict:
    """A transaction for the control API: never the device code, a secret."""
    return {"user_code": tx.user_code, "client_id": tx.client_id, "state": tx.state, "username": tx.username,
            "polls": tx.polls, "slow_downs": tx.slow_downs, "interval": tx.interval, "gaps_ms": tx.gaps_ms,
            "scopes": tx.scopes, "audience": tx.audience}


def _device_by_user_code(tenant: Tenant, payload: dict) -> DeviceTransaction:
    """The transaction of payload's user_code, or the only pending one when none is given."""
    user_code = payload.get("user_code")
    pending = [tx for tx in tenant.device["codes"].values() if tx.state == "pending"]
    if user_code is None:
        if len(pending) != 1:
            raise ControlError(f"user_code required: {len(pending)} pending device codes")
        return pending[0]
    # The verification page takes the code without its separator and in any case.
    wanted = str(user_code).replace("-", "").upper()
    for tx in pending:
        if tx.user_code.replace("-", "").upper() == wanted:
            return tx
    raise ControlError("no pending device code with that user_code")


def control_device(tenant: Tenant, payload: dict):
    """Knobs: interval and lifetime of new codes; enforce_interval, the interval the fake
    holds clients to when it differs from the announced one (0: none; slow_down tests);
    hostile, one of DEVICE_HOSTILE or null; override, members that replace the answer's."""
    for key in ("interval", "lifetime", "enforce_interval"):
        if key in payload and payload[key] is not None:
            if not isinstance(payload[key], int) or isinstance(payload[key], bool) or payload[key] < 0:
                raise ControlError(f"{key} must be an integer >= 0")
    if payload.get("hostile") not in (None,) + DEVICE_HOSTILE:
        raise ControlError(f"hostile must be null or one of {list(DEVICE_HOSTILE)}")
    if "override" in payload and not isinstance(payload["override"], dict):
        raise ControlError("override must be an object")
    for key in ("interval", "lifetime", "enforce_interval", "hostile", "override"):
        if key in payload:
            tenant.device[key] = payload[key]
    return {k: v for k, v in tenant.device.items() if k != "codes"}


def control_device_list(tenant: Tenant, payload: dict):
    return [device_view(tx) for tx in tenant.device["codes"].values()]


def control_device_approve(tenant: Tenant, payload: dict):
    """A person at the verification page signs in as `username` and confirms the code."""
    tx = _device_by_user_code(tenant, payload)
    username = payload.get("username")
    user = tenant.users.get(username) if isinstance(username, str) else None
    if user is None:
        raise ControlError("username must name a user of the tenant")
    if time.time() >= tx.expires_at:
        raise ControlError("the device code has expired")
    tx.state, tx.username = "approved", user_key(user)
    return device_view(tx)


def control_device_deny(tenant: Tenant, payload: dict):
    """A person at the verification page cancels the confirmation prompt."""
    tx = _device_by_user_code(tenant, payload)
    tx.state = "denied"
    return device_view(tx)


def control_device_expire(tenant: Tenant, payload: dict):
    """Every outstanding device code expires now."""
    n = 0
    for tx in tenant.device["codes"].values():
        if tx.state in ("pending", "approved", "denied"):
            tx.expires_at, tx.state = 0, "expired"
            n += 1
    return {"expired": n}


# ------------------------------------------------------------------ client credentials


# The HTTP status of each code a credentials-exchange Action may deny with
# (api.access.deny(code, reason): invalid_scope, invalid_request or server_error, docs-v2
# actions/reference/credentials-exchange/credentials-exchange-api-object); the statuses
# are those of Auth0's Authentication API errors (docs articles/api/authentication/
# errors/_errors.md: 400 invalid_request, invalid_scope; 500 server error).
# access_denied is not a code the Action may use; it is offered for tests of a denial
# by other means (403 as the token endpoint's other access_denied answers).
ACTION_DENY_STATUS = {"invalid_scope": 400, "invalid_request": 400, "server_error": 500, "access_denied": 403}


def client_grant_for(tenant: Tenant, client: dict, audience: str):
    for grant in client.get("client_grants", []):
        if grant["audience"].replace("{management}", tenant.mgmt_audience) == audience:
            return grant
    return None


def client_credentials_grant(tenant: Tenant, client: dict, params: dict, record: dict) -> dict:
    """POST /oauth/token grant_type=client_credentials (docs-v2 api/authentication/
    client-credential-flow/get-token).  The token holds every scope of the client grant,
    whatever subset was asked for (Auth0 Community "Fetching an M2M token returns all
    granted scopes/permissions instead of requested scopes", 2023)."""
    tenant.stats["client_credentials"] += 1
    audience = params.get("audience")
    if not audience:
        # Seen on tenants without a default audience (several public READMEs quote it).
        raise ApiError(403, "access_denied",
                       "No audience parameter was provided, and no default audience has been configured")
    if audience != tenant.mgmt_audience and audience not in tenant.settings["apis"]:
        raise ApiError(403, "access_denied", f"Service not found: {audience}")
    grant = client_grant_for(tenant, client, audience)
    if grant is None:
        # Verbatim from a tenant, 2024: github.com/auth0/ruby-auth0 issue 610.
        raise ApiError(403, "access_denied",
                       f'Client is not authorized to access "{audience}". You need to create a "client-grant" '
                       "associated to this API. See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants")
    granted = list(grant.get("scope", []))
    extra = [s for s in scope_list(params.get("scope")) if s not in granted]
    if extra:
        # "Client has not been granted scopes: read:users" (blog posts and test doubles
        # quoting tenants); how several scopes are joined is UNVERIFIED.
        raise ApiError(403, "access_denied", f"Client has not been granted scopes: {', '.join(extra)}")
    custom = run_credentials_exchange_action(tenant, client)
    now = int(time.time())
    claims = {"iss": tenant.issuer, "sub": f"{client['client_id']}@clients", "aud": audience, "iat": now,
              "exp": now + tenant.settings["access_token_lifetime"]}
    if granted:
        claims["scope"] = " ".join(granted)
    claims.update(gty="client-credentials", azp=client["client_id"])
    claims.update({k: v for k, v in custom.items() if k not in claims})
    jkt = dpop_access_jkt(record)  # client_credentials is one of DPoP's grants (dpop-docs)
    if jkt:
        claims["cnf"] = {"jkt": jkt}
    record["scope"] = claims.get("scope")
    body = {"access_token": tenant.sign_jwt(claims)}
    if granted:
        body["scope"] = " ".join(granted)
    body.update(expires_in=tenant.settings["access_token_lifetime"], token_type=dpop_token_type(tenant, jkt))
    return body


def run_credentials_exchange_action(tenant: Tenant, client: dict) -> dict:
    """The simulated credentials-exchange Action (POST /__control/action): deny the
    exchange as api.access.deny(code, reason) would, or add custom claims as
    api.accessToken.setCustomClaim would.  Returns the claims to add."""
    action = tenant.cc_action
    if action is None or action.get("client_id") not in (None, client["client_id"]):
        return {}
    if action["remaining"] > 0:
        action["remaining"] -= 1
        if action["remaining"] == 0:
            tenant.cc_action = None
    if "deny" in action:
        code, reason = action["deny"]["code"], action["deny"].get("reason", "")
        raise ApiError(ACTION_DENY_STATUS[code], code, reason)
    return dict(action.get("claims", {}))


# ----------------------------------------------------------------------- Token Vault
#
# Sources: docs-v2 api/authentication/token-vault-token-exchange/get-token.mdx (the
# parameters, the 200 body, "Auth0 returns a 401 status code if it can't find a user
# identity that matches the connection (and login_hint, when provided)", 401 for a bad
# subject token or client credentials, 403 when "the client does not have permission to
# perform the token exchange"); secure/call-apis-on-users-behalf/token-vault/
# {refresh-token,access-token,privileged-worker-token}-exchange-with-token-vault.mdx and
# configure-token-vault.mdx (who may use the grant, rotation off, the Custom API Client,
# the worker JWT's header and claims, ip_allowlist and grants).  The error code
# federated_connection_refresh_token_not_found, 401, "Federated connection Refresh Token
# not found." is what tenants answer per public client code and READMEs quoting it
# (several Token Vault sample apps); federated_connection_refresh_token_flow_failed is
# named by client code too, its status and text are UNVERIFIED.

TT_REFRESH = "urn:ietf:params:oauth:token-type:refresh_token"
TT_ACCESS = "urn:ietf:params:oauth:token-type:access_token"
TT_JWT = "urn:ietf:params:oauth:token-type:jwt"
FEDERATED_ACCESS_TOKEN = "http://auth0.com/oauth/token-type/federated-connection-access-token"
TOKEN_VAULT_ACCESS_TOKEN = "http://auth0.com/oauth/token-type/token-vault-access-token"
# subject_token_type -> the only requested_token_type that goes with it.
VAULT_REQUESTED = {TT_REFRESH: FEDERATED_ACCESS_TOKEN, TT_ACCESS: FEDERATED_ACCESS_TOKEN,
                   TT_JWT: TOKEN_VAULT_ACCESS_TOKEN}
FEDERATED_NOT_FOUND = (401, "federated_connection_refresh_token_not_found",
                       "Federated connection Refresh Token not found.")
FEDERATED_FLOW_FAILED = (401, "federated_connection_refresh_token_flow_failed",
                         "Federated connection Refresh Token flow failed.")  # UNVERIFIED status and text
# UNVERIFIED: the docs say only that Token Vault "does not support refresh token
# rotation" and that it must be off; the answer to a client that has it on is chosen as
# the documented 403 ("the client does not have permission").
ROTATION_REFUSED = (403, "unauthorized_client",
                    "Refresh token rotation is not supported by the federated connection access token "
                    "exchange: disable Allow Refresh Token Rotation for the application.")
WORKER_TYP = "token-vault-req+jwt"
WORKER_MAX_AGE = 60          # "Tokens older than 60 seconds are rejected regardless"
WORKER_AUDIT_MAX = 256       # audit_context: 1 to 256 characters


def token_vault_client(client: dict) -> bool:
    """Only a first-party, OIDC-conformant, confidential client may hold the grant
    (configure-token-vault: is_first_party true, oidc_conformant true,
    token_endpoint_auth_method not none)."""
    return bool(client.get("is_first_party")) and bool(client.get("oidc_conformant")) and is_confidential(client)


def tenant_signed_claims(tenant: Tenant, token):
    """The claims of a JWT this tenant signed (RS256, a kid of the JWKS), or None."""
    try:
        header_b64, payload_b64, signature_b64 = token.split(".")
        header = json.loads(b64url_decode(header_b64))
        key = next(k for k in tenant.keys if k.kid == header.get("kid"))
        if header.get("alg") != "RS256" or not key.verifies(f"{header_b64}.{payload_b64}".encode(),
                                                            b64url_decode(signature_b64)):
            return None
        claims = json.loads(b64url_decode(payload_b64))
    except (AttributeError, ValueError, StopIteration, UnicodeDecodeError):
        return None
    return claims if isinstance(claims, dict) else None


def token_vault_grant(tenant: Tenant, client: dict, params: dict, record: dict) -> dict:
    """POST /oauth/token with Token Vault's grant: one of the three exchanges, chosen by
    subject_token_type.  Checks in order: the client may use the grant; the parameters
    are there and of a known type; the subject token names a user; that user has an
    account at the connection (and login_hint); its token, refreshed if expired."""
    if not token_vault_client(client):
        # A tenant refuses to give the grant to such a client at all, so it answers as
        # for any client without the grant.
        raise ApiError(403, "unauthorized_client", f"Grant type `{GRANT_TOKEN_VAULT}` not allowed for the client.")
    vault = tenant.stats["token_vault"]
    vault["requests"] += 1
    subject_type = require(params, "subject_token_type")
    subject = require(params, "subject_token")
    requested = require(params, "requested_token_type")
    connection = require(params, "connection")
    record["connection"] = connection
    if subject_type not in VAULT_REQUESTED:
        # UNVERIFIED wording; RFC 8693 2.2.2 names invalid_request for an unsupported type.
        raise ApiError(400, "invalid_request", f"Unsupported subject_token_type: {subject_type}")
    if requested != VAULT_REQUESTED[subject_type]:
        raise ApiError(400, "invalid_request", f"Unsupported requested_token_type: {requested}")  # UNVERIFIED
    allowed_scopes = None
    if subject_type == TT_REFRESH:
        user = refresh_token_subject(tenant, client, subject, record)
    elif subject_type == TT_ACCESS:
        user = access_token_subject(tenant, client, subject)
    else:
        user, allowed_scopes = worker_subject(tenant, client, subject, connection, record)
    record.update(username=user_key(user), user_id=user["user_id"])
    check_not_blocked(user)
    body = federated_answer(tenant, user, connection, params.get("login_hint"), params.get("scope"),
                            allowed_scopes, TOKEN_VAULT_ACCESS_TOKEN if subject_type == TT_JWT
                            else FEDERATED_ACCESS_TOKEN)
    vault["exchanges"] += 1
    key = f"auth0|{user['user_id']} {connection}"
    vault["by_user_connection"][key] = vault["by_user_connection"].get(key, 0) + 1
    record["scope"] = body.get("scope")
    return body


def refresh_token_subject(tenant: Tenant, client: dict, token: str, record: dict) -> dict:
    """The refresh-token exchange: an Auth0 refresh token of this client, rotation off."""
    if client.get("rotation"):
        raise ApiError(*ROTATION_REFUSED)
    record["rt_sha"] = short_hash(token)
    family, entry = tenant.refresh.find(token)
    if family is not None:
        record["rt_family"] = family.id
    if entry is None or entry[1] or family.client_id != client["client_id"]:
        # The refresh grant's text with the documented 401 of a bad subject token.
        raise ApiError(401, "invalid_grant", "Unknown or invalid refresh token.")
    # A DPoP-bound refresh token is one too when it is the subject token (UNVERIFIED: the
    # docs only say "you can use DPoP to bind Auth0-issued tokens to your client").
    check_refresh_binding(tenant, family, record)
    user = tenant.users.get(family.username)
    if user is None:
        raise ApiError(401, "invalid_grant", "Unknown or invalid refresh token.")  # UNVERIFIED
    return user


def access_token_subject(tenant: Tenant, client: dict, token: str) -> dict:
    """The access-token exchange: an Auth0 access token of a user whose audience is the
    API this Custom API Client stands for ("Auth0 verifies that the client making the
    access token exchange request is linked to the backend API identified by the
    audience of the access token")."""
    claims = tenant_signed_claims(tenant, token)
    if (claims is None or claims.get("iss") != tenant.issuer or not isinstance(claims.get("exp"), (int, float))
            or claims["exp"] <= time.time()):
        raise ApiError(401, "invalid_grant", "Invalid subject_token")  # UNVERIFIED wording
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    api = client.get("resource_server_identifier")
    if not api or api not in audiences:
        # UNVERIFIED: the docs' 403 row, Auth0-style wording.
        raise ApiError(403, "access_denied", "The client is not linked to the subject_token's audience")
    user = tenant.user_by_sub(claims.get("sub"))
    if user is None:  # a client-credentials token (sub ...@clients) or a deleted user
        raise ApiError(401, "invalid_grant", "Invalid subject_token")  # UNVERIFIED wording
    return user


def ip_allowed(ip: str, allowlist) -> bool:
    try:
        address = ipaddress.ip_address(ip)
        return any(address in ipaddress.ip_network(entry, strict=False) for entry in allowlist or [])
    except ValueError:
        return False


def worker_error(why: str) -> ApiError:
    """A bad worker JWT: the documented 401 for a bad subject token; the code and the
    reasons are UNVERIFIED."""
    return ApiError(401, "invalid_grant", why)


def worker_subject(tenant: Tenant, client: dict, token: str, connection: str, record: dict):
    """The privileged worker exchange: a JWT the client signs with a key of its
    token_vault_privileged_access, from an address of its ip_allowlist, for a connection
    of its grants.  Returns (user, the grant's scopes)."""
    privileged = client.get("token_vault_privileged_access") or {}
    credentials = privileged.get("credentials") or []
    if not credentials:
        raise ApiError(403, "unauthorized_client",
                       "Privileged Worker Token Exchange is not enabled for the client")  # UNVERIFIED
    if not ip_allowed(record.get("client_ip") or "", privileged.get("ip_allowlist")):
        raise ApiError(403, "access_denied", "The IP address is not allowed for Privileged Worker Token Exchange")  # U
    grant = next((g for g in privileged.get("grants") or [] if g.get("connection") == connection), None)
    if grant is None:
        raise ApiError(403, "access_denied", f"The connection is not allowed for the client: {connection}")  # U
    try:
        header_b64, payload_b64, signature_b64 = token.split(".")
        header = json.loads(b64url_decode(header_b64))
        claims = json.loads(b64url_decode(payload_b64))
        signature = b64url_decode(signature_b64)
    except (ValueError, UnicodeDecodeError):
        raise worker_error("subject_token is not a JWT")
    if not (isinstance(header, dict) and isinstance(claims, dict)):
        raise worker_error("subject_token is not a JWT")
    if header.get("typ") != WORKER_TYP:
        raise worker_error(f"subject_token typ must be {WORKER_TYP}")
    alg = header.get("alg")
    now = time.time()
    usable = [c for c in credentials if c["alg"] == alg and header.get("kid") in (None, c["kid"])
              and (c.get("_expires") is None or c["_expires"] > now)]
    signed = f"{header_b64}.{payload_b64}".encode()
    if alg not in ASSERTION_ALGS or not any(_assertion_signed_by(c["_key"], alg, signed, signature) for c in usable):
        raise worker_error("subject_token signature does not verify with the client's credentials")
    if claims.get("iss") != client["client_id"]:
        raise worker_error("subject_token iss must be the client_id")
    aud = claims.get("aud")
    if tenant.issuer not in (aud if isinstance(aud, list) else [aud]):
        raise worker_error(f"subject_token aud must be {tenant.issuer}")
    iat = claims.get("iat")
    if not isinstance(iat, (int, float)) or isinstance(iat, bool):
        raise worker_error("subject_token has no iat")
    if iat > now + ASSERTION_SKEW:
        raise worker_error("subject_token iat is in the future")
    if now - iat > WORKER_MAX_AGE:
        raise worker_error("subject_token is older than 60 seconds")
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if exp is not None and (not isinstance(exp, (int, float)) or exp <= now):
        raise worker_error("subject_token is expired")
    if nbf is not None and (not isinstance(nbf, (int, float)) or nbf > now + ASSERTION_SKEW):
        raise worker_error("subject_token nbf is in the future")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 64:  # 64: as for client assertions (UNVERIFIED)
        raise worker_error("subject_token has no jti")
    audit = claims.get("audit_context")
    if not isinstance(audit, str) or not 1 <= len(audit) <= WORKER_AUDIT_MAX:
        raise worker_error("subject_token audit_context must be 1 to 256 characters")
    for key in [k for k, until in tenant.worker_jtis.items() if until < now]:
        del tenant.worker_jtis[key]
    if (client["client_id"], jti) in tenant.worker_jtis:
        raise worker_error("subject_token jti has already been used")
    tenant.worker_jtis[(client["client_id"], jti)] = iat + WORKER_MAX_AGE + ASSERTION_SKEW
    user = tenant.user_by_sub(claims.get("sub"))
    if user is None:
        raise ApiError(*FEDERATED_NOT_FOUND)  # no such user: no identity at the connection
    return user, list(grant.get("scopes") or [])


def federated_answer(tenant: Tenant, user: dict, connection: str, login_hint, scope, allowed_scopes,
                     issued_type: str) -> dict:
    """The user's token at the connection from the vault; an expired one is refreshed
    with the stored federated refresh token first ("If the Google access token has
    expired, Auth0 uses the Google refresh token stored in the Token Vault")."""
    accounts = tenant.federated.get((f"auth0|{user['user_id']}", connection), [])
    if login_hint:
        accounts = [a for a in accounts if a.get("login_hint") == login_hint]
    if connection not in tenant.settings["federated_connections"] or not accounts:
        raise ApiError(*FEDERATED_NOT_FOUND)
    account = accounts[0]
    now = time.time()
    if account["expires_at"] <= now:
        if account.get("refresh_fails"):
            raise ApiError(*FEDERATED_FLOW_FAILED)
        if not account.get("refresh_token"):
            raise ApiError(*FEDERATED_NOT_FOUND)
        account["access_token"] = new_secret("federated_access_token", 32)
        account["expires_at"] = now + account["lifetime"]
        tenant.stats["token_vault"]["federated_refreshes"] += 1
    scopes = list(account["scopes"])
    if allowed_scopes is not None:
        scopes = [s for s in scopes if s in allowed_scopes]
    if scope:
        wanted = scope_list(scope)
        extra = [s for s in wanted if s not in scopes]
        if extra:
            raise ApiError(400, "invalid_scope", f"Scope not granted: {' '.join(extra)}")  # UNVERIFIED
        scopes = wanted
    body = {"access_token": account["access_token"]}
    if scopes:
        body["scope"] = " ".join(scopes)
    body.update(expires_in=max(1, int(account["expires_at"] - now)), issued_token_type=issued_type,
                token_type="Bearer")
    return body


# ------------------------------------------------------------- custom token exchange
# Sources: docs-v2 get-started/authentication-and-authorization-flow/token-exchange-flow
# (and .../call-your-api-using-the-custom-token-exchange-flow): grant_type
# urn:ietf:params:oauth:grant-type:token-exchange with subject_token, subject_token_type,
# audience?, scope?; "Each subject_token_type maps to a Custom Token Exchange Profile and is
# associated with an Action"; the reserved namespaces http(s)://auth0.com, http(s)://okta.com,
# urn:ietf, urn:auth0, urn:okta "cannot be used".  The Action (actions/reference/
# custom-token-exchange/custom-token-exchange-api-object): api.authentication.setUserById
# (an existing user), api.access.rejectInvalidSubjectToken(reason), which answers
# "invalid_request" and counts for Suspicious IP Throttling, api.access.deny(code, reason).
# authenticate/custom-token-exchange/cte-attack-protection: by default 10 failed attempts per IP,
# then 429 too_many_attempts "We have detected suspicious login behavior and further attempts
# will be blocked. Please contact the administrator."; 6 per hour refill (one every 10 minutes).
# A subject_token_type without a profile: 400 invalid_request "Invalid subject_token_type and
# requested_token_type combination." (seen from Auth0 in github.com/agentgateway/agentgateway
# issue 2891); for a reserved type the same answer is UNVERIFIED.
#
# The fake's Action, one per profile: the subject token is an HS256 JWT signed with the
# profile's "secret" whose iss is its "issuer" and sub an Auth0 user_id (setUserById);
# anything else is rejectInvalidSubjectToken; a sub listed in "deny" is
# api.access.deny("access_denied", ...); a sub no user has is setUserById's failure.
CTE_RESERVED_PREFIXES = ("http://auth0.com", "https://auth0.com", "http://okta.com", "https://okta.com",
                         "urn:ietf", "urn:auth0", "urn:okta")
CTE_NO_PROFILE = (400, "invalid_request", "Invalid subject_token_type and requested_token_type combination.")
CTE_THROTTLED = (429, "too_many_attempts",
                 "We have detected suspicious login behavior and further attempts will be blocked. "
                 "Please contact the administrator.")
CTE_THRESHOLD = 10
CTE_REFILL_SECONDS = 600


def cte_reserved(token_type: str) -> bool:
    return token_type.lower().startswith(CTE_RESERVED_PREFIXES)


def cte_profile(tenant: "Tenant", payload: dict) -> dict:
    """A Custom Token Exchange Profile as the Management API takes one (name 3-50
    characters, subject_token_type a URI outside the reserved namespaces), with the fake
    Action's settings."""
    token_type = payload.get("subject_token_type")
    if not isinstance(token_type, str) or ":" not in token_type or any(c.isspace() for c in token_type):
        raise ControlError("subject_token_type must be a URI")
    if cte_reserved(token_type):
        raise ControlError(f"subject_token_type {token_type!r} is in a reserved namespace")
    name = payload.get("name", "Token Exchange Profile 1")
    if not isinstance(name, str) or not 3 <= len(name) <= 50:
        raise ControlError("name must be 3 to 50 characters")
    return {"id": payload.get("id") or new_id("tep_"), "name": name, "subject_token_type": token_type,
            "type": "custom_authentication", "secret": str(payload.get("secret", "cte-test-secret")),
            "issuer": str(payload.get("issuer", "https://legacy.example.com/")),
            "deny": list(payload.get("deny", []))}


def cte_throttled(tenant: "Tenant", ip: str) -> bool:
    """Suspicious IP Throttling for Custom Token Exchange: a bucket of CTE_THRESHOLD
    failures per IP, one back every CTE_REFILL_SECONDS."""
    count, since = tenant.cte_failures.get(ip, (0, time.time()))
    refilled = int((time.time() - since) // CTE_REFILL_SECONDS)
    if refilled:
        count, since = max(0, count - refilled), time.time()
        tenant.cte_failures[ip] = (count, since)
    return count >= CTE_THRESHOLD


def cte_reject(tenant: "Tenant", ip: str, reason: str) -> ApiError:
    count, since = tenant.cte_failures.get(ip, (0, time.time()))
    tenant.cte_failures[ip] = (count + 1, since)
    _bump(tenant.stats["custom_token_exchange"]["rejected"], "invalid_subject_token")
    return ApiError(400, "invalid_request", reason)  # the Action's reason: UNVERIFIED as the description


def cte_action(tenant: "Tenant", profile: dict, token: str, ip: str) -> dict:
    """The profile's Action: the user the subject token names, or an ApiError."""
    parts = token.split(".")
    try:
        if len(parts) != 3:
            raise ValueError("not a JWT")
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        expected = hmac.new(profile["secret"].encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        if header.get("alg") != "HS256" or not hmac.compare_digest(expected, b64url_decode(parts[2])):
            raise ValueError("bad signature")
        if claims.get("iss") != profile["issuer"]:
            raise ValueError("wrong issuer")
        if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] <= time.time():
            raise ValueError("expired")
    except ValueError:  # binascii.Error, JSONDecodeError, UnicodeDecodeError too
        raise cte_reject(tenant, ip, "Invalid subject token")
    sub = claims.get("sub")
    if sub in profile["deny"]:
        _bump(tenant.stats["custom_token_exchange"]["rejected"], "denied")
        raise ApiError(400, "access_denied", "User cannot login due to policy")  # api.access.deny: UNVERIFIED status
    user = tenant.user_by_sub(sub) if isinstance(sub, str) else None
    if user is None:
        _bump(tenant.stats["custom_token_exchange"]["rejected"], "unknown_user")
        raise ApiError(400, "invalid_request", "User not found")  # setUserById's failure: UNVERIFIED
    return user


def token_exchange_grant(tenant: "Tenant", client: dict, params: dict, record: dict) -> dict:
    token = require(params, "subject_token")
    token_type = require(params, "subject_token_type")
    record["subject_token_type"] = token_type
    ip = record.get("ip") or ""
    profile = None if cte_reserved(token_type) else tenant.cte_profiles.get(token_type)
    if profile is None:
        _bump(tenant.stats["custom_token_exchange"]["rejected"], "no_profile")
        raise ApiError(*CTE_NO_PROFILE)
    if cte_throttled(tenant, ip):
        _bump(tenant.stats["custom_token_exchange"]["rejected"], "throttled")
        raise ApiError(*CTE_THROTTLED)
    audience = params.get("audience")
    check_audience(tenant, audience)
    user = cte_action(tenant, profile, token, ip)
    check_not_blocked(user)
    record.update(username=user_key(user), user_id=user["user_id"])
    scopes = granted_scopes(params.get("scope"), client)
    tenant.stats["custom_token_exchange"]["accepted"] += 1
    return login_tokens(tenant, user, client, scopes, audience, record)


def control_cte_profile(tenant: "Tenant", payload: dict):
    """Adds (or replaces) a Custom Token Exchange Profile: {"subject_token_type", "name"?,
    "secret"?, "issuer"?, "deny"?: [user_id]}."""
    profile = cte_profile(tenant, payload)
    tenant.cte_profiles[profile["subject_token_type"]] = profile
    return {k: profile[k] for k in ("id", "name", "subject_token_type", "type")}


def control_delete_cte_profile(tenant: "Tenant", payload: dict):
    tenant.cte_profiles.pop(payload.get("subject_token_type"), None)
    return {"ok": True}


def control_cte_subject_token(tenant: "Tenant", payload: dict):
    """A subject token as the external issuer of a profile would sign it: {"subject_token_type",
    "sub", "expires_in"? (300; <= 0: expired), "tamper"? (a bad signature)}."""
    profile = tenant.cte_profiles.get(payload.get("subject_token_type"))
    if profile is None:
        raise ControlError("no such profile")
    now = int(time.time())
    header = b64url(json_bytes({"alg": "HS256", "typ": "JWT"}))
    body = b64url(json_bytes({"iss": profile["issuer"], "sub": str(payload.get("sub", "")), "iat": now,
                              "exp": now + int(payload.get("expires_in", 300))}))
    key = profile["secret"] + ("x" if payload.get("tamper") else "")
    signature = b64url(hmac.new(key.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest())
    return {"subject_token": f"{header}.{body}.{signature}"}


GRANT_HANDLERS = {
    GRANT_CLIENT_CREDENTIALS: client_credentials_grant,
    GRANT_PASSWORD: password_grant,
    GRANT_REALM: password_realm_grant,
    GRANT_REFRESH: refresh_grant,
    GRANT_OTP: mfa_otp_grant,
    GRANT_OOB: mfa_oob_grant,
    GRANT_RECOVERY: mfa_recovery_grant,
    GRANT_TOKEN_VAULT: token_vault_grant,
    GRANT_PASSWORDLESS: passwordless_grant,
    GRANT_TOKEN_EXCHANGE: token_exchange_grant,
    GRANT_DEVICE_CODE: device_code_grant,
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
    user = tenant.users.get(tx.username, {})
    return json_response(200, [public_authenticator(a) for a in user.get("mfa", [])])


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
    while user_id in tenant.by_id:
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
    note_revoke_proof(tenant, req, record)
    family, _ = tenant.refresh.find(token)
    if family is not None and family.client_id == client["client_id"]:
        record.update(rt_family=family.id, username=family.username)
        if not family.revoked:
            family.revoked = True
            tenant.stats["revoked_families"] += 1
    return Response(200)


def note_revoke_proof(tenant: Tenant, req: AppRequest, record: dict) -> None:
    """A DPoP proof sent to /oauth/revoke is checked and counted, never enforced: RFC 9449
    defines none for revocation, Auth0's docs name none for it, and Auth0.swift revokes a
    DPoP-bound refresh token without one, so a tenant takes revocations without a proof;
    whether it refuses a bad one is UNVERIFIED (the fake ignores it)."""
    text = None
    try:
        text = dpop_header_value(req)
        if text is None:
            return
        proof = verify_dpop_proof(tenant, req, text, None)
        result = "valid"
        record["dpop"] = dpop_summary(text, "accepted", proof)
    except DpopError as err:
        result = "invalid"
        record["dpop"] = dpop_summary(text or "", err.reason)
    tenant.stats["dpop"]["revoke_proofs"][result] += 1


def unauthorized_userinfo(challenge: str = 'Bearer error="invalid_token"') -> Response:
    # A bad token gets a bare "Unauthorized" text body, not JSON
    # (github.com/auth0/Auth0.Android issue 629, auth0/react-native-auth0 issue 1375).
    return Response(401, b"Unauthorized", "text/plain; charset=utf-8", [("WWW-Authenticate", challenge)])


def userinfo_endpoint(tenant: Tenant, req: AppRequest, record: dict) -> Response:
    """Bearer, or DPoP: dpop-docs calls /userinfo with "Authorization: DPoP" and a proof
    with ath, and "The Auth0 Authorization Server currently does not check jti reuse on
    the /userinfo endpoint".  A DPoP-bound token sent as Bearer is refused (rfc9449 7.2;
    UNVERIFIED for Auth0's /userinfo), as are the DPoP failures, with the bare 401 and a
    DPoP challenge (UNVERIFIED)."""
    auth = req.headers.get("Authorization", "")
    scheme, _, credentials = auth.partition(" ")
    dpop = scheme.lower() == "dpop"
    claims = verified_access_token(tenant, credentials.strip() if dpop else req.bearer())
    if claims is None:
        return unauthorized_userinfo()
    bound = token_jkt(claims)
    if dpop or bound:
        refusal = userinfo_dpop_refusal(tenant, req, dpop, credentials.strip(), bound)
        stats = tenant.stats["dpop"]["userinfo"]
        if refusal:
            _bump(stats["refused"], refusal[0])
            return unauthorized_userinfo(dpop_challenge(refusal[1], refusal[2]))
        stats["accepted"] += 1
        record["token_type"] = "DPoP"
    user = tenant.user_by_sub(claims["sub"])
    if user is None:  # deleted since the token was issued (UNVERIFIED answer)
        return Response(401, b"Unauthorized", "text/plain; charset=utf-8",
                        [("WWW-Authenticate", 'Bearer error="invalid_token"')])
    record.update(username=user_key(user), user_id=user["user_id"], client_id=claims.get("azp"))
    return json_response(200, {"sub": claims["sub"], **profile_claims(user, scope_list(claims.get("scope")))})


def userinfo_dpop_refusal(tenant: Tenant, req: AppRequest, dpop: bool, token: str, bound):
    """(reason, error, description) when /userinfo must refuse a DPoP request or a bound
    token, else None."""
    if not dpop:
        return "bound_token_as_bearer", "invalid_token", BOUND_AS_BEARER
    if not bound:
        return "unbound_token", "invalid_token", "JWT Access Token has no jkt confirmation claim"
    try:
        text = dpop_header_value(req)
        if text is None:
            raise DpopError("no_proof", "DPoP proof is missing")
        proof = verify_dpop_proof(tenant, req, text, None, access_token=token)
    except DpopError as err:
        return err.reason, "invalid_dpop_proof", err.description
    if proof.jkt != bound:
        return "jkt_mismatch", "invalid_token", "JWT Access Token confirmation mismatch"
    return None


def token_jkt(claims: dict):
    """The DPoP key an access token is bound to (cnf.jkt), or None."""
    cnf = claims.get("cnf")
    jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
    return jkt if isinstance(jkt, str) and jkt else None


def verified_access_token(tenant: Tenant, token):
    """Claims of an access token this tenant signed that is valid for /userinfo
    (openid granted, docs-v2 api/authentication/user-profile/get-user-info.mdx)."""
    claims = tenant_signed_claims(tenant, token)
    if claims is None:
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


# ------------------------------------------------------------- a DPoP-enforcing API
#
# /__resource/... (any method, any path below it, on every listener) stands for an API of
# this tenant that enforces DPoP the way Auth0's own resource-server library does
# (jwt-bearer: its checks, texts and WWW-Authenticate challenges) and RFC 9449 7 says: the
# access token in "Authorization: DPoP <token>" (or Bearer, when allowed), a tenant-signed,
# unexpired token whose aud holds one of the tenant's APIs; for DPoP a proof for this very
# request (htm, htu without the query), with ath, by the key of the token's cnf.jkt, its
# jti single-use.  Refusals are 401 with the challenge (rfc9449 7.1: "using the 401
# (Unauthorized) response status code"; jwt-bearer answers a bad proof with 400), 400 for
# a malformed or doubled Authorization.  No resource-server nonce (rfc9449 9).

RESOURCE_PREFIX = "/__resource"
BOUND_AS_BEARER = "DPoP-bound token requires the DPoP authentication scheme, not Bearer."  # jwt-bearer


class ResourceRefusal(Exception):
    def __init__(self, reason: str, error: str = None, description: str = None, status: int = 401):
        super().__init__(reason)
        self.reason, self.error, self.description, self.status = reason, error, description, status


def _quoted(text: str) -> str:
    return text.replace('"', "'")  # as jwt-bearer does in its challenges


def dpop_challenge(error: str = None, description: str = None) -> str:
    algs = " ".join(DPOP_ALGS)
    if error:
        return f'DPoP error="{error}", error_description="{_quoted(description)}", algs="{algs}"'
    return f'DPoP algs="{algs}"'


def bearer_challenge(error: str = None, description: str = None) -> str:
    if error:
        return f'Bearer realm="api", error="{error}", error_description="{_quoted(description)}"'
    return 'Bearer realm="api"'


def resource_challenge(tenant: Tenant, scheme, error, description) -> str:
    """jwt-bearer's applyAuthChallenges: DPoP required, one DPoP challenge; otherwise a
    Bearer and a DPoP challenge, the error in the one of the scheme the request used (no
    error without credentials: RFC 6750 3.1)."""
    if tenant.settings["resource_dpop_required"]:
        return dpop_challenge(error, description)
    if scheme == "bearer":
        return f"{bearer_challenge(error, description)}, {dpop_challenge()}"
    if scheme == "dpop":
        return f"{bearer_challenge()}, {dpop_challenge(error, description)}"
    return f"{bearer_challenge()}, {dpop_challenge()}"


def resource_token_claims(tenant: Tenant, token: str):
    """The claims of an access token the API takes: signed by the tenant, its issuer,
    unexpired, its aud holding one of the tenant's APIs."""
    claims = tenant_signed_claims(tenant, token)
    if claims is None or claims.get("iss") != tenant.issuer:
        return None
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, (int, float)) or exp <= time.time():
        return None
    aud = claims.get("aud")
    audiences = {a for a in (aud if isinstance(aud, list) else [aud]) if isinstance(a, str)}
    return claims if audiences & set(tenant.settings["apis"]) else None


def resource_access(tenant: Tenant, req: AppRequest, record: dict, auths: list, scheme, token: str):
    """The checks, in jwt-bearer's order; returns (claims, jkt or None) or raises
    ResourceRefusal."""
    if len(auths) > 1:
        raise ResourceRefusal("multiple_authorization", "invalid_request",
                              "More than one method used for authentication", 400)
    if not auths:
        raise ResourceRefusal("no_credentials")
    if scheme not in ("bearer", "dpop") or not token or " " in token:
        raise ResourceRefusal("malformed_authorization", "invalid_request", "Malformed Authorization header", 400)
    claims = resource_token_claims(tenant, token)
    if claims is None:
        raise ResourceRefusal("invalid_token", "invalid_token", "Invalid token")
    record.update(client_id=claims.get("azp"), scope=claims.get("scope"))
    user = tenant.user_by_sub(claims.get("sub"))
    if user is not None:
        record.update(username=user_key(user), user_id=user["user_id"])
    bound = token_jkt(claims)
    if scheme == "bearer":
        if tenant.settings["resource_dpop_required"]:
            raise ResourceRefusal("bearer_scheme", "invalid_token", "This API requires the DPoP authentication scheme")
        if bound:
            raise ResourceRefusal("bound_token_as_bearer", "invalid_token", BOUND_AS_BEARER)
        record["token_type"] = "Bearer"
        return claims, None
    if not bound:
        raise ResourceRefusal("unbound_token", "invalid_token", "JWT Access Token has no jkt confirmation claim")
    text = None
    try:
        text = dpop_header_value(req)
        if text is None:
            raise DpopError("no_proof", "DPoP proof is missing")
        proof = verify_dpop_proof(tenant, req, text, tenant.resource_jtis, access_token=token)
    except DpopError as err:
        record["dpop"] = dpop_summary(text or "", err.reason)
        raise ResourceRefusal(err.reason, "invalid_dpop_proof", err.description)
    record["dpop"] = dpop_summary(text, "accepted", proof)
    if proof.jkt != bound:
        raise ResourceRefusal("jkt_mismatch", "invalid_token", "JWT Access Token confirmation mismatch")
    record["token_type"] = "DPoP"
    return claims, proof.jkt


def resource_endpoint(tenant: Tenant, req: AppRequest, record: dict) -> Response:
    """200 {"sub", "azp", "scope", "token_type", "jkt", "method", "path"}, or a refusal
    with its WWW-Authenticate challenge and {"error", "error_description"} (no error
    without credentials: {"message": "Unauthorized"})."""
    auths = req.headers.get_all("Authorization") or []
    scheme, _, token = (auths[0] if auths else "").partition(" ")
    scheme = scheme.lower() if auths else None
    stats = tenant.stats["dpop"]["resource"]
    try:
        claims, jkt = resource_access(tenant, req, record, auths, scheme, token.strip())
    except ResourceRefusal as refusal:
        _bump(stats["refused"], refusal.reason)
        body = ({"error": refusal.error, "error_description": refusal.description} if refusal.error
                else {"message": "Unauthorized"})
        challenge = resource_challenge(tenant, scheme, refusal.error, refusal.description)
        return json_response(refusal.status, body, [("WWW-Authenticate", challenge)])
    stats["accepted"] += 1
    return json_response(200, {"sub": claims.get("sub"), "azp": claims.get("azp"), "scope": claims.get("scope"),
                               "token_type": "DPoP" if jkt else "Bearer", "jkt": jkt, "method": req.method,
                               "path": req.path})


# ------------------------------------------------------------------- Management API
#
# The part of Auth0's Management API v2 that auth0-sync uses, over the same user store
# the login grants use.  Sources (besides those named at each answer):
#   oas        docs-v2 main/docs/oas/management/v2/management-api-oas.json (2026): the
#              endpoints, parameters, bounds, scopes and response schemas
#   recording  go-auth0 test/data/recordings/*.yaml at commit 0f08dfd9 (2023): go-vcr
#              recordings of a real tenant (bodies, key order, status codes)

HTTP_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                409: "Conflict", 429: "Too Many Requests", 500: "Internal Server Error"}
MGMT_PREFIX = "/api/v2/"
MAX_RESULT_WINDOW = 1000  # users search and offset paging reach the first 1000 results only


class MgmtError(Exception):
    """A Management API error: {"statusCode", "error", "message", "errorCode"?}, as
    node-auth0's parseError reads it (src/management/management-client.ts) and the
    tenants send it (e.g. {"statusCode":403,"error":"Forbidden","message":"Insufficient
    scope, expected any of: create:client_grants","errorCode":"insufficient_scope"},
    go-auth0 management/management_error_test.go)."""

    def __init__(self, status: int, message: str, error_code: str = None, attributes: dict = None):
        super().__init__(f"{status} {message}")
        self.status = status
        self.body = {"statusCode": status, "error": HTTP_REASONS.get(status, "Error"), "message": message}
        if error_code is not None:
            self.body["errorCode"] = error_code
        if attributes is not None:
            self.body["attributes"] = attributes


class TokenBucket:
    """Auth0's rate-limit algorithm: a token bucket whose size is the burst limit and
    whose refill rate is the sustained limit (rate-limit-policy, "Rate limit algorithm")."""

    def __init__(self):
        self.tokens = None
        self.last = 0.0

    def take(self, burst: float, rate: float, now: float):
        """(allowed, remaining, reset): reset is when the bucket is full again, in epoch
        seconds, as X-RateLimit-Reset ("Remaining time until the rate limit resets ...
        in UTC epoch seconds", docs-v2 api/authentication/user-profile/get-user-info)."""
        if self.tokens is None:
            self.tokens, self.last = float(burst), now
        self.tokens = min(float(burst), self.tokens + max(0.0, now - self.last) * rate)
        self.last = now
        allowed = self.tokens >= 1
        if allowed:
            self.tokens -= 1
        reset = now + ((burst - self.tokens) / rate if rate > 0 else 0)
        return allowed, int(self.tokens), int(math.ceil(reset))


def query_error(prop: str, why: str, description: str) -> MgmtError:
    """The query-string validator's answer: "Query validation error: '<why>' on property
    <prop> (<description>)." with errorCode invalid_query_string (the shape: auth0-java
    APIException's javadoc and a logged tenant answer for `fields`; the <why> texts are
    z-schema's; the descriptions are the oas's, UNVERIFIED as sent)."""
    return MgmtError(400, f"Query validation error: '{why}' on property {prop} ({description}).",
                     "invalid_query_string")


def payload_error(prop: str, why: str, description: str) -> MgmtError:
    """The body validator's answer (UNVERIFIED wording; "Payload validation error:"
    appears in Auth0's support articles, errorCode invalid_body in node-auth0's
    comment on parseError)."""
    return MgmtError(400, f"Payload validation error: '{why}' on property {prop} ({description}).",
                     "invalid_body")


class MgmtQuery:
    """The query string of a Management API request, validated as the oas bounds say."""

    def __init__(self, raw: str):
        self.values = parse_qs(raw or "", keep_blank_values=True)

    def get(self, name: str):
        values = self.values.get(name)
        return values[-1] if values else None

    def all(self, name: str) -> list:
        return self.values.get(name, [])

    def integer(self, name: str, default, description: str, minimum=0, maximum=None):
        text = self.get(name)
        if text is None or text == "":
            return default
        if not re.fullmatch(r"-?\d+", text):
            raise query_error(name, "Expected type integer but found type string", description)
        value = int(text)
        if value < minimum:
            raise query_error(name, f"Value {value} is less than minimum {minimum}", description)
        if maximum is not None and value > maximum:
            raise query_error(name, f"Value {value} is greater than maximum {maximum}", description)
        return value

    def boolean(self, name: str, default: bool, description: str) -> bool:
        text = self.get(name)
        if text is None or text == "":
            return default
        if text not in ("true", "false"):
            raise query_error(name, "Expected type boolean but found type string", description)
        return text == "true"


# --- the user as the Management API shows it

def default_picture(email: str) -> str:
    """Database users get a Gravatar picture with Auth0's initials avatar as fallback
    (the normalized profile's default; UNVERIFIED in detail)."""
    local = (email or "").split("@")[0]
    initials = (local[:2] or "u").lower()
    digest = hashlib.md5((email or "").strip().lower().encode()).hexdigest()
    return (f"https://s.gravatar.com/avatar/{digest}?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2F"
            f"{initials}.png")


def identity_of(user: dict) -> dict:
    return {"connection": user.get("connection"), "user_id": user["user_id"], "provider": "auth0",
            "isSocial": False}


def mgmt_user(user: dict) -> dict:
    """A user as GET /api/v2/users returns it, keys in the recording's order:
    blocked (only once set), created_at, email, email_verified, family_name,
    given_name, identities, name, nickname, picture, updated_at, user_id (auth0|...),
    user_metadata, username, last_password_reset, app_metadata, then last_ip,
    last_login, logins_count once the user has logged in.  Empty metadata objects are
    left out (UNVERIFIED)."""
    email = user.get("email")
    view = {}
    if "blocked" in user:
        view["blocked"] = bool(user["blocked"])
    view["created_at"] = user["created_at"]
    if email:
        view["email"] = email
    view["email_verified"] = bool(user.get("email_verified", False))
    for key in ("family_name", "given_name"):
        if user.get(key):
            view[key] = user[key]
    view["identities"] = [identity_of(user)]
    view["name"] = user.get("name") or email or user.get("username")
    view["nickname"] = user.get("nickname") or (email or user.get("username") or "").split("@")[0]
    view["picture"] = user.get("picture") or default_picture(email)
    view["updated_at"] = user["updated_at"]
    view["user_id"] = f"auth0|{user['user_id']}"
    if user.get("user_metadata"):
        view["user_metadata"] = user["user_metadata"]
    if user.get("username"):
        view["username"] = user["username"]
    if user.get("last_password_reset"):
        view["last_password_reset"] = user["last_password_reset"]
    if user.get("app_metadata"):
        view["app_metadata"] = user["app_metadata"]
    for key in ("last_ip", "last_login", "logins_count"):
        if key in user:
            view[key] = user[key]
    return view


# "Must be a comma separated list of the following values: ..." (a tenant's answer to a
# bad `fields`, logged verbatim in a public test; the list is the tenant's).
USER_FIELDS = ("phone_number,email,email_verified,picture,username,user_id,name,nickname,created_at,identities,"
               "app_metadata,user_metadata,last_ip,last_login,logins_count,updated_at,blocked,family_name,given_name")
USERS_DESC = {
    "page": "Page index of the results to return. First page is 0",
    "per_page": "Number of results per page",
    "include_totals": "Return results inside an object that contains the total result count (true) or as a direct "
                      "array of results (false, default)",
    "fields": "Comma-separated list of fields to include or exclude (based on value provided for include_fields) in "
              "the result. Leave empty to retrieve all fields",
    "include_fields": "Whether specified fields are to be included (true) or excluded (false)",
    "sort": "Field to sort by. Use <code>field:order</code> where order is <code>1</code> for ascending and "
            "<code>-1</code> for descending. e.g. <code>created_at:1</code>",
    "search_engine": "The version of the search engine",
}
SORTABLE = {"created_at": "_created_at_ms", "updated_at": "_updated_at_ms", "last_login": "last_login",
            "logins_count": "logins_count", "email": "email", "user_id": "user_id", "username": "username",
            "name": "name", "nickname": "nickname"}


def select_fields(view: dict, fields, include: bool) -> dict:
    if fields is None:
        return view
    if include:
        return {k: v for k, v in view.items() if k in fields}
    return {k: v for k, v in view.items() if k not in fields}


def parse_fields(query: MgmtQuery, description: str, allowed: str):
    text = query.get("fields")
    if not text:
        return None
    names = text.split(",")
    if any(n not in allowed.split(",") for n in names):
        raise query_error("fields", f"String '{text}' does not match pattern. Must be a comma separated list of "
                                    f"the following values: {allowed}", description)
    return set(names)


# --- user search: a Lucene subset

class QueryUnsupported(Exception):
    pass


def _scan_terms(text: str) -> list:
    """Splits a query into terms, keeping "quoted" values and [..] {..} ranges whole."""
    terms, i, n = [], 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        start = i
        while i < n and not text[i].isspace():
            if text[i] == '"':
                i += 1
                while i < n and text[i] != '"':
                    i += 2 if text[i] == "\\" else 1
                if i >= n:
                    raise QueryUnsupported("unterminated quote")
            elif text[i] in "[{":
                while i < n and text[i] not in "]}":
                    i += 1
                if i >= n:
                    raise QueryUnsupported("unterminated range")
            i += 1
        terms.append(text[start:i])
    return terms


def _range_bounds(value: str, parse):
    m = re.fullmatch(r"([\[{])\s*(\S+)\s+TO\s+(\S+)\s*([\]}])", value)
    if not m:
        raise QueryUnsupported(f"bad range {value}")
    low, high = m.group(2), m.group(3)
    return (None if low == "*" else parse(low), m.group(1) == "[",
            None if high == "*" else parse(high), m.group(4) == "]")


def _in_range(value, bounds) -> bool:
    low, low_incl, high, high_incl = bounds
    if value is None:
        return False
    if low is not None and (value < low or (value == low and not low_incl)):
        return False
    if high is not None and (value > high or (value == high and not high_incl)):
        return False
    return True


def _metadata_value(view: dict, path: str):
    node = view
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _exact(value: str) -> str:
    if value.startswith('"'):
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if any(c in value for c in "?*()"):
        raise QueryUnsupported(f"wildcard in {value}")
    return value


def _term_predicate(term: str):
    field_name, sep, value = term.partition(":")
    if not sep or not field_name or not value:
        raise QueryUnsupported(f"{term!r} is not field:value")
    if field_name in ("created_at", "updated_at", "last_login"):
        key = {"created_at": "_created_at_ms", "updated_at": "_updated_at_ms", "last_login": "last_login"}[field_name]
        get = (lambda v: v.get(key)) if key.startswith("_") else (
            lambda v: parse_iso_ms(v[key]) if v.get(key) else None)
        if value[0] in "[{":
            try:
                bounds = _range_bounds(value, parse_iso_ms)
            except ValueError as err:
                raise QueryUnsupported(str(err))
            return lambda v: _in_range(get(v), bounds)
        try:
            when = parse_iso_ms(_exact(value))
        except ValueError as err:
            raise QueryUnsupported(str(err))
        return lambda v: get(v) == when
    if field_name == "logins_count":
        if value[0] in "[{":
            bounds = _range_bounds(value, int)
            return lambda v: _in_range(v.get("logins_count", 0), bounds)
        count = int(_exact(value))
        return lambda v: v.get("logins_count", 0) == count
    if field_name in ("blocked", "email_verified"):
        wanted = _exact(value)
        if wanted not in ("true", "false"):
            raise QueryUnsupported(f"{field_name} must be true or false")
        # A user that never had the field does not match blocked:false (a term query
        # on a field the document lacks), as in Elasticsearch.
        return lambda v: field_name in v and bool(v[field_name]) == (wanted == "true")
    if field_name == "identities.connection":
        name = _exact(value)
        return lambda v: v.get("connection") == name
    if field_name == "user_id":
        wanted = _exact(value)
        return lambda v: f"auth0|{v['user_id']}" == wanted
    if field_name in ("email", "username", "name", "nickname"):
        if value.endswith("*") and not value.startswith('"') and "*" not in value[:-1]:
            prefix = value[:-1].lower()
            return lambda v: (v.get(field_name) or "").lower().startswith(prefix)
        wanted = _exact(value).lower()
        return lambda v: (v.get(field_name) or "").lower() == wanted
    if field_name.startswith(("app_metadata.", "user_metadata.")):
        if value == "*":
            return lambda v: _metadata_value(v, field_name) is not None
        if value[0] in "[{":
            # Measured on a tenant (2026): a range on a metadata field is refused with
            # 400 "operator 'less or equal' is not supported" (LFX auth-service,
            # internal/.../backfill recheck_test.go); the other operators' names are guesses.
            bounds = _range_bounds(value, str)
            operator = ("less or equal" if bounds[2] is not None and bounds[3] else
                        "less than" if bounds[2] is not None else
                        "greater or equal" if bounds[1] else "greater than")
            raise MgmtError(400, f"operator '{operator}' is not supported", "invalid_query_string")
        wanted = _exact(value).lower()

        def metadata_equals(v):
            found = _metadata_value(v, field_name)
            if isinstance(found, bool):
                found = "true" if found else "false"
            return isinstance(found, (str, int, float)) and str(found).lower() == wanted
        return metadata_equals
    raise QueryUnsupported(f"field {field_name}")


def parse_user_query(text):
    """A predicate over users for q: terms `field:value` joined by AND, each optionally
    preceded by NOT.  Values: "quoted", bare, `*` (exists, metadata only), ranges
    `[a TO b]`, `{a TO b}` and mixes with `*` for an open end.  Fields:
    identities.connection, user_id, email, username, name, nickname (exact,
    case-insensitive; a trailing * is a prefix), blocked, email_verified,
    created_at, updated_at, last_login (dates), logins_count, app_metadata.* and
    user_metadata.* (exact or exists).  Anything else (OR, implicit OR, parentheses,
    fields or wildcards not listed) is refused with 400: real Auth0 accepts much
    more (docs-v2 manage-users/user-search/user-search-query-syntax)."""
    if text is None or not text.strip():
        return lambda v: True
    try:
        terms = _scan_terms(text)
        predicates, negate, expect_term = [], False, True
        for term in terms:
            if expect_term:
                if term == "NOT" and not negate:
                    negate = True
                    continue
                if term in ("AND", "OR", "&&", "||") or term[0] in "()+-!" or term.endswith(")"):
                    raise QueryUnsupported(f"unexpected {term!r}")
                predicate = _term_predicate(term)
                predicates.append((lambda p: lambda v: not p(v))(predicate) if negate else predicate)
                negate, expect_term = False, False
            elif term == "AND":
                expect_term = True
            else:
                raise QueryUnsupported(f"only AND joins terms here, got {term!r}")
        if expect_term:
            raise QueryUnsupported("dangling operator")
    except (QueryUnsupported, ValueError) as err:
        raise MgmtError(400, f"Query validation error: the fake tenant does not support this query ({err})",
                        "invalid_query_string")
    return lambda v: all(p(v) for p in predicates)


def search_views(tenant: Tenant) -> list:
    """What user search sees now: each user as it was search_lag_seconds ago at most
    (a user created within the window is missing), and users deleted within the
    window still there."""
    now = now_ms()
    views = []
    for user in tenant.users.values():
        pending = user.get("_search")
        if pending is not None and pending[0] > now:
            if pending[1] is not None:
                views.append(pending[1])
        else:
            views.append(user)
    tenant.ghosts = [(until, ghost) for until, ghost in tenant.ghosts if until > now]
    views.extend(ghost for _, ghost in tenant.ghosts)
    return views


def sort_key_of(sort: str, description: str):
    m = re.fullmatch(r"([a-zA-Z0-9_.]+):(1|-1)", sort)
    if not m:
        raise query_error("sort", f"String does not match pattern ^(([a-zA-Z0-9_\\.]+))\\:(1|-1)$: {sort}",
                          description)
    field_name, order = m.group(1), m.group(2)
    key = SORTABLE.get(field_name)
    if key is None:
        raise MgmtError(400, f"Query validation error: the fake tenant does not sort by {field_name}",
                        "invalid_query_string")
    return key, order == "-1"


def mgmt_list_users(tenant: Tenant, req: "AppRequest", query: MgmtQuery, match) -> Response:
    """GET /api/v2/users (oas get_users; docs-v2 manage-users/user-search)."""
    engine = query.get("search_engine")
    if engine in ("v1", "v2") or (engine is None and query.get("connection") is not None):
        # "You are not allowed to use search_engine=v1." (auth0/auth0-python issue 183,
        # auth0/auth0.net issue 817: the `connection` parameter alone selects v1).
        raise MgmtError(400, f"You are not allowed to use search_engine={engine or 'v1'}.")
    if engine not in (None, "v3"):
        raise query_error("search_engine", f'No enum match for: "{engine}"', USERS_DESC["search_engine"])
    page = query.integer("page", 0, USERS_DESC["page"])
    per_page = query.integer("per_page", 50, USERS_DESC["per_page"], maximum=100)
    totals = query.boolean("include_totals", False, USERS_DESC["include_totals"])
    fields = parse_fields(query, USERS_DESC["fields"], USER_FIELDS)
    include = query.boolean("include_fields", True, USERS_DESC["include_fields"])
    sort = query.get("sort")
    order = sort_key_of(sort, USERS_DESC["sort"]) if sort else None
    predicate = parse_user_query(query.get("q"))
    start = page * per_page
    if start >= MAX_RESULT_WINDOW:
        # "Auth0 limits the total number of users you can retrieve to 1000" (docs-v2
        # manage-users/user-search/view-search-results-by-page); measured on a tenant:
        # offset 980 works, offset 1000 is 400 invalid_paging "You can only page
        # through the first 1000 records" at any page size (LFX auth-service
        # recheck_test.go, 2026).  The sentence after "records." is UNVERIFIED.
        raise MgmtError(400, "You can only page through the first 1000 records. See "
                             "https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation",
                        "invalid_paging")
    matched = [v for v in search_views(tenant) if predicate(v)]
    if order is not None:
        key, descending = order
        present = [v for v in matched if v.get(key) is not None]
        absent = [v for v in matched if v.get(key) is None]
        present.sort(key=lambda v: v[key].lower() if isinstance(v[key], str) and not key.startswith("_")
                     and key != "last_login" else v[key], reverse=descending)
        matched = present + absent  # missing values last either way, as Elasticsearch does
    window = matched[start:min(start + per_page, MAX_RESULT_WINDOW)]
    users = [select_fields(mgmt_user(v), fields, include) for v in window]
    if not totals:
        return json_response(200, users)
    # Key order as the recording: start, limit, length, users, total.
    return json_response(200, {"start": start, "limit": per_page, "length": len(users), "users": users,
                               "total": len(matched)})


def mgmt_get_user(tenant: Tenant, user_path_id: str):
    full = unquote(user_path_id)
    user = tenant.user_by_sub(full)
    if user is None:
        raise MgmtError(404, "The user does not exist.", "inexistent_user")  # UNVERIFIED wording
    return user


# --- roles

PAGING_DESC = {"page": "Page index of the results to return. First page is 0",
               "per_page": "Number of results per page. Defaults to 50",
               "include_totals": "Return results inside an object that contains the total result count (true) or "
                                 "as a direct array of results (false, default)",
               "take": "Number of results per page. Defaults to 50",
               "from": "Optional Id from which to start selection"}


def role_view(role: dict) -> dict:
    return {"id": role["id"], "name": role["name"], "description": role["description"]}


def _paged(query: MgmtQuery, items: list, key: str, per_page_min=1):
    page = query.integer("page", 0, PAGING_DESC["page"])
    per_page = query.integer("per_page", 50, PAGING_DESC["per_page"], minimum=per_page_min, maximum=100)
    totals = query.boolean("include_totals", False, PAGING_DESC["include_totals"])
    start = page * per_page
    window = items[start:start + per_page]
    if not totals:
        return json_response(200, window)
    return json_response(200, {key: window, "start": start, "limit": per_page, "total": len(items)})


def mgmt_list_roles(tenant: Tenant, req, query: MgmtQuery, match) -> Response:
    """GET /api/v2/roles: {"roles", "start", "limit", "total"} with include_totals
    (recording TestRoleManager_List).  name_filter matches case-insensitively
    (oas: "Optional filter on name (case-insensitive)"); that it matches a substring
    is UNVERIFIED."""
    name_filter = (query.get("name_filter") or "").lower()
    roles = [role_view(r) for r in tenant.roles.values() if name_filter in r["name"].lower()]
    return _paged(query, roles, "roles")


def role_or_404(tenant: Tenant, role_id: str) -> dict:
    role = tenant.roles.get(unquote(role_id))
    if role is None:
        raise MgmtError(404, "The role does not exist.", "inexistent_role")  # UNVERIFIED wording
    return role


def role_member_view(user: dict) -> dict:
    view = mgmt_user(user)
    return {k: view[k] for k in ("user_id", "email", "picture", "name") if k in view}


def role_cursor(assigned_ms: int, user_id: str) -> str:
    """The checkpoint: base64 of "<assigned at, microseconds>UTC,<user_id>" of the last
    user returned (a tenant's `next`, recording TestRoleManager_UsersCheckpointPagination,
    decodes to "2023-03-14 13:41:28.961000UTC,auth0|64107988d3534be8b2dc383c")."""
    when = datetime.datetime.fromtimestamp(assigned_ms / 1000, datetime.timezone.utc)
    return base64.b64encode(f"{when.strftime('%Y-%m-%d %H:%M:%S.%f')}UTC,{user_id}".encode()).decode()


def parse_role_cursor(text: str):
    try:
        stamp, _, user_id = base64.b64decode(text, validate=True).decode().partition("UTC,")
        when = datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc)
    except (ValueError, UnicodeDecodeError):
        raise MgmtError(400, "Invalid checkpoint.", "invalid_query_string")  # UNVERIFIED wording
    if not user_id:
        raise MgmtError(400, "Invalid checkpoint.", "invalid_query_string")
    return round(when.timestamp() * 1000), user_id


def mgmt_role_users(tenant: Tenant, req, query: MgmtQuery, match) -> Response:
    """GET /api/v2/roles/{id}/users.  With `take` or `from`: checkpoint paging,
    {"users", "next"?}; `next` is there when the page is full, so a last full page is
    followed by an empty {"users": []} (the recording shows a short last page without
    `next`; the full-page case is UNVERIFIED).  Without: page/per_page, at most the
    first 1000 members: "Requesting page N exceeds the allowed maximum of 1000 records.
    To fetch results beyond 1000, use the checkpoint pagination method." when
    N * per_page + per_page > 1000, whatever the role's size (Auth0 Community "Unable to
    paginate more than 1000 records when getting user roles", 2022; errorCode
    UNVERIFIED).  Members are ordered by assignment time, then user_id."""
    role = role_or_404(tenant, match.group(1))
    members = sorted(role["members"].items(), key=lambda item: (item[1], item[0]))
    if query.get("take") is not None or query.get("from") is not None:
        take = query.integer("take", 50, PAGING_DESC["take"], minimum=1, maximum=100)
        if query.get("from"):
            cursor = parse_role_cursor(query.get("from"))
            members = [m for m in members if (m[1], m[0]) > cursor]
        page = members[:take]
        body = {"users": [role_member_view(tenant.user_by_sub(uid)) for uid, _ in page]}
        if len(page) == take:
            body["next"] = role_cursor(page[-1][1], page[-1][0])
        return json_response(200, body)
    page = query.integer("page", 0, PAGING_DESC["page"])
    per_page = query.integer("per_page", 50, PAGING_DESC["per_page"], minimum=1, maximum=100)
    if page * per_page + per_page > MAX_RESULT_WINDOW:
        raise MgmtError(400, f"Requesting page {page} exceeds the allowed maximum of 1000 records. To fetch "
                             "results beyond 1000, use the checkpoint pagination method.", "invalid_paging")
    return _paged(query, [role_member_view(tenant.user_by_sub(uid)) for uid, _ in members], "users")


def mgmt_user_roles(tenant: Tenant, req, query: MgmtQuery, match) -> Response:
    """GET /api/v2/users/{id}/roles: {"roles", "start", "limit", "total"} with
    include_totals (recording TestUserManager_Roles)."""
    user = mgmt_get_user(tenant, match.group(1))
    uid = f"auth0|{user['user_id']}"
    return _paged(query, [role_view(r) for r in tenant.roles.values() if uid in r["members"]], "roles")


# --- connections

def connection_view(tenant: Tenant, conn: dict) -> dict:
    """Keys as the recording (TestJobManager_ExportUsers): id, options, strategy, name,
    is_domain_connection, realms, enabled_clients."""
    options = {"mfa": {"active": True, "return_enroll_settings": True},
               "validation": conn.get("validation"), "passwordPolicy": conn.get("passwordPolicy"),
               "requires_username": bool(conn.get("requires_username")),
               "brute_force_protection": tenant.settings["brute_force_protection"]}
    if conn.get("disable_signup"):
        options["disable_signup"] = True
    return {"id": conn["id"], "options": options, "strategy": "auth0", "name": conn["name"],
            "is_domain_connection": False, "realms": [conn["name"]], "enabled_clients": sorted(tenant.clients)}


CONNECTION_FIELDS = "name,strategy,options,enabled_clients,id,provisioning_ticket_url"


def mgmt_list_connections(tenant: Tenant, req, query: MgmtQuery, match) -> Response:
    """GET /api/v2/connections?name=&strategy=: all connections here are database
    connections (strategy auth0).  include_totals: {"total", "start", "limit",
    "connections"} (recording)."""
    name = query.get("name")
    strategies = query.all("strategy")
    fields = parse_fields(query, "A comma separated list of fields to include or exclude (depending on "
                                 "include_fields) from the result, empty to retrieve all fields", CONNECTION_FIELDS)
    include = query.boolean("include_fields", True, "<code>true</code> if the fields specified are to be included "
                                                    "in the result, <code>false</code> otherwise (defaults to "
                                                    "<code>true</code>)")
    conns = [select_fields(connection_view(tenant, c), fields, include) for c in tenant.connections.values()
             if (name is None or c["name"] == name) and (not strategies or "auth0" in strategies)]
    page = query.integer("page", 0, "The page number. Zero based")
    per_page = query.integer("per_page", 50, "The amount of entries per page. Defaults to 100 if not provided",
                             minimum=1, maximum=100)
    start = page * per_page
    window = conns[start:start + per_page]
    if not query.boolean("include_totals", False, "true if a query summary must be included in the result, false "
                                                  "otherwise. Not returned when using checkpoint pagination. "
                                                  "Default <code>false</code>"):
        return json_response(200, window)
    return json_response(200, {"total": len(conns), "start": start, "limit": per_page, "connections": window})


# --- user exports

EXPORT_KEY_PAIR_ID = "APKAFAKETENANTEXPORTS"
EXPORT_TENANT_NAME = "fake-tenant"
EXPORT_DESC = {
    "connection_id": "connection_id of the connection from which users will be exported",
    "format": "Format of the file. Must be `json` or `csv`",
    "limit": "Limit the number of records",
    "fields": "List of fields to be included in the CSV. Defaults to a predefined set of fields",
}
# When the request names no fields (oas: "Defaults to a predefined set of fields"; which
# set is UNVERIFIED).
EXPORT_DEFAULT_FIELDS = ["user_id", "email", "email_verified", "username", "name", "nickname", "created_at",
                         "updated_at", "last_login", "logins_count", "blocked"]
CSV_MAX_FIELDS = 30  # "Data exports in CSV format are limited to 30 fields."
ISO_DATE_FIELDS = {"created_at", "updated_at", "last_login", "last_password_reset"}


def _export_path(name: str) -> list:
    parts = []
    for piece in name.split("."):
        m = re.fullmatch(r"([^\[\]]+)((?:\[\d+\])*)", piece)
        if not m:
            return None
        parts.append(m.group(1))
        parts.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    return parts


def _export_value(view: dict, parts: list):
    node = view
    for part in parts:
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                return None
        elif not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _csv_cell(name: str, value) -> str:
    """OWASP escaping of strings: a double quote doubled, a single quote prepended,
    the whole wrapped in double quotes; not for Auth0's ISO dates (docs-v2
    manage-users/user-migration/bulk-user-exports)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if name in ISO_DATE_FIELDS:
        return str(value)
    return '"\'' + str(value).replace('"', '""') + '"'


def export_file(tenant: Tenant, job: dict) -> bytes:
    """The gzipped export: NDJSON (one object per line, each line ending in a newline,
    keys in the order of `fields`, each named by export_as or else name, absent values
    left out: a real export, github.com/ConductorOne/baton-auth0 pkg/connector/client/
    asset/test.json.gz, 2025) or CSV (a header line of the column names, UNVERIFIED line
    ends \\n).  A dotted or indexed name ("identities[0].connection",
    "app_metadata.posix.uid") becomes one flat key named as given (UNVERIFIED for
    JSON); {"name": "app_metadata"} exports the whole object (docs)."""
    conn_name = job.get("connection")
    users = [u for u in tenant.users.values() if conn_name is None or u.get("connection") == conn_name]
    if "limit" in job:
        users = users[:job["limit"]]
    columns = [(f.get("export_as") or f["name"], _export_path(f["name"]), f["name"]) for f in job["fields"]]
    lines = []
    if job["format"] == "csv":
        lines.append(",".join(c[0] for c in columns))
    for user in users:
        view = mgmt_user(user)
        if job["format"] == "json":
            row = {}
            for key, parts, _ in columns:
                value = _export_value(view, parts)
                if value is not None:
                    row[key] = value
            lines.append(json_bytes(row).decode())
        else:
            lines.append(",".join(_csv_cell(name, _export_value(view, parts)) for _, parts, name in columns))
    text = "".join(line + "\n" for line in lines)
    return gzip.compress(text.encode("utf-8"), mtime=0)


def job_view(job: dict, location: str = None) -> dict:
    """Keys as Auth0 sends them: type, status, connection_id, format, limit, fields,
    location (completed), connection, created_at, id (recording TestJobManager_ExportUsers
    for a new job; docs articles/users/guides/bulk-user-exports.md for a completed one)."""
    view = {"type": "users_export", "status": job["status"]}
    if job.get("connection_id"):
        view["connection_id"] = job["connection_id"]
    view["format"] = job["format"]
    if "limit" in job:
        view["limit"] = job["limit"]
    view["fields"] = job["fields"]
    if location:
        view["location"] = location
    if job.get("connection"):
        view["connection"] = job["connection"]
    view.update(created_at=job["created_at"], id=job["id"])
    return view


def validate_export_fields(value, fmt: str) -> list:
    if not isinstance(value, list):
        raise payload_error("fields", f"Expected type array but found type {_json_type(value)}",
                            EXPORT_DESC["fields"])
    fields = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise payload_error("fields", "Missing required property: name", EXPORT_DESC["fields"])
        if len(item["name"]) > 100 or len(item.get("export_as") or "") > 100:
            raise payload_error("fields", "String is too long (more than 100 chars)", EXPORT_DESC["fields"])
        if _export_path(item["name"]) is None:
            raise payload_error("fields", f"Invalid field name: {item['name']}", EXPORT_DESC["fields"])
        if fmt == "csv" and item["name"] in ("app_metadata", "user_metadata", "identities"):
            # "Data exports in CSV format cannot include app_metadata or user_metadata as
            # single objects" (docs); the answer is UNVERIFIED.
            raise MgmtError(400, f"Cannot export the object {item['name']} in CSV format; name its fields.",
                            "invalid_body")
        entry = {"name": item["name"]}
        if item.get("export_as"):
            entry["export_as"] = item["export_as"]
        fields.append(entry)
    if fmt == "csv" and len(fields) > CSV_MAX_FIELDS:
        raise MgmtError(400, f"CSV exports are limited to {CSV_MAX_FIELDS} fields.", "invalid_body")  # UNVERIFIED
    return fields


def mgmt_create_export(tenant: Tenant, req, query: MgmtQuery, match) -> Response:
    """POST /api/v2/jobs/users-exports: 200 (not 201) with the pending job (recording
    TestJobManager_ExportUsers; oas "200 Job created successfully.").  Without
    connection_id the job exports every connection's users (docs)."""
    try:
        body = json.loads(req.body or b"{}")
    except ValueError:
        raise MgmtError(400, "Invalid request payload JSON format")  # hapi's text; UNVERIFIED
    if not isinstance(body, dict):
        raise MgmtError(400, "Invalid request payload JSON format")
    conn = None
    if "connection_id" in body:
        cid = body["connection_id"]
        if not isinstance(cid, str) or not ID_SHAPES["con"].match(cid):
            raise payload_error("connection_id", f"String does not match pattern ^con_[A-Za-z0-9]{{16}}$: {cid}",
                                EXPORT_DESC["connection_id"])
        conn = next((c for c in tenant.connections.values() if c["id"] == cid), None)
        if conn is None:
            raise MgmtError(400, "The connection does not exist.", "inexistent_connection")  # UNVERIFIED
    fmt = body.get("format", "csv")  # default UNVERIFIED
    if fmt not in ("json", "csv"):
        raise payload_error("format", f'No enum match for: "{fmt}"', EXPORT_DESC["format"])
    job = {"id": new_id("job"), "status": "pending", "format": fmt, "created_at": iso_ms(now_ms()), "polls": 0,
           "connection_id": conn["id"] if conn else None, "connection": conn["name"] if conn else None}
    if "limit" in body:
        limit = body["limit"]
        if not isinstance(limit, int) or isinstance(limit, bool):
            raise payload_error("limit", f"Expected type integer but found type {_json_type(limit)}",
                                EXPORT_DESC["limit"])
        if limit < 1:
            raise payload_error("limit", f"Value {limit} is less than minimum 1", EXPORT_DESC["limit"])
        job["limit"] = limit
    job["fields"] = validate_export_fields(body["fields"], fmt) if "fields" in body else [
        {"name": n} for n in EXPORT_DEFAULT_FIELDS]
    tenant.jobs[job["id"]] = job
    return json_response(200, job_view(job))


def export_location(tenant: Tenant, job: dict) -> str:
    """A signed download link valid export_link_lifetime seconds, like the CloudFront
    URL Auth0 hands out (https://user-exports.auth0.com/job_.../TENANT.csv.gz?Expires=
    ...&Key-Pair-Id=...&Signature=..., docs articles/users/guides/bulk-user-exports.md).
    It is on the fake's own host; it takes no Authorization header."""
    path = f"/user-exports/{job['id']}/{EXPORT_TENANT_NAME}.{job['format']}.gz"
    expires = int(time.time()) + int(tenant.settings["export_link_lifetime"])
    return (f"{tenant.issuer}{path[1:]}?Expires={expires}&Key-Pair-Id={EXPORT_KEY_PAIR_ID}"
            f"&Signature={export_signature(tenant, path, expires)}")


def export_signature(tenant: Tenant, path: str, expires: int) -> str:
    return b64url(hmac.new(tenant.export_key, f"{path}?Expires={expires}".encode(), hashlib.sha256).digest())


def mgmt_get_job(tenant: Tenant, req, query: MgmtQuery, match) -> Response:
    """GET /api/v2/jobs/{id}: "pending" for export_pending_polls polls, then
    "completed" with a fresh `location` on every poll (the link lasts 60 s; "If this
    time period expires, you have 24 hours to call it again", docs).  The file holds
    the users as they are when the job completes."""
    job = tenant.jobs.get(unquote(match.group(1)))
    if job is None:
        raise MgmtError(404, "The job does not exist.", "inexistent_job")  # UNVERIFIED wording
    job["polls"] += 1
    if job["status"] == "pending" and job["polls"] > tenant.settings["export_pending_polls"]:
        job["file"] = export_file(tenant, job)
        job["status"] = "completed"
    location = export_location(tenant, job) if job["status"] == "completed" else None
    return json_response(200, job_view(job, location))


def export_download(tenant: Tenant, req: "AppRequest", record: dict) -> Response:
    """GET /user-exports/{job}/{file}?Expires&Key-Pair-Id&Signature: the gzipped file,
    or CloudFront's 403 AccessDenied for an expired or altered link (UNVERIFIED body).
    A request that carries an Authorization header is counted: on Auth0 this host is
    not the tenant, and a client must not send it the Management API token."""
    tenant.stats["exports"]["downloads"] += 1
    if "Authorization" in req.headers:
        tenant.stats["exports"]["downloads_with_authorization"] += 1
    params = parse_qs(req.query or "")
    m = re.fullmatch(r"/user-exports/(job_[A-Za-z0-9]{16})/" + re.escape(EXPORT_TENANT_NAME) + r"\.(json|csv)\.gz",
                     req.path)
    job = tenant.jobs.get(m.group(1)) if m else None
    try:
        expires = int(params.get("Expires", [""])[0])
    except ValueError:
        expires = 0
    signature = params.get("Signature", [""])[0]
    if (job is None or job["status"] != "completed" or expires < time.time()
            or not same_secret(signature, export_signature(tenant, req.path, expires))):
        return Response(403, b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
                             b'<Message>Access denied</Message></Error>', "text/xml")
    return Response(200, job["file"], "application/gzip")  # Content-Type UNVERIFIED


# --- authentication, scopes, rate limit and dispatch

def mgmt_token_claims(tenant: Tenant, req: "AppRequest") -> dict:
    """A Management API token: an access token this tenant signed for
    https://localhost:PORT/api/v2/.  Answers: no bearer 401 "Missing authentication"
    (hapi's text, as Auth0's Management API sends it: UNVERIFIED); a token that does not
    verify 401 "Invalid token" with attributes {"error": "Invalid token"} (a tenant's
    answer quoted in auth0.net users' reports and auth0-python's tests); an expired one
    401 "Expired token received for JSON Web Token validation" (auth0/laravel-auth0
    issue 455); another API's token 401 "Bad audience: <aud>" (UNVERIFIED)."""
    auth = req.headers.get("Authorization", "")
    if not auth.startswith("Bearer ") or not auth[7:].strip():
        raise MgmtError(401, "Missing authentication")
    invalid = MgmtError(401, "Invalid token", attributes={"error": "Invalid token"})
    try:
        header_b64, payload_b64, signature_b64 = auth[7:].strip().split(".")
        header = json.loads(b64url_decode(header_b64))
        key = next(k for k in tenant.keys if k.kid == header.get("kid"))
        if header.get("alg") != "RS256" or not key.verifies(f"{header_b64}.{payload_b64}".encode(),
                                                            b64url_decode(signature_b64)):
            raise invalid
        claims = json.loads(b64url_decode(payload_b64))
    except (AttributeError, ValueError, StopIteration, UnicodeDecodeError):
        raise invalid
    if not isinstance(claims, dict) or claims.get("iss") != tenant.issuer:
        raise invalid
    if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] <= time.time():
        raise MgmtError(401, "Expired token received for JSON Web Token validation")
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if tenant.mgmt_audience not in audiences:
        raise MgmtError(401, f"Bad audience: {' '.join(str(a) for a in audiences)}")
    return claims


def check_scopes(claims: dict, needed) -> None:
    """needed: ("any", scopes) or ("all", scopes).  403 insufficient_scope "Insufficient
    scope, expected any of: read:users" (Auth0 support article "Management API Token
    from API Explorer Tab does not Contain Expected Scopes"; go-auth0
    management_error_test.go); several scopes are joined by "," as hapi joins an
    array (UNVERIFIED), and the "all of" wording is the oas's (UNVERIFIED as sent)."""
    mode, scopes = needed
    have = set(scope_list(claims.get("scope")))
    if (mode == "any" and have & set(scopes)) or (mode == "all" and set(scopes) <= have):
        return
    raise MgmtError(403, f"Insufficient scope, expected {mode} of: {','.join(scopes)}", "insufficient_scope")


# (method, path pattern, route name for the stats, handler, scopes: oas `security`)
MGMT_ROUTES = [
    ("GET", r"/api/v2/users", "GET /api/v2/users", mgmt_list_users, ("any", ["read:users"])),
    ("GET", r"/api/v2/users/([^/]+)/roles", "GET /api/v2/users/{id}/roles", mgmt_user_roles,
     ("all", ["read:users", "read:roles"])),
    ("GET", r"/api/v2/roles", "GET /api/v2/roles", mgmt_list_roles, ("any", ["read:roles"])),
    ("GET", r"/api/v2/roles/([^/]+)/users", "GET /api/v2/roles/{id}/users", mgmt_role_users,
     ("all", ["read:users", "read:roles"])),
    ("GET", r"/api/v2/connections", "GET /api/v2/connections", mgmt_list_connections, ("any", ["read:connections"])),
    ("POST", r"/api/v2/jobs/users-exports", "POST /api/v2/jobs/users-exports", mgmt_create_export,
     ("any", ["read:users"])),
    ("GET", r"/api/v2/jobs/([^/]+)", "GET /api/v2/jobs/{id}", mgmt_get_job, ("any", ["create:users", "read:users"])),
]


def management_api(tenant: Tenant, req: "AppRequest", record: dict) -> Response:
    """Every /api/v2/ request: the rate limit first (every answer carries
    X-RateLimit-Limit, -Remaining and -Reset), then the token, the route and its
    scopes.  Over the limit: 429 {"statusCode":429,"error":"Too Many Requests",
    "message":"Global limit has been reached","errorCode":"too_many_requests"} (the
    message as tenants send it, auth0-java RateLimitException tests; the body shape
    is the Management API's)."""
    stats = tenant.stats["management"]
    stats["requests"] += 1
    route = None
    for method, pattern, name, handler, scopes in MGMT_ROUTES:
        match = re.fullmatch(pattern, req.path)
        if match and method == req.method:
            route = (name, handler, scopes, match)
            break
    name = route[0] if route else f"{req.method} (no route)"
    record["mgmt_route"] = name
    stats["by_route"][name] = stats["by_route"].get(name, 0) + 1
    allowed, remaining, reset = tenant.bucket.take(tenant.settings["mgmt_rate_limit_burst"],
                                                   tenant.settings["mgmt_rate_limit_per_second"], time.time())
    headers = [("X-RateLimit-Limit", str(int(tenant.settings["mgmt_rate_limit_burst"]))),
               ("X-RateLimit-Remaining", str(remaining)), ("X-RateLimit-Reset", str(reset))]
    try:
        if not allowed:
            stats["rate_limited"] += 1
            raise MgmtError(429, "Global limit has been reached", "too_many_requests")
        claims = mgmt_token_claims(tenant, req)
        record.update(client_id=claims.get("azp"), scope=claims.get("scope"))
        if route is None:
            raise MgmtError(404, "Not Found")  # UNVERIFIED body
        name, handler, scopes, match = route
        check_scopes(claims, scopes)
        response = handler(tenant, req, MgmtQuery(req.query), match)
    except MgmtError as err:
        response = json_response(err.status, err.body)
    response.headers = headers + response.headers
    return response


def not_found() -> Response:
    return ApiError(404, "not_found", "Not Found").response()  # UNVERIFIED body


ROUTES = {
    ("POST", "/oauth/token"): (token_endpoint, NO_STORE),
    ("POST", "/oauth/revoke"): (revoke_endpoint, []),
    ("GET", "/mfa/authenticators"): (mfa_authenticators, []),
    ("POST", "/mfa/challenge"): (mfa_challenge, []),
    ("POST", "/dbconnections/signup"): (signup_endpoint, []),
    ("POST", "/mfa/associate"): (mfa_associate, []),
    ("POST", "/dbconnections/change_password"): (change_password_endpoint, []),
    ("POST", "/passwordless/start"): (passwordless_start, []),
    ("GET", "/userinfo"): (userinfo_endpoint, []),
    ("POST", "/userinfo"): (userinfo_endpoint, []),
    ("GET", "/.well-known/jwks.json"): (jwks_endpoint, []),
    ("GET", "/.well-known/openid-configuration"): (openid_configuration, []),
    ("POST", "/oauth/device/code"): (device_code_endpoint, NO_STORE),
}


def run_app(tenant: Tenant, req: AppRequest, record: dict) -> Response:
    route, headers = ROUTES.get((req.method, req.path), (None, []))
    if route is None and req.path.startswith(MGMT_PREFIX):
        route = management_api
    elif route is None and req.method == "GET" and req.path.startswith("/user-exports/"):
        route = export_download
    elif route is None and (req.path == RESOURCE_PREFIX or req.path.startswith(RESOURCE_PREFIX + "/")):
        route = resource_endpoint
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

# ------------------------------------------------------------------ the tenant's clock
#
# Every answer carries a Date header (RFC 7231 7.1.1.2, "An origin server MUST send a Date
# header field if [it] has a clock"), in IMF-fixdate, as Auth0's do; http.server sends it from
# date_time_string.  POST /__control/clock {"skew": seconds} moves the time that header says by
# skew seconds (negative: behind) on every listener, so that a client can measure the host's
# clock against the tenant's (auth0-pam check's clock-skew finding).  Only the Date header:
# tokens' iat and exp, and every check of the tenant, keep the real time.  A reset puts it back
# to 0.

CLOCK_MAX_SKEW = 10 * 365 * 86400


def clock_date_header(tenant: "Tenant", timestamp=None) -> str:
    """The Date header's value: IMF-fixdate (email.utils.formatdate with usegmt, as
    http.server's own date_time_string) of now plus the tenant's skew."""
    now = time.time() if timestamp is None else timestamp
    return email.utils.formatdate(now + tenant.clock_skew, usegmt=True)


def control_clock(tenant: "Tenant", payload: dict):
    skew = payload.get("skew", 0)
    if isinstance(skew, bool) or not isinstance(skew, int) or abs(skew) > CLOCK_MAX_SKEW:
        raise ControlError(f"skew must be an integer number of seconds, at most {CLOCK_MAX_SKEW} either way")
    tenant.clock_skew = skew
    return {"ok": True, "skew": skew}

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
    for key in ("seconds", "interval", "bytes", "retry_after", "skip"):
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
    if "dpop_nonce" in payload and payload["dpop_nonce"] not in DPOP_NONCE_MODES:
        raise ControlError(f"dpop_nonce must be one of {list(DPOP_NONCE_MODES)}")
    for key in SETTABLE - STRING_SETTINGS - BOOLEAN_SETTINGS:
        if key in payload:
            _number(payload, key, None)
    if "brute_force_max_attempts" in payload and not (
            isinstance(payload["brute_force_max_attempts"], int) and 1 <= payload["brute_force_max_attempts"] <= 100):
        raise ControlError("brute_force_max_attempts must be an integer from 1 to 100")  # Auth0's range
    for key in ("mgmt_rate_limit_burst", "mgmt_rate_limit_per_second"):
        if key in payload and payload[key] <= 0:
            raise ControlError(f"{key} must be above 0")
    if "export_pending_polls" in payload and not isinstance(payload["export_pending_polls"], int):
        raise ControlError("export_pending_polls must be an integer")
    tenant.settings.update(payload)
    if {"mgmt_rate_limit_burst", "mgmt_rate_limit_per_second"} & set(payload):
        tenant.bucket = TokenBucket()  # a new policy starts with a full bucket
    return {k: tenant.settings[k] for k in sorted(SETTABLE)}


def control_get_settings(tenant: Tenant, payload: dict):
    return {k: tenant.settings[k] for k in sorted(SETTABLE)}


def control_rotate_key(tenant: Tenant, payload: dict):
    tenant.keys.append(SigningKey())
    return {"kid": tenant.key.kid, "kids": [k.kid for k in reversed(tenant.keys)]}


def control_rotate_dpop_nonce(tenant: Tenant, payload: dict):
    """A new token-endpoint DPoP nonce; proofs with the old one get use_dpop_nonce (the
    server keeps no window of recent nonces: UNVERIFIED how long Auth0 takes old ones)."""
    tenant.dpop_nonce = new_dpop_nonce()
    return {"ok": True, "nonce": tenant.dpop_nonce}


def control_resource_server(tenant: Tenant, payload: dict):
    """{"identifier": an API or the Management API's audience, "proof_of_possession":
    {...} or null}: that API's sender-constraining policy, as the Management API's
    PATCH /api/v2/resource-servers/{id} sets it."""
    identifier = payload.get("identifier")
    if identifier == "management":
        identifier = tenant.mgmt_audience
    server = tenant.resource_servers.get(identifier)
    if server is None:
        raise ControlError(f"no such API: {identifier!r}; APIs: {sorted(tenant.resource_servers)}")
    if set(payload) - {"identifier", "proof_of_possession"}:
        raise ControlError("only identifier and proof_of_possession may be given")
    try:
        server["proof_of_possession"] = check_proof_of_possession(payload.get("proof_of_possession"))
    except ValueError as err:
        raise ControlError(str(err))
    return {"ok": True, "identifier": identifier, "proof_of_possession": server["proof_of_possession"]}


def _update_entity(table: dict, key_field: str, payload: dict):
    entity = table.get(payload.get(key_field))
    if entity is None:
        raise ControlError(f"no such {key_field}: {payload.get(key_field)!r}")
    entity.update({k: v for k, v in payload.items() if k != key_field})
    return {"ok": True}


def control_user(tenant: Tenant, payload: dict):
    """Updates a user, chosen by "user_id" (with or without auth0|) or by "username"
    (the user's key: its username, or its email if it has none).  Every change but
    `mfa` and `brute_force` bumps updated_at, as a Management API update does; a
    `password` also sets last_password_reset and lifts the user's brute-force blocks."""
    payload = dict(payload)
    if "user_id" in payload:
        uid = str(payload.pop("user_id"))
        user = tenant.by_id.get(uid[len("auth0|"):] if uid.startswith("auth0|") else uid)
        if user is None:
            raise ControlError(f"no such user_id: {uid!r}")
    else:
        user = tenant.users.get(payload.pop("username", None))
        if user is None:
            raise ControlError("no such username; give \"username\" (the user's key) or \"user_id\"")
    for key in ("created_at", "updated_at", "_key"):
        if key in payload:
            raise ControlError(f"{key} cannot be set")
    if "roles" in payload:
        raise ControlError("use /__control/role-members to change a user's roles")
    bump = bool(set(payload) - {"mfa", "brute_force"})
    if "password" in payload:
        payload["last_password_reset"] = iso_ms(now_ms())
        for key in [k for k in tenant.failed_logins if k[0] == user["user_id"]]:
            del tenant.failed_logins[key]
    tenant.change_user(user, payload, bump=bump)
    return {"ok": True, "user": mgmt_user(user)}


CREATE_FIELDS = {"user_id", "username", "email", "password", "connection", "name", "nickname", "given_name",
                 "family_name", "picture", "email_verified", "blocked", "app_metadata", "user_metadata",
                 "extra_claims", "mfa", "mfa_required", "otp_secret", "roles", "created_at", "updated_at"}


def _new_user(tenant: Tenant, payload: dict, user_id: str = None) -> dict:
    unknown = set(payload) - CREATE_FIELDS
    if unknown:
        raise ControlError(f"unknown user fields {sorted(unknown)}; known: {sorted(CREATE_FIELDS)}")
    conn = payload.get("connection") or tenant.settings["default_directory"]
    if conn not in tenant.connections:
        raise ControlError(f"no such connection: {conn!r}")
    email = payload.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise ControlError("email is required")
    username = payload.get("username")
    if tenant.connections[conn]["requires_username"] and not username:
        raise ControlError(f"connection {conn} requires a username")
    uid = str(payload.get("user_id") or user_id or secrets.token_hex(12))
    if uid.startswith("auth0|"):
        uid = uid[len("auth0|"):]
    if uid in tenant.by_id:
        raise ControlError(f"user_id {uid} exists")
    for login in (email, username):
        if login and (conn, login.lower()) in tenant.login_index:
            raise ControlError(f"{login} already exists in {conn}")
    user = {k: v for k, v in payload.items() if k not in ("otp_secret", "roles")}
    user.update(user_id=uid, connection=conn, email=email.lower(), password=payload.get("password") or
                secrets.token_urlsafe(24), extra_claims=payload.get("extra_claims", {}),
                mfa=list(payload.get("mfa", [])), email_verified=bool(payload.get("email_verified", False)))
    if username:
        user["username"] = username.lower()
    if payload.get("otp_secret"):
        user["mfa"].append({"id": f"totp|dev_{secrets.token_hex(8)}", "authenticator_type": "otp", "active": True,
                            "totp_secret": payload["otp_secret"]})
    return user


def _assign_roles(tenant: Tenant, user: dict, roles, stamp: int) -> None:
    for ref in roles or []:
        role = find_role(tenant, ref)
        role["members"][f"auth0|{user['user_id']}"] = stamp


def control_create_user(tenant: Tenant, payload: dict):
    """Creates one user in the store the login grants and the Management API share:
    it signs in with its password (and OTP when enrolled: `otp_secret` or `mfa`)."""
    user = _new_user(tenant, payload)
    try:
        for name in ("created_at", "updated_at"):
            if name in payload:
                parse_iso_ms(payload[name])
    except ValueError as err:
        raise ControlError(str(err))
    if "roles" in payload:
        for ref in payload["roles"]:
            find_role(tenant, ref)
    tenant.add_user(user)
    _assign_roles(tenant, user, payload.get("roles"), now_ms())
    return {"ok": True, "key": user_key(user), "user": mgmt_user(user)}


def _fill(template, **values):
    """Fills {n}, {username} and {uid} in a bulk template; a string that is exactly
    "{n}" or "{uid}" becomes that integer."""
    if isinstance(template, str):
        if template in ("{n}", "{uid}"):
            return values[template[1:-1]]
        return template.format(**values)
    if isinstance(template, dict):
        return {k: _fill(v, **values) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, **values) for v in template]
    return template


def control_create_users(tenant: Tenant, payload: dict):
    """Bulk-creates `count` users from a pattern, fast enough for 100,000: n runs from
    `start`; "username" (default "bulk{n:06d}"), "email" (default
    "{username}@bulk.example.com"), "password" (default "Secret-{username}-1") and
    any other user field may use {n}, {username} and {uid} (= uid_base + n).  All get
    the same created_at and updated_at (as a bulk import does), unless spread_ms."""
    count = payload.get("count")
    if not isinstance(count, int) or not 1 <= count <= 1_000_000:
        raise ControlError("count must be an integer from 1 to 1000000")
    start, uid_base, spread = payload.get("start", 0), payload.get("uid_base", 100000), payload.get("spread_ms", 0)
    for name, value in (("start", start), ("uid_base", uid_base), ("spread_ms", spread)):
        if not isinstance(value, int) or value < 0:
            raise ControlError(f"{name} must be a non-negative integer")
    template = {k: v for k, v in payload.items() if k not in ("count", "start", "uid_base", "spread_ms", "roles")}
    template.setdefault("username", "bulk{n:06d}")
    template.setdefault("email", "{username}@bulk.example.com")
    template.setdefault("password", "Secret-{username}-1")
    template.setdefault("email_verified", True)
    unknown = set(template) - CREATE_FIELDS - {"otp_secret"}
    if unknown or "user_id" in template:
        raise ControlError(f"unknown or per-user-only fields {sorted(unknown | ({'user_id'} & set(template)))}")
    roles = [find_role(tenant, ref) for ref in payload.get("roles", [])]
    conn = template.pop("connection", None) or tenant.settings["default_directory"]
    if conn not in tenant.connections:
        raise ControlError(f"no such connection: {conn!r}")
    # Fields without a placeholder are shared, the others filled per user: 100,000
    # users in about a second.
    fmt_username, fmt_email, fmt_password = (template.pop(k) for k in ("username", "email", "password"))
    dynamic = {k: v for k, v in template.items() if "{" in json.dumps(v)}
    static = {k: v for k, v in template.items() if k not in dynamic}
    stamp = now_ms()
    users, seen = [], set()
    try:
        for n in range(start, start + count):
            username = fmt_username.format(n=n).lower()
            email = fmt_email.format(n=n, username=username).lower()
            for login in (username, email):
                if (conn, login) in tenant.login_index or (conn, login) in seen:
                    raise ControlError(f"{login} already exists in {conn}")
                seen.add((conn, login))
            user = dict(static)
            for key, value in dynamic.items():
                user[key] = _fill(value, n=n, username=username, uid=uid_base + n)
            user["user_id"] = "6b%022x" % next(tenant.bulk_ids)
            user["username"] = user["_key"] = username
            user["email"] = email
            user["connection"] = conn
            user["password"] = fmt_password.format(n=n, username=username)
            user["extra_claims"] = user.get("extra_claims", {})
            user["mfa"] = list(user.get("mfa", []))
            users.append(user)
    except (KeyError, IndexError, ValueError) as err:
        raise ControlError(f"bad template: {err!r}")
    if tenant.settings["search_lag_seconds"] or spread:
        for i, user in enumerate(users):
            del user["_key"]
            tenant.add_user(user, stamp + i * spread)
    else:  # add_user's work, inlined for speed
        stamp_iso = iso_ms(stamp)
        by_key, by_id, index = tenant.users, tenant.by_id, tenant.login_index
        for user in users:
            user["created_at"] = user["updated_at"] = stamp_iso
            user["_created_at_ms"] = user["_updated_at_ms"] = stamp
            if user["_key"] in by_key:  # the same name in another connection
                user["_key"] = f"{user['_key']}#{conn}"
            by_key[user["_key"]] = by_id[user["user_id"]] = user
            index[(conn, user["username"])] = user
            index.setdefault((conn, user["email"]), user)
    for role in roles:
        role["members"].update((f"auth0|{user['user_id']}", user["_created_at_ms"]) for user in users)
    return {"ok": True, "created": count, "first_user_id": f"auth0|{users[0]['user_id']}",
            "last_user_id": f"auth0|{users[-1]['user_id']}", "users": len(tenant.users)}


def control_delete_user(tenant: Tenant, payload: dict):
    """Deletes a user ("user_id" or "username"): gone from logins, search (after the
    search lag), exports and roles; its refresh tokens stop working."""
    if "user_id" in payload:
        uid = str(payload["user_id"])
        user = tenant.by_id.get(uid[len("auth0|"):] if uid.startswith("auth0|") else uid)
    else:
        user = tenant.users.get(payload.get("username"))
    if user is None:
        raise ControlError("no such user")
    tenant.delete_user(user)
    return {"ok": True}


def find_role(tenant: Tenant, ref) -> dict:
    role = tenant.roles.get(ref) or next((r for r in tenant.roles.values() if r["name"] == ref), None)
    if role is None:
        raise ControlError(f"no such role: {ref!r}")
    return role


def control_role(tenant: Tenant, payload: dict):
    """Creates a role {"name", "description"?, "id"?}; returns its id."""
    name = payload.get("name")
    if not isinstance(name, str) or not name:
        raise ControlError("name is required")
    if any(r["name"] == name for r in tenant.roles.values()):
        raise ControlError(f"role {name} exists")  # Auth0: 409 "The role already exists."
    role_id = payload.get("id") or new_id("rol")
    if not ID_SHAPES["rol"].match(role_id) or role_id in tenant.roles:
        raise ControlError("id must be a new rol_ and 16 letters or digits")
    tenant.roles[role_id] = {"id": role_id, "name": name, "description": payload.get("description", ""),
                             "members": {}}
    return {"ok": True, "id": role_id}


def control_delete_role(tenant: Tenant, payload: dict):
    role = find_role(tenant, payload.get("id") or payload.get("name"))
    del tenant.roles[role["id"]]
    return {"ok": True}


def _member_id(tenant: Tenant, ref) -> str:
    ref = str(ref)
    user = (tenant.by_id.get(ref[len("auth0|"):] if ref.startswith("auth0|") else ref) or tenant.users.get(ref))
    if user is None:
        raise ControlError(f"no such user: {ref!r}")
    return f"auth0|{user['user_id']}"


def control_role_members(tenant: Tenant, payload: dict):
    """{"role": id or name, "add": [users], "remove": [users]}; users by user_id or key.
    Assigning a role does not change the user's updated_at: roles are not part of the
    user profile (UNVERIFIED, and why an incremental sync must read roles itself)."""
    role = find_role(tenant, payload.get("role"))
    add = [_member_id(tenant, ref) for ref in payload.get("add", [])]
    remove = [_member_id(tenant, ref) for ref in payload.get("remove", [])]
    stamp = now_ms()
    for uid in add:
        role["members"].setdefault(uid, stamp)
    for uid in remove:
        role["members"].pop(uid, None)
    return {"ok": True, "members": len(role["members"])}


def control_client_key(tenant: Tenant, payload: dict):
    """Registers a public key (PEM: SubjectPublicKeyInfo or an X.509 certificate) as a
    private_key_jwt credential of a client, as Auth0's client credentials do (see
    make_credential).  From then on the client's secret is refused."""
    client = tenant.clients.get(payload.get("client_id"))
    if client is None:
        raise ControlError(f"no such client_id: {payload.get('client_id')!r}")
    try:
        credential = make_credential(payload.get("pem", ""), payload.get("alg", "RS256"), payload.get("kid"),
                                     payload.get("expires_at"))
    except ValueError as err:
        raise ControlError(str(err))
    methods = client.setdefault("client_authentication_methods", {})
    methods.setdefault("private_key_jwt", {}).setdefault("credentials", []).append(credential)
    return {"ok": True, "kid": credential["kid"]}


def control_delete_client_key(tenant: Tenant, payload: dict):
    client = tenant.clients.get(payload.get("client_id"))
    if client is None:
        raise ControlError(f"no such client_id: {payload.get('client_id')!r}")
    client.pop("client_authentication_methods", None)
    return {"ok": True}


def control_client_grant(tenant: Tenant, payload: dict):
    """Sets (replaces) a client grant: {"client_id", "audience" ("management" or an
    API), "scope": [...]}; DELETE removes it."""
    client = tenant.clients.get(payload.get("client_id"))
    if client is None:
        raise ControlError(f"no such client_id: {payload.get('client_id')!r}")
    audience = payload.get("audience")
    audience = "{management}" if audience in ("management", tenant.mgmt_audience) else audience
    if not isinstance(audience, str) or not audience:
        raise ControlError("audience is required")
    grants = [g for g in client.get("client_grants", []) if g["audience"] != audience]
    scope = payload.get("scope", [])
    if not isinstance(scope, list) or not all(isinstance(s, str) for s in scope):
        raise ControlError("scope must be a list of strings")
    client["client_grants"] = grants + [{"audience": audience, "scope": scope}]
    return {"ok": True}


def control_delete_client_grant(tenant: Tenant, payload: dict):
    client = tenant.clients.get(payload.get("client_id"))
    if client is None:
        raise ControlError(f"no such client_id: {payload.get('client_id')!r}")
    audience = payload.get("audience")
    audience = "{management}" if audience in ("management", tenant.mgmt_audience) else audience
    client["client_grants"] = [g for g in client.get("client_grants", []) if g["audience"] != audience]
    return {"ok": True}


def control_action(tenant: Tenant, payload: dict):
    """The credentials-exchange Action: {"deny": {"code", "reason"}} or {"claims":
    {...}}, for the next `count` exchanges (1; -1: until cleared), of one `client_id`
    or of all."""
    count = payload.get("count", 1)
    if count != -1 and (not isinstance(count, int) or count < 1):
        raise ControlError("count must be a positive integer or -1")
    action = {"remaining": count, "client_id": payload.get("client_id")}
    if "deny" in payload:
        deny = payload["deny"]
        if not isinstance(deny, dict) or deny.get("code") not in ACTION_DENY_STATUS:
            raise ControlError(f"deny.code must be one of {sorted(ACTION_DENY_STATUS)}")
        action["deny"] = {"code": deny["code"], "reason": str(deny.get("reason", ""))}
    elif isinstance(payload.get("claims"), dict):
        action["claims"] = payload["claims"]
    else:
        raise ControlError('give "deny": {"code", "reason"} or "claims": {...}')
    tenant.cc_action = action
    return {"ok": True}


def control_clear_action(tenant: Tenant, payload: dict):
    tenant.cc_action = None
    return {"ok": True}


def _federated_user(tenant: Tenant, payload: dict) -> dict:
    if "user_id" in payload:
        uid = str(payload["user_id"])
        user = tenant.by_id.get(uid[len("auth0|"):] if uid.startswith("auth0|") else uid)
    else:
        user = tenant.users.get(payload.get("username"))
    if user is None:
        raise ControlError("no such user; give \"user_id\" (with or without auth0|) or \"username\"")
    return user


def control_federated(tenant: Tenant, payload: dict):
    """Stores a user's connected account in Token Vault, as the Connected Accounts flow
    would: {"user_id" or "username", "connection" (one of federated_connections),
    "access_token"? (else made up), "expires_in" (3600; 0: already expired),
    "refresh_token"? (without one an expired access token cannot be renewed),
    "scope" (string or list), "login_hint"? (tells several accounts at one connection
    apart), "refresh_fails"? (renewal fails: federated_connection_refresh_token_flow_failed)}.
    An account with the same login_hint is replaced.  An exchange without login_hint
    gets the first account stored (UNVERIFIED which one a tenant picks)."""
    user = _federated_user(tenant, payload)
    connection = payload.get("connection")
    if connection not in tenant.settings["federated_connections"]:
        raise ControlError(f"connection must be one of {tenant.settings['federated_connections']}")
    lifetime = _number(payload, "expires_in", 3600)
    scope = payload.get("scope", "")
    scopes = scope_list(scope) if isinstance(scope, str) else scope
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise ControlError("scope must be a string or a list of strings")
    for name in ("access_token", "refresh_token", "login_hint"):
        if payload.get(name) is not None and not isinstance(payload[name], str):
            raise ControlError(f"{name} must be a string")
    account = {"login_hint": payload.get("login_hint"),
               "access_token": payload.get("access_token") or new_secret("federated_access_token", 32),
               "lifetime": lifetime if lifetime > 0 else 3600, "expires_at": time.time() + lifetime,
               "refresh_token": payload.get("refresh_token"), "scopes": scopes,
               "refresh_fails": bool(payload.get("refresh_fails"))}
    key = (f"auth0|{user['user_id']}", connection)
    accounts = tenant.federated.setdefault(key, [])
    same = [i for i, a in enumerate(accounts) if a["login_hint"] == account["login_hint"]]
    if same:
        accounts[same[0]] = account  # in place: without login_hint the first account answers
    else:
        accounts.append(account)
    return {"ok": True, "user_id": key[0], "connection": connection, "accounts": len(tenant.federated[key])}


def control_delete_federated(tenant: Tenant, payload: dict):
    """{"user_id" or "username", "connection"?, "login_hint"?}: forgets the accounts."""
    user = _federated_user(tenant, payload)
    uid = f"auth0|{user['user_id']}"
    removed = 0
    for key in [k for k in tenant.federated if k[0] == uid and payload.get("connection") in (None, k[1])]:
        kept = [a for a in tenant.federated[key]
                if "login_hint" in payload and a["login_hint"] != payload["login_hint"]]
        removed += len(tenant.federated[key]) - len(kept)
        if kept:
            tenant.federated[key] = kept
        else:
            del tenant.federated[key]
    return {"ok": True, "removed": removed}


def control_reset_stats(tenant: Tenant, payload: dict):
    """Clears the request log and the counters, keeping users, roles, tokens and
    settings: "this sync run took N Management API requests"."""
    tenant.log = []
    tenant.stats = new_stats()
    tenant.generation += 1
    return {"ok": True}


def control_connection(tenant: Tenant, payload: dict):
    if "passwordPolicy" in payload and payload["passwordPolicy"] not in PASSWORD_POLICIES:
        raise ControlError(f"passwordPolicy must be one of {sorted(PASSWORD_POLICIES)}")
    return _update_entity(tenant.connections, "name", payload)


def control_stats(tenant: Tenant, payload: dict):
    stats = json.loads(json.dumps(tenant.stats))
    stats["users"] = len(tenant.users)
    stats["failed_logins"] = [
        {"username": user_key(tenant.by_id[user_id]) if user_id in tenant.by_id else None,
         "user_id": user_id, "ip": ip, "failures": count,
         "blocked": brute_force_blocked(tenant, {"user_id": user_id}, ip)}
        for (user_id, ip), count in tenant.failed_logins.items()]
    return stats


def control_client(tenant: Tenant, payload: dict):
    """Shallow-updates a client; a token_vault_privileged_access given replaces the
    client's, its credentials written as in the data file (pem or pem_file)."""
    if "require_proof_of_possession" in payload and not isinstance(payload["require_proof_of_possession"], bool):
        raise ControlError("require_proof_of_possession must be true or false")
    privileged = payload.get("token_vault_privileged_access")
    if isinstance(privileged, dict):
        base_dir = os.path.dirname(os.path.abspath(tenant.data_path))
        try:
            privileged = {**privileged, "credentials": load_credentials(privileged.get("credentials", []), base_dir)}
        except (OSError, KeyError, ValueError) as err:
            raise ControlError(f"token_vault_privileged_access.credentials: {err}")
        payload = {**payload, "token_vault_privileged_access": privileged}
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
    ("GET", "log"): lambda t, p: [{k: v for k, v in r.items() if not k.startswith("_")} for r in t.log],
    ("GET", "stats"): control_stats,
    ("POST", "fault"): control_fault,
    ("DELETE", "fault"): control_clear_faults,
    ("GET", "settings"): control_get_settings,
    ("POST", "settings"): control_settings,
    ("POST", "rotate-key"): control_rotate_key,
    ("POST", "rotate-dpop-nonce"): control_rotate_dpop_nonce,
    ("POST", "resource-server"): control_resource_server,
    ("POST", "user"): control_user,
    ("POST", "client"): control_client,
    ("POST", "connection"): control_connection,
    ("POST", "expire-mfa-tokens"): control_expire_mfa_tokens,
    ("POST", "create-user"): control_create_user,
    ("POST", "create-users"): control_create_users,
    ("DELETE", "user"): control_delete_user,
    ("POST", "role"): control_role,
    ("DELETE", "role"): control_delete_role,
    ("POST", "role-members"): control_role_members,
    ("POST", "client-key"): control_client_key,
    ("DELETE", "client-key"): control_delete_client_key,
    ("POST", "client-grant"): control_client_grant,
    ("DELETE", "client-grant"): control_delete_client_grant,
    ("POST", "action"): control_action,
    ("DELETE", "action"): control_clear_action,
    ("POST", "reset-stats"): control_reset_stats,
    ("POST", "federated"): control_federated,
    ("DELETE", "federated"): control_delete_federated,
    ("GET", "outbox"): control_outbox,
    ("POST", "associate"): control_associate,
    ("POST", "passwordless"): control_passwordless,
    ("GET", "passwordless/outbox"): control_passwordless_outbox,
    ("DELETE", "passwordless/outbox"): control_clear_passwordless_outbox,
    ("POST", "cte-profile"): control_cte_profile,
    ("DELETE", "cte-profile"): control_delete_cte_profile,
    ("POST", "cte-subject-token"): control_cte_subject_token,
    ("POST", "device"): control_device,
    ("GET", "device"): control_device_list,
    ("POST", "device-approve"): control_device_approve,
    ("POST", "device-deny"): control_device_deny,
    ("POST", "device-expire"): control_device_expire,
    ("POST", "clock"): control_clock,
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

    def date_time_string(self, timestamp=None):
        return clock_date_header(self.server.tenant, timestamp)  # the tenant's clock section

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
        path, query = urlsplit(self.path).path, urlsplit(self.path).query
        first_request = self.requests_seen == 0
        self.requests_seen += 1
        tenant = self.server.tenant
        if self.server.is_main and path.startswith(CONTROL_PREFIX):
            if first_request:
                tenant.reclassify_as_control(self.generation)
            self.send(handle_control(tenant, self.command, path, body))
            return
        peer = self.client_address[0]
        req = AppRequest(self.command, path, self.headers, body, peer, query)
        record = tenant.begin_record(
            conn=self.conn_id, listener=self.server.name, method=self.command, path=path,
            content_type=self.headers.get("Content-Type"),
            auth0_forwarded_for=self.headers.get("auth0-forwarded-for"), ip=peer, client_ip=peer,
            has_authorization="Authorization" in self.headers,
            user_agent=self.headers.get("User-Agent"),
            # The Management API's query strings hold no secret; an export link's does.
            query=query if path.startswith(MGMT_PREFIX) else None,
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
        # get-user-info.mdx; Reset is epoch seconds); body text UNVERIFIED.  On the
        # Management API the body has that API's shape (management_api).
        headers = [("X-RateLimit-Limit", "10"), ("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", str(reset))]
        if "retry_after" in params:
            headers.append(("Retry-After", str(int(params["retry_after"]))))
        if urlsplit(self.path).path.startswith(MGMT_PREFIX):
            body = MgmtError(429, "Global limit has been reached", "too_many_requests").body
        else:
            body = {"error": "too_many_requests", "error_description": "Global limit has been reached"}
        self.send(json_response(429, body, headers))
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
    # OAuth answers carry "error"; /dbconnections answers may carry "code" instead; the
    # Management API's "errorCode" (else its "error", e.g. "Unauthorized").
    if not isinstance(body, dict):
        return None
    return body.get("errorCode") or body.get("error") or body.get("code")


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
