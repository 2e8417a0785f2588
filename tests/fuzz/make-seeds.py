#!/usr/bin/python3
"""Write the fuzzers' seed corpora, tests/fuzz/corpus/<target>/: Auth0-shaped answers, real
configurations and ID tokens signed with the fuzzers' own keys (fuzz_keys.h). Run it again
after changing the formats; the files are committed so a fresh clone fuzzes from them."""
import base64
import gzip
import json
import os
import re
import struct
import sys

from cryptography.hazmat.primitives import hashes, serialization
import hashlib
import struct

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")
NOW = 1700000000
ISS = "https://tenant.example.com/"
AUD = "pam-native"


def keys_header():
    text = open(os.path.join(HERE, "fuzz_keys.h")).read()

    def pem(name):  # the C literal's lines, one "...\n" string per line
        body = re.search(name + r"\[\] =\n(.*?);\n", text, re.S).group(1)
        return ("\n".join(re.findall(r'"(.*?)\\n"', body)) + "\n").encode()

    jwks = json.loads("".join(re.findall(r'"((?:[^"\\]|\\.)*)"',
                                         re.search(r"fuzz_jwks\[\] =\n(.*?);\n", text, re.S).group(1)))
                      .replace('\\"', '"'))
    return (serialization.load_pem_private_key(pem("fuzz_rsa_pem"), None),
            serialization.load_pem_private_key(pem("fuzz_ec_pem"), None), jwks,
            serialization.load_pem_private_key(pem("fuzz_ed25519_pem"), None))


RSA, EC, JWKS, ED25519 = keys_header()


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def sign(alg, header, payload):
    data = (b64(json.dumps(header, separators=(",", ":")).encode()) + "." +
            b64(json.dumps(payload, separators=(",", ":")).encode())).encode()
    if alg == "RS256":
        sig = RSA.sign(data, padding.PKCS1v15(), hashes.SHA256())
    elif alg == "PS256":
        sig = RSA.sign(data, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    else:
        r, s = decode_dss_signature(EC.sign(data, ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return data.decode() + "." + b64(sig)


def claims(**over):
    c = {"nickname": "a0alice", "name": "Alice Example", "email": "a0alice@example.com",
         "email_verified": True, "https://example.com/groups": ["admins", "dev"],
         "iss": ISS, "aud": AUD, "sub": "auth0|6a0000000000000000000001",
         "iat": NOW, "exp": NOW + 36000, "sid": "Sx4zWm0b2a", "nonce": None}
    c.pop("nonce")
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def j(obj):
    return json.dumps(obj, separators=(",", ":"))


ID_TOKEN = sign("RS256", {"alg": "RS256", "typ": "JWT", "kid": "fuzz-rsa"}, claims())
ACCESS = sign("RS256", {"alg": "RS256", "typ": "JWT", "kid": "fuzz-rsa"},
              {"iss": ISS, "sub": "auth0|6a0000000000000000000001", "aud": ["https://api.example.com/",
               ISS + "userinfo"], "iat": NOW, "exp": NOW + 86400, "scope": "openid profile email offline_access",
               "azp": AUD})
JWE = ("eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIiwiaXNzIjoiaHR0cHM6Ly90ZW5hbnQuZXhhbXBsZS5jb20vIn0"
       "..Xq1x8r0dWl7n3c2L.kC3hV8f0aHqP2GZ3nq2W6mF1oY9x_3oEo5n4bZ8Yd2kqkQ.Zk3Jq0rXn9V1eM2L7Wc4Tg")
REFRESH = "v1.MRrT3xVtq5mHkqWQ0nKx8a0VqDEvh4W2i9oMQFf_Tf3sYqO0uWl1cRj9bXPq3Ru8Z7wQm2nNl0eK5jYt"

# ---- token: 200 answers of /oauth/token
write("token", "password_realm", j({"access_token": ACCESS, "id_token": ID_TOKEN, "refresh_token": REFRESH,
                                    "scope": "openid profile email offline_access", "expires_in": 86400,
                                    "token_type": "Bearer"}))
write("token", "no_audience_jwe", j({"access_token": JWE, "id_token": ID_TOKEN, "scope": "openid profile email",
                                     "expires_in": 86400, "token_type": "Bearer"}))
write("token", "expires_in_string", j({"access_token": ACCESS, "expires_in": "7200", "token_type": "Bearer"}))
write("token", "mfa_recovery", j({"access_token": ACCESS, "id_token": ID_TOKEN, "expires_in": 86400,
                                  "token_type": "Bearer", "recovery_code": "N3BGPZZWJ85JLCNPZBDW6QXC"}))
write("token", "refresh_rotated", j({"access_token": ACCESS, "refresh_token": REFRESH[::-1], "expires_in": 86400,
                                     "scope": "openid offline_access", "token_type": "Bearer"}))
write("token", "session_transfer", j({"access_token": "Cx0Y9pQ2mN4bV6tR8wE1sA3dF5gH7jK", "expires_in": 60,
                                      "issued_token_type": "urn:auth0:params:oauth:token-type:session_transfer_token",
                                      "token_type": "N_A"}))
write("token", "pretty_printed", json.dumps({"access_token": "abc", "expires_in": 0, "token_type": "Bearer",
                                             "id_token": None}, indent=2) + "\n")
write("token", "unicode_escapes", '{"access_token":"\\u00e9\\ud83d\\ude00x","token_type":"Bearer","expires_in":1e2}')
write("token", "missing_type", j({"access_token": "abc", "expires_in": 10}))
write("token", "negative", j({"access_token": "abc", "token_type": "Bearer", "expires_in": -1}))
write("token", "huge_number", '{"access_token":"a","token_type":"B","expires_in":1e308}')
write("token", "nested", '{"access_token":"a","token_type":"B","expires_in":1,"x":[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}')
write("token", "trailing", '{"access_token":"a","token_type":"B","expires_in":1} {}')

# ---- error: status selector, a second status byte, Retry-After (0xff: none), body
STATUS = {400: 1, 401: 3, 403: 5, 404: 7, 429: 9, 500: 11, 502: 13, 503: 15, 504: 17}


def err(name, status, body, retry=0xff):
    write("error", name, bytes([STATUS[status], 0, retry]) + (body if isinstance(body, bytes) else
                                                                body.encode()))


def e(code, desc, **extra):
    return j({"error": code, "error_description": desc, **extra})


err("mfa_required", 403, e("mfa_required", "Multifactor authentication required",
                           mfa_token="Fe26.2*1*5c2b3d8a7f*qCz8xVnY0bM1kLp4Rw9sT2uJ*aB3cD4eF5gH6iJ7kL8m"))
err("wrong_password", 403, e("invalid_grant", "Wrong email or password."))
err("blocked", 401, e("unauthorized", "user is blocked"))
err("blocked_grant", 403, e("invalid_grant", "user is blocked"))
err("too_many_attempts", 429, e("too_many_attempts", "Your account has been blocked after multiple consecutive "
                                "login attempts. We've sent you an email with instructions on how to unblock it."))
err("too_many_requests", 429, e("too_many_requests", "Global limit has been reached"), 30)
err("pending", 400, e("authorization_pending", "Authorization pending: please repeat the request in a few seconds."))
err("slow_down", 400, e("slow_down", "You are polling faster than allowed. Try again later."))
err("expired", 403, e("expired_token", "mfa_token is expired"))
err("rejected", 403, e("invalid_grant", "MFA Authorization rejected."))
err("unauthorized_client", 403, e("unauthorized_client", "Grant type `http://auth0.com/oauth/grant-type/"
                                  "password-realm` not allowed for the client."))
err("no_challenge", 401, e("unsupported_challenge_type", "User does not have any enrolled authenticator "
                           "supporting the requested challenge types."))
err("association_required", 400, e("association_required", "User is not enrolled with any authenticator."))
err("missing_param", 400, e("invalid_request", "Missing required parameter: client_id"))
err("access_denied", 403, e("access_denied", "Service not found: https://nope.example.com/"))
err("server_error", 500, e("server_error", "Authorization server not configured with default connection."))
err("bad_gateway_html", 502, "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>")
err("unavailable_empty", 503, "")
err("control_chars", 400, e("invalid_request\u001b[31m", "line\none\ttwo\u007f"))
err("long_description", 403, e("invalid_grant", "x" * 400))
err("not_json", 404, "Not Found")

# ---- authenticators: room for N entries, then GET /mfa/authenticators
AUTHS = [
    {"id": "recovery-code|dev_a0multiRc00001", "authenticator_type": "recovery-code", "active": True},
    {"id": "totp|dev_a0multiTotp0001", "authenticator_type": "otp", "active": True},
    {"id": "push|dev_a0multiPush0001", "authenticator_type": "oob", "oob_channel": "auth0",
     "name": "a0multi's phone", "active": True},
    {"id": "sms|dev_a0multiSms00001", "authenticator_type": "oob", "oob_channel": "sms",
     "name": "XXXXXXXX0202", "active": True},
    {"id": "voice|dev_a0multiVoice001", "authenticator_type": "oob", "oob_channel": "voice",
     "name": "XXXXXXXX0202", "active": True},
    {"id": "email|dev_a0multiEmail001", "authenticator_type": "oob", "oob_channel": "email",
     "name": "a0***@example.com", "active": False},
]
write("authenticators", "multi", bytes([32]) + j(AUTHS).encode())
write("authenticators", "otp_only", bytes([32]) + j(AUTHS[1:2]).encode())
write("authenticators", "room_for_two", bytes([2]) + j(AUTHS).encode())
write("authenticators", "empty", bytes([32]) + b"[]")
write("authenticators", "webauthn_unknown", bytes([32]) + j([{"id": "webauthn-roaming|dev_x",
                                                              "authenticator_type": "webauthn-roaming",
                                                              "active": True, "name": "key"}]).encode())
write("authenticators", "long_fields", bytes([32]) + j([{"id": "i" * 200, "authenticator_type": "otp",
                                                         "name": "n" * 100, "oob_channel": "c" * 20}]).encode())
write("authenticators", "not_objects", bytes([32]) + b'[1,"otp",null]')
# The same target parses the bytes as POST /mfa/challenge answers too.
write("authenticators", "challenge_oob", bytes([32]) + j({"challenge_type": "oob",
      "oob_code": "Fe26.2*seed-oob-code", "binding_method": "prompt"}).encode())
write("authenticators", "challenge_otp", bytes([32]) + j({"challenge_type": "otp"}).encode())

# ---- config: the file, then NUL-separated module arguments
BASE = "domain = tenant.example.com\nclient_id = pam-native\n"
write("config", "minimal", BASE)
write("config", "full", """# /etc/pam_auth0/pam_auth0.conf
domain = tenant.eu.auth0.com
client_id = 9bR3xQ1mZ7vL2kP5wN8tY4uJ6hG0fD
client_secret_file = /etc/pam_auth0.secret
realm = Username-Password-Authentication
audience = https://api.example.com/
scope = openid profile email offline_access
username = %u@example.com
ca_file = /etc/ssl/certs/ca-certificates.crt
proxy = http://proxy.example.com:3128
timeout = 10
debug = no
mfa_methods = push otp sms voice email recovery-code
mfa_retries = 3
mfa_timeout = 60
mfa_poll_interval = 5
push_prompt = auto
cache_dir = /var/cache/pam_auth0
jwks_ttl = 3600
clock_skew = 60
user_claim = https://example.com/posix_user
user_claim_template = %u
require_email_verified = yes
min_uid = 1000
allowed_users = a0alice, a0bob a0otp
allowed_groups = admins,dev
groups_claim = https://example.com/groups
account_without_auth0 = deny
""")
write("config", "crlf_comments", "# comment\r\n\r\n  domain\t=  localhost:8443 \r\nclient_id=pam-native\r\n"
      "   # indented comment\r\nusername = %%%u%%\r\n")
write("config", "with_args", BASE + "\0config=/etc/pam_auth0/pam_auth0.conf\0debug\0use_first_pass\0timeout=5"
      "\0mfa_methods=otp\0push_prompt=enter")
write("config", "args_only", "\0domain=localhost:1\0client_id=x\0try_first_pass")
write("config", "bad_key", BASE + "colour = blue\n")
write("config", "bad_values", BASE + "timeout = 0\nmfa_methods = otp otp\npush_prompt = maybe\n")
write("config", "no_equals", BASE + "debug\n")
write("config", "long_line", BASE + "realm = " + "r" * 5000 + "\n")
write("config", "groups_without_claim", BASE + "allowed_groups = admins\n")
write("config", "scope_without_openid", BASE + "scope = profile email\n")
write("config", "relative_config_arg", BASE + "\0config=pam_auth0.conf")

# ---- jwks: GET /.well-known/jwks.json
rsa_pub = next(k for k in JWKS["keys"] if k["kid"] == "fuzz-rsa")
ec_pub = next(k for k in JWKS["keys"] if k["kid"] == "fuzz-ec")
X5C = ("MIIDDTCCAfWgAwIBAgIJWm2yG2qPfBLnMA0GCSqGSIb3DQEBCwUAMCQxIjAgBgNVBAMTGXRlbmFudC5leGFtcGxlLmNvbTAeFw0y"
       "MzAxMDEwMDAwMDBaFw0zNjA5MDgwMDAwMDBaMCQxIjAgBgNVBAMTGXRlbmFudC5leGFtcGxl")
auth0_key = dict(rsa_pub, x5t="W2Y3bV9hQkxUbE9ySmJ3", x5c=[X5C])
write("jwks", "fuzz_keys", j(JWKS))
write("jwks", "auth0_shaped", json.dumps({"keys": [auth0_key, dict(auth0_key, kid="next-key-2024")]}, indent=1))
write("jwks", "ec_only", j({"keys": [ec_pub]}))
write("jwks", "empty", j({"keys": []}))
write("jwks", "duplicate_kid", j({"keys": [rsa_pub, rsa_pub]}))
write("jwks", "no_kid", j({"keys": [{k: v for k, v in rsa_pub.items() if k != "kid"}]}))
write("jwks", "short_rsa", j({"keys": [dict(rsa_pub, n=rsa_pub["n"][:100])]}))
write("jwks", "bad_curve", j({"keys": [dict(ec_pub, crv="P-384")]}))
write("jwks", "padded_b64", j({"keys": [dict(rsa_pub, e="AQAB==")]}))

# ---- jwt: mode byte (0 RS256, 1 PS256, 2 ES256: header NUL payload, signed by the fuzzer;
# 3: the token's text as received)
RAW, MODES = 3, {"RS256": (0, "fuzz-rsa"), "PS256": (1, "fuzz-rsa-any"), "ES256": (2, "fuzz-ec")}


def parts(name, alg, payload, header=None):
    mode, kid = MODES[alg]
    h = header if header is not None else {"alg": alg, "typ": "JWT", "kid": kid}
    write("jwt", name, bytes([mode]) + j(h).encode() + b"\0" + j(payload).encode())


def raw(name, token):
    write("jwt", name, bytes([RAW]) + token.encode())


raw("rs256_valid", ID_TOKEN)
raw("ps256_valid", sign("PS256", {"alg": "PS256", "typ": "JWT", "kid": "fuzz-rsa-any"}, claims()))
raw("es256_valid", sign("ES256", {"alg": "ES256", "typ": "JWT", "kid": "fuzz-ec"}, claims()))
h0 = b64(j({"alg": "none", "typ": "JWT"}).encode())
raw("alg_none", h0 + "." + b64(j(claims()).encode()) + ".")
raw("hs256", b64(j({"alg": "HS256", "typ": "JWT", "kid": "fuzz-rsa"}).encode()) + "." +
    b64(j(claims()).encode()) + ".c2lnbmF0dXJl")
raw("two_parts", ID_TOKEN.rsplit(".", 1)[0])
raw("padded", ID_TOKEN + "==")
parts("good_rs256", "RS256", claims())
parts("good_ps256", "PS256", claims())
parts("good_es256", "ES256", claims())
parts("aud_list_azp", "RS256", claims(aud=[AUD, "https://api.example.com/"], azp=AUD))
parts("aud_list_no_azp", "RS256", claims(aud=[AUD, "other"]))
parts("expired", "ES256", claims(exp=NOW - 3600))
parts("future_iat", "ES256", claims(iat=NOW + 3600))
parts("nbf", "ES256", claims(nbf=NOW + 30))
parts("wrong_iss", "ES256", claims(iss="https://evil.example.com/"))
parts("no_sub", "ES256", claims(sub=None))
parts("float_dates", "ES256", claims(iat=NOW + 0.5, exp=1e300))
parts("crit", "RS256", claims(), {"alg": "RS256", "kid": "fuzz-rsa", "crit": ["exp"]})
parts("alg_mismatch", "RS256", claims(), {"alg": "PS256", "kid": "fuzz-rsa"})
parts("unusable_key", "RS256", claims(), {"alg": "RS256", "kid": "fuzz-enc"})
parts("unknown_kid", "ES256", claims(), {"alg": "ES256", "kid": "rotated-away"})
parts("no_kid", "ES256", claims(), {"alg": "ES256"})

# ---- record: a keyring record's payload (keyring/record.c, format version 2; 1 still read)


def record(name, fields, version=2):
    out = "pam_auth0-record %d\n" % version
    for k, v in fields:
        out += "%s %d\n%s\n" % (k, len(v), v)
    out += "end\n"  # the format's last line: without it every payload is truncated
    write("record", name, out)


REC = [("access_token", ACCESS), ("id_token", ID_TOKEN), ("refresh_token", REFRESH),
       ("token_type", "Bearer"), ("scope", "openid profile email offline_access"),
       ("expires_at", str(NOW + 86400)), ("refresh_expires_at", str(NOW + 2592000)),
       ("domain", "tenant.example.com"), ("client_id", AUD),
       ("ca_file", "/etc/ssl/certs/ca-certificates.crt"), ("audience", "https://api.example.com/")]
record("main", REC, version=1)  # version 1 payloads are still read
record("minimal", [REC[0], REC[3], REC[5], REC[7], REC[8]])
record("reordered", list(reversed(REC)))
record("api_scopes", [REC[0], REC[3], ("scope", "write:x read:x read:x openid"), REC[5], REC[7], REC[8],
                      ("audience", "https://other.example.com/")])
record("broker", REC + [("client_auth", "broker")], version=2)
record("next_version", REC, version=3)
record("duplicate", REC + [REC[3]])
record("missing_domain", REC[:7] + REC[8:])
write("record", "truncated", open(os.path.join(OUT, "record", "main")).read()[:300])
write("record", "wrong_length", "pam_auth0-record 1\naccess_token 5\nabc\ntoken_type 6\nBearer\n")
write("record", "control_byte", "pam_auth0-record 1\naccess_token 3\na\tc\n")

# ---- snapshot: mode byte (even: the envelope as received; odd: a little-endian int32 offset from
# NOW, then a payload the fuzzer signs); the format is sync/snapshot.h's


def envelope(payload, created, key=None, version=1):
    key = key or ED25519
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    lines = ("pam_auth0-snapshot %d\ncreated: %d\nlength: %d\nkey: %s\n"
             % (version, created, len(payload), b64(raw))).encode()
    sig = key.sign(b"pam_auth0-snapshot signature 1\0" + lines + hashlib.sha512(payload).digest())
    return lines + b"signature: " + b64(sig).encode() + b"\n\n" + payload


def snap(name, data):
    write("snapshot", name, b"\0" + data)


def snap_signed(name, offset, payload):
    write("snapshot", name, b"\1" + struct.pack("<i", offset) + payload)


STATE = j({"users": [{"user_id": "auth0|6a0000000000000000000001", "name": "a0alice", "uid": 70001,
                      "gid": 70001, "gecos": "Alice Example", "state": "active", "roles": ["admins"]},
                     {"user_id": "auth0|6a0000000000000000000002", "name": "a0bob", "uid": 70002,
                      "gid": 70002, "state": "deleted", "deleted_at": NOW - 600}],
           "groups": [{"role_id": "rol_a0admins0000001", "name": "admins", "gid": 70100}],
           "watermark": "2023-11-14T22:00:00.000Z", "generated": NOW - 3600}).encode()
GOOD = envelope(STATE, NOW - 3600)
snap("valid", GOOD)
snap("empty_payload", envelope(b"", NOW))
snap("binary_payload", envelope(bytes(range(256)), NOW - 1))
snap("oldest_accepted", envelope(STATE, NOW - 86400))
snap("too_old", envelope(STATE, NOW - 86401))
snap("latest_accepted", envelope(STATE, NOW + 300))
snap("future", envelope(STATE, NOW + 301))
snap("other_key", envelope(STATE, NOW, ed25519.Ed25519PrivateKey.generate()))
snap("version_2", envelope(STATE, NOW, version=2))
snap("truncated", GOOD[:-7])
snap("extended", GOOD + b"\n")
snap("flipped_payload", GOOD[:-1] + bytes([GOOD[-1] ^ 1]))
snap("crlf", GOOD.replace(b"\n", b"\r\n", 5))
snap("padded_signature", GOOD.replace(b"\n\n", b"==\n\n", 1))
snap("leading_zero", GOOD.replace(b"created: ", b"created: 0", 1))
snap("huge_length", GOOD.replace(b"length: %d" % len(STATE), b"length: 268435457", 1))
snap("no_header", STATE)
snap_signed("signed_now", -60, STATE)
snap_signed("signed_empty", 0, b"")
snap_signed("signed_old", -86401, STATE)
snap_signed("signed_future", 301, b"x")


# ---- cache: the identity cache's file (nss/format.h, version 1), built here independently of
# nss/writer.c: users in uid order, groups in gid order, indexes of (key, record) sorted by key
# (an id, or the name's FNV-1a hash, then the name), member runs, each name's gids, one string
# area; integers little-endian, sections on 8-byte boundaries.

CACHE_HEADER = struct.Struct("<8sIIQqIIIIIIII")  # then 10 sections of (offset, size)


def fnv1a(name):
    h = 2166136261
    for b in name.encode():
        h = ((h ^ b) * 16777619) & 0xffffffff
    return h


def cache_bytes(users, groups, generated=NOW, version=1):
    strings, offsets = bytearray(b"\0"), {"": 0}

    def s(text):
        if text not in offsets:
            offsets[text] = len(strings)
            strings.extend(text.encode() + b"\0")
        return offsets[text]

    def index(entries):  # [(key, record)], sorted already
        return b"".join(struct.pack("<II", key, rec) for key, rec in entries)

    def by_name(name):
        return (fnv1a(name), name.encode())

    users = sorted(users, key=lambda u: u[1])
    groups = sorted(groups, key=lambda g: g[1])
    served = [i for i, g in enumerate(groups) if not g[3]]
    members, pairs, grecs = [], [], b""
    for name, gid, mem, local in groups:
        grecs += struct.pack("<5I", s(name), gid, len(members), len(mem), 1 if local else 0)
        members += [s(m) for m in mem]
        pairs += [(by_name(m), m, gid) for m in mem]
    pairs.sort()
    mrecs, gids = b"", []
    for i, (key, name, gid) in enumerate(pairs):
        if i and pairs[i - 1][1] == name:
            continue
        run = [g for _, n, g in pairs if n == name]
        mrecs += struct.pack("<4I", key[0], s(name), len(gids), len(run))
        gids += run
    secs = [
        b"".join(struct.pack("<6I", s(n), uid, gid, s(gecos), s(home), s(shell))
                 for n, uid, gid, gecos, home, shell in users),
        grecs,
        index(sorted((fnv1a(u[0]), i) for i, u in sorted(enumerate(users), key=lambda e: by_name(e[1][0])))),
        index([(u[1], i) for i, u in enumerate(users)]),
        index([(fnv1a(groups[i][0]), i) for i in sorted(served, key=lambda i: by_name(groups[i][0]))]),
        index([(groups[i][1], i) for i in served]),
        struct.pack("<%dI" % len(members), *members),
        mrecs,
        struct.pack("<%dI" % len(gids), *gids),
        bytes(strings),
    ]
    off, table, body = CACHE_HEADER.size + 16 * len(secs), b"", b""
    for sec in secs:
        table += struct.pack("<QQ", off, len(sec))
        pad = b"\0" * (-len(sec) % 8)
        body += sec + pad
        off += len(sec) + len(pad)
    header = CACHE_HEADER.pack(b"A0NSSCA\n", version, CACHE_HEADER.size + 16 * len(secs), off,
                               generated, len(users), len(groups), len(served),
                               len(mrecs) // 16, 24, 20, 16, 0)
    return header + table + body


CACHE_USERS = [("a0alice", 70001, 70001, "Alice Example,,,", "/home/a0alice", "/bin/bash"),
               ("a0bob", 70002, 70002, "Bob", "/home/a0bob", "/bin/sh"),
               ("a0carol", 70003, 100, "", "/home/a0carol", "/usr/sbin/nologin")]
CACHE_GROUPS = [("a0alice", 70001, [], False), ("a0bob", 70002, [], False),
                ("a0devs", 71000, ["a0alice", "a0bob", "localdave"], False),
                ("a0ops", 71001, ["a0alice"], False), ("sudo", 27, ["a0alice", "localdave"], True)]
MAIN = cache_bytes(CACHE_USERS, CACHE_GROUPS)
write("cache", "main", MAIN)
write("cache", "empty", cache_bytes([], []))
write("cache", "local_only", cache_bytes([], [("sudo", 27, ["a0alice"], True)]))
write("cache", "many", cache_bytes(
    [("u%03d" % i, 200000 + i, 200000 + i, "User %d" % i, "/home/auth0", "/bin/bash") for i in range(200)],
    [("g%d" % k, 300000 + k, ["u%03d" % i for i in range(k * 50, k * 50 + 50)], False) for k in range(4)]
    + [("users", 100, ["u%03d" % i for i in range(200)], True)]))
write("cache", "long_fields", cache_bytes([("a" * 32, 70001, 70001, "g" * 255, "/" + "h" * 254, "/bin/sh")],
                                          [("b" * 32, 70001, ["a" * 32], False)]))
write("cache", "next_version", cache_bytes(CACHE_USERS, CACHE_GROUPS, version=2))
write("cache", "truncated", MAIN[:300])
# Section sizes and offsets in the header pointing past the end; strings without their NUL.
write("cache", "bad_section", MAIN[:CACHE_HEADER.size + 16 * 9] + struct.pack("<QQ", len(MAIN), 64)
      + MAIN[CACHE_HEADER.size + 16 * 10:])
write("cache", "no_nul", MAIN[:-16] + b"x" * 16)
# A user record whose name points past the strings; an index naming a record that is not there.
BAD_NAME = bytearray(MAIN)
BAD_NAME[CACHE_HEADER.size + 16 * 10:CACHE_HEADER.size + 16 * 10 + 4] = struct.pack("<I", 0xfffffff0)
write("cache", "bad_string", bytes(BAD_NAME))
BAD_INDEX = bytearray(MAIN)
users_by_name = struct.unpack_from("<Q", MAIN, CACHE_HEADER.size + 16 * 2)[0]
BAD_INDEX[users_by_name + 4:users_by_name + 8] = struct.pack("<I", 7)
write("cache", "bad_index", bytes(BAD_INDEX))


# ---- mgmt: what auth0-sync reads from the Management API (tests/fuzz/fuzz_mgmt.c). The mode byte:
# & 3 the answer (0 users page, 1 role-members page, 2 users-export file as received, 3 NDJSON
# the fuzzer gzips), & 4 name_attribute = username, >> 3 & 7 the pieces the file arrives in
# (1, 2, 3, 7, 64, 4096, 65536 bytes, whole), & 64 a members page after checkpoint "MDAwMQ", or
# two gzip members.
USERS_PAGE, MEMBERS, EXPORT, EXPORT_GZ, BY_USERNAME, AFTER = 0, 1, 2, 3, 4, 64


def piece(k):
    return k << 3


def mgmt(name, mode, body):
    write("mgmt", name, bytes([mode]) + (body if isinstance(body, bytes) else body.encode()))


def user(n, name=None, uid=None, **over):
    u = {"user_id": "auth0|6a00000000000000000000%02d" % n, "username": "a0user%d" % n,
         "email": "a0user%d@example.com" % n, "blocked": False,
         "updated_at": "2023-11-14T22:%02d:20.%03dZ" % (n % 60, n % 1000),
         "app_metadata": {"posix": {"username": name or "a0user%d" % n, "gecos": "User %d,,," % n}}}
    if uid is not None:
        u["app_metadata"]["posix"]["uid"] = uid
    u.update(over)
    return u


def page(users, total=None, start=0):
    return j({"start": start, "limit": 100, "length": len(users), "users": users,
              "total": len(users) if total is None else total})


# users pages (GET /api/v2/users?...&include_totals=true, as search v3 answers)
MGMT_USERS = [user(1, "a0alice", 70001), user(2, "a0bob"), user(3, "a0carol", 70003, blocked=True)]
mgmt("users_page", USERS_PAGE, page(MGMT_USERS))
mgmt("users_page_by_username", USERS_PAGE | BY_USERNAME, page(MGMT_USERS))
mgmt("users_page_second", USERS_PAGE, page([user(n) for n in range(100, 110)], total=1000, start=100))
mgmt("users_page_empty", USERS_PAGE, page([], total=0))
mgmt("users_page_full", USERS_PAGE, page([user(n) for n in range(100)], total=2500))
mgmt("users_page_too_many", USERS_PAGE, page([user(n % 60) for n in range(101)]))
mgmt("users_page_pretty", USERS_PAGE, json.dumps({"users": MGMT_USERS[:1], "total": 1}, indent=2) + "\n")
# what a name, a user_id or a text field may be made of
HOSTILE_NAMES = ["root", "a0 alice", "A0ALICE", "a0alice\n", "a0alice\u0000x", "../../etc/passwd", "a" * 32,
                 "a" * 33, "\u00e5lice", "-rf", "_svc", "a0:alice", "a0alice\u007f", "\u202ea0alice", "", "x" * 600]
mgmt("users_page_hostile_names", USERS_PAGE,
     page([user(n, nm) for n, nm in enumerate(HOSTILE_NAMES)]))
mgmt("users_page_hostile_usernames", USERS_PAGE | BY_USERNAME,
     page([user(n, username=nm) for n, nm in enumerate(HOSTILE_NAMES)]))
mgmt("users_page_hostile_ids", USERS_PAGE, page([
    user(1, user_id="-"), user(2, user_id="auth0|a b"), user(3, user_id="auth0|\t1"), user(4, user_id=""),
    user(5, user_id="x" * 512), user(6, user_id="x" * 513), user(7, user_id=None), user(8, user_id=7),
    user(9, user_id="auth0|\u00e9"), user(10, user_id="auth0|6a0000000000000000000001"),
    user(11, user_id="auth0|6a0000000000000000000001", email="dup@example.com")]))
mgmt("users_page_hostile_text", USERS_PAGE, page([
    user(1, email="a@b\r\nX-Injected: 1"), user(2, username="a0user2\u001b[31m"),
    dict(user(3), app_metadata={"posix": {"username": "a0carol", "gecos": "Carol:x:0:0:root:/root"}}),
    dict(user(4), app_metadata={"posix": {"username": "a0dave", "gecos": "g" * 256}}),
    dict(user(5), app_metadata={"posix": {"username": "a0eve", "gecos": "Eve\nroot::0:0::/:/bin/sh"}})]))
mgmt("users_page_numbers", USERS_PAGE, page([
    user(1, uid=1e308), user(2, uid=-1), user(3, uid=4294967296), user(4, uid=4294967295), user(5, uid=0),
    user(6, uid=65534), user(7, uid=2147483647), user(8, uid=1.5), user(9, uid="70001"),
    dict(user(10), app_metadata={"posix": {"username": "a0u10", "uid": 70010, "gid": 1e19}}),
    dict(user(11), app_metadata={"posix": {"username": "a0u11", "uid": 70011, "gid": 70001}})], total=11))
mgmt("users_page_huge_total", USERS_PAGE, '{"users":[],"total":1e308}')
mgmt("users_page_negative_total", USERS_PAGE, '{"users":[],"total":-1}')
mgmt("users_page_long_total", USERS_PAGE, '{"users":[],"total":99999999999999999999999}')
mgmt("users_page_no_total", USERS_PAGE, j({"users": MGMT_USERS}))
mgmt("users_page_bare_array", USERS_PAGE, j(MGMT_USERS))
mgmt("users_page_wrong_types", USERS_PAGE, page([
    user(1, blocked="true"), user(2, app_metadata=[1, 2]), user(3, app_metadata={"posix": "a0carol"}),
    user(4, updated_at=1700000000), user(5, username=["a0user5"]), user(6, email={"a": 1}), 7, "auth0|x", None,
    [user(8)], user(9, app_metadata=None), user(10, blocked=None, updated_at=None, email=None)]))
mgmt("users_page_timestamps", USERS_PAGE, page([
    user(1, updated_at="2023-13-01T00:00:00Z"), user(2, updated_at="2023-11-14T22:13:20Z"),
    user(3, updated_at="2023-11-14T22:13:20.1234567890Z"), user(4, updated_at="2023-11-14 22:13:20Z"),
    user(5, updated_at="2023-11-14T22:13:20.123456789Z"), user(6, updated_at="2023-02-31T24:00:00Z"),
    user(7, updated_at="2023-11-14T22:13:60.5Z"), user(8, updated_at="+2023-11-14T22:13:20Z"),
    user(9, updated_at="2023-11-14T22:13:20.Z"), user(10, updated_at="2023-11-14T22:13:20+00:00")]))
NEST = "[" * 40 + "]" * 40
mgmt("users_page_deep", USERS_PAGE,
     '{"users":[{"user_id":"auth0|1","app_metadata":{"posix":{"username":"a0deep","x":%s}}}],"total":1}' % NEST)
mgmt("users_page_deep_name_path", USERS_PAGE,
     '{"users":[{"user_id":"auth0|1","app_metadata":{"posix":{"username":{"username":"a0x"}}}}],"total":1}')
mgmt("users_page_escapes", USERS_PAGE,
     '{"users":[{"user_id":"auth0|\\u0031","app_metadata":{"posix":{"username":"a0\\u0000x","gecos":"\\ud83d\\ude00"}},'
     '"email":"\\u00e9@example.com"}],"total":1}')
mgmt("users_page_duplicate_keys", USERS_PAGE,
     '{"users":[{"user_id":"auth0|1","user_id":"auth0|2","app_metadata":{"posix":{"username":"a0one"}},'
     '"app_metadata":{"posix":{"username":"root"}}}],"total":1,"total":2}')

# role-member pages (GET /api/v2/roles/ID/users?take=100[&from=...])
MEMBERS_ROWS = [{"user_id": u["user_id"], "email": u["email"], "picture": "https://s.gravatar.com/avatar/x.png",
                 "name": u["email"]} for u in MGMT_USERS]
mgmt("members_next", MEMBERS, j({"next": "MDAwMg", "users": MEMBERS_ROWS}))
mgmt("members_last", MEMBERS, j({"users": MEMBERS_ROWS}))
mgmt("members_after", MEMBERS | AFTER, j({"next": "MDAwMg", "users": MEMBERS_ROWS}))
mgmt("members_stuck", MEMBERS | AFTER, j({"next": "MDAwMQ", "users": MEMBERS_ROWS}))
mgmt("members_next_null", MEMBERS, j({"next": None, "users": MEMBERS_ROWS}))
mgmt("members_next_empty_page", MEMBERS, j({"next": "MDAwMg", "users": []}))
mgmt("members_next_number", MEMBERS, j({"next": 2, "users": MEMBERS_ROWS}))
mgmt("members_next_long", MEMBERS, j({"next": "N" * 513, "users": MEMBERS_ROWS}))
mgmt("members_next_control", MEMBERS, j({"next": "MDAw\nMg", "users": MEMBERS_ROWS}))
mgmt("members_bare_array", MEMBERS, j(MEMBERS_ROWS))
mgmt("members_offset_page", MEMBERS, j({"start": 0, "limit": 100, "total": 3, "users": MEMBERS_ROWS}))
mgmt("members_hostile", MEMBERS, j({"users": [{"user_id": "-"}, {"user_id": "a b"}, {"user_id": ""},
                                              {"user_id": "x" * 513}, {"user_id": None}, {"user_id": 1},
                                              {"user_id": "auth0|\u00e9"}, {"email": "x@example.com"}, 3,
                                              {"user_id": "auth0|6a0000000000000000000001"}] * 2}))
mgmt("members_too_many", MEMBERS, j({"users": [{"user_id": "auth0|%d" % n} for n in range(101)]}))
mgmt("members_wrong_types", MEMBERS, j({"users": {"user_id": "auth0|1"}, "next": "MDAwMg"}))

# users-export files: NDJSON, one user a line with the fields asked for (format "json"), served gzipped
NDJSON = "".join(j(u) + "\n" for u in MGMT_USERS)
mgmt("export_plain", EXPORT | piece(7), NDJSON)
mgmt("export_plain_bytewise", EXPORT | piece(0), NDJSON)
mgmt("export_crlf_blank_lines", EXPORT | piece(4), NDJSON.replace("\n", "\r\n") + "\r\n \n\n")
mgmt("export_no_final_newline", EXPORT | piece(2), NDJSON.rstrip("\n"))
mgmt("export_not_json_lines", EXPORT | piece(7), "not json\n" + NDJSON + "{\"user_id\":\n[]\n\"auth0|1\"\n")
mgmt("export_hostile", EXPORT | piece(5) | BY_USERNAME,
     "".join(j(user(n, username=nm)) + "\n" for n, nm in enumerate(HOSTILE_NAMES)))
mgmt("export_to_gzip", EXPORT_GZ | piece(5), NDJSON)
mgmt("export_to_gzip_two_members", EXPORT_GZ | piece(1) | AFTER, NDJSON)
GZ = gzip.compress(NDJSON.encode(), mtime=0)
mgmt("export_gzip", EXPORT | piece(4), GZ)
mgmt("export_gzip_bytewise", EXPORT | piece(0), GZ)
mgmt("export_gzip_two_members", EXPORT | piece(7), GZ + gzip.compress(j(user(9)).encode() + b"\n", mtime=0))
mgmt("export_gzip_truncated", EXPORT | piece(7), GZ[:-9])
mgmt("export_gzip_trailing_garbage", EXPORT | piece(7), GZ + b"garbage")
mgmt("export_gzip_bad_crc", EXPORT | piece(7), GZ[:-8] + bytes(8))
# a line longer than A0_MGMT_MAX_EXPORT_LINE (64 KiB) between two good ones: skipped
mgmt("export_gzip_long_line", EXPORT | piece(6),
     gzip.compress((j(user(1)) + "\n" + j(user(2, gecos="g" * 70000)) + "\n" + j(user(3)) + "\n").encode(), mtime=0))
mgmt("export_gzip_deep", EXPORT | piece(7), gzip.compress(("[" * 5000 + "\n" + j(user(4)) + "\n").encode(), mtime=0))

# ---- offline: a verifier file (lib/offline.c, format v1), one line of eleven fields
OFF_SALT = bytes(range(16)).hex()
OFF_HASH = bytes(range(32, 64)).hex()
OFF_ID = bytes(range(8)).hex()
OFF_TAG = bytes(range(100, 132)).hex()


def offline(name, user="a0alice", memory="65536", passes="3", salt=OFF_SALT, hsh=OFF_HASH,
            written=str(NOW), last=str(NOW + 60), failures="0", key_id=OFF_ID, tag=OFF_TAG, end="\n"):
    write("offline", name, " ".join(["v1", user, memory, passes, salt, hsh, written, last, failures,
                                     key_id, tag]) + end)


offline("main")
offline("small_cost_failures", memory="8192", passes="1", failures="19")
offline("bounds", user="u" * 256, memory="4194304", passes="32", written="253402300799",
        last="0", failures="1000000")
offline("utf8_user", user="j\u00f6rg")
offline("no_newline", end="")
offline("two_lines", end="\n\n")
offline("leading_zero", memory="065536")
offline("upper_hex", salt=OFF_SALT.upper())
offline("short_tag", tag=OFF_TAG[:-2])
offline("memory_over", memory="4194305")
offline("negative_time", written="-1")
write("offline", "next_version", "v2 a0alice 65536 3\n")
write("offline", "empty", "")

# ---- dpop: first byte 0 and a private JWK (lib/dpop.h) as a keyring record holds it; or 1 (+2
# with the nonce, +4 with the access token) and htm NUL htu NUL nonce NUL token for a proof
EC_NUM = EC.private_numbers()
DPOP_KEY = {"kty": "EC", "crv": "P-256", "x": b64(EC_NUM.public_numbers.x.to_bytes(32, "big")),
            "y": b64(EC_NUM.public_numbers.y.to_bytes(32, "big")),
            "d": b64(EC_NUM.private_value.to_bytes(32, "big"))}


def dpop_key(name, text):
    write("dpop", name, b"\0" + (text if isinstance(text, bytes) else text.encode()))


def dpop_proof(name, htm, htu, nonce=None, token=None):
    flags = 1 | (2 if nonce is not None else 0) | (4 if token is not None else 0)
    write("dpop", name, bytes([flags]) + "\0".join([htm, htu, nonce or "", token or ""]).encode())


dpop_key("key", j(DPOP_KEY))
dpop_key("key_reordered", j({k: DPOP_KEY[k] for k in ("d", "y", "x", "crv", "kty")}))
dpop_key("key_spaced", json.dumps(DPOP_KEY, indent=1))
dpop_key("key_extra_member", j(dict(DPOP_KEY, kid="k1")))
dpop_key("key_public_only", j({k: DPOP_KEY[k] for k in ("kty", "crv", "x", "y")}))
dpop_key("key_other_point", j(dict(DPOP_KEY, y=DPOP_KEY["x"])))
dpop_key("key_padded", j(dict(DPOP_KEY, d=DPOP_KEY["d"] + "=")))
dpop_key("key_escaped", j(DPOP_KEY).replace('"kty"', '"k\\u0074y"'))
dpop_proof("proof_token", "POST", "https://tenant.example.com/oauth/token")
dpop_proof("proof_query", "GET", "https://api.example.com/items?page=2&q=a%20b#top")
dpop_proof("proof_nonce", "POST", "https://tenant.example.com/oauth/token",
           nonce="eyJ7S_zG.eyJH0-Z.HX4w-7v")
dpop_proof("proof_ath", "GET", "http://localhost:8080/api/v1/me", nonce="n-0S6_WzA2Mj",
           token=ACCESS)
dpop_proof("proof_bad", "get", "ftp://h/ x", nonce="two words", token="")

print("wrote", sum(len(f) for _, _, f in os.walk(OUT)), "seeds under", os.path.relpath(OUT), file=sys.stderr)
