#!/usr/bin/env python3
"""Generate JWT access token fixtures with an independent implementation.

Signs RFC 9068 JWT access tokens with PyJWT (over Python `cryptography`
keys) and writes them, with the JWKS that verifies them, to
tests/fixtures/tokens/, which tests/token_jwt.rs checks against
`mcp_tower_layers::token::JwtValidator`.

Run by hand, not by the tests; the output is checked in:

    pip install -r tests/interop/requirements.txt
    python3 tests/interop/make_token_fixtures.py

Keys (and ECDSA/PSS signatures) are random, so every run produces a
different (but equivalent) set of files. Times are fixed around NOW; the
Rust test sets its clock to "now".

Files:

- jwks.json: {"keys": [...]}: an RSA key (kid "rsa-1", no alg, so RS256 and
  PS256), an EC P-256 key (kid "ec-1", alg ES256), and an RSA key with
  "use": "enc" (kid "rsa-enc") that must be ignored;
- tokens.json: {"now", "issuer", "audience", "rsa_public_pem",
  "tokens": [{"name", "token", "expect" ("ok" or a `TokenError::reason()`
  value), "claims" (the payload, for "ok" entries; else null)}]}.
"""

import base64
import hashlib
import hmac
import json
import os

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

NOW = 1_700_000_000
ISSUER = "https://as.example.com"
AUDIENCE = "https://mcp.example.com/mcp"

OUT_DIR = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "tokens"
)


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def compact_json(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def public_jwk(key, **members) -> dict:
    """The public JWK as PyJWT writes it, plus `members`."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        jwk = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    else:
        jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(members)
    return jwk


def thumbprint(jwk: dict) -> str:
    """RFC 7638 §3: SHA-256 of the required members, sorted, no whitespace."""
    required = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n")}[jwk["kty"]]
    canonical = json.dumps(
        {m: jwk[m] for m in required}, sort_keys=True, separators=(",", ":")
    )
    return b64u(hashlib.sha256(canonical.encode("utf-8")).digest())


def claims(jti: str, **overrides) -> dict:
    body = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-42",
        "client_id": "client-7",
        "scope": "tools:read tools:call",
        "iat": NOW,
        "nbf": NOW,
        "exp": NOW + 3600,
        "jti": jti,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def sign(key, alg: str, payload: dict, kid: str, typ="at+jwt") -> str:
    headers = {"kid": kid, "typ": typ}
    return jwt.encode(payload, key, algorithm=alg, headers=headers)


def hs256_by_hand(secret: bytes, payload: dict, kid: str) -> str:
    """HS256 with an arbitrary secret. PyJWT refuses to use a PEM public key
    as an HMAC secret, which is exactly the key-confusion attack (RFC 8725
    §2.1) the validator must refuse, so this one is built by hand."""
    header = {"alg": "HS256", "typ": "at+jwt", "kid": kid}
    signing_input = b64u(compact_json(header)) + "." + b64u(compact_json(payload))
    mac = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + b64u(mac)


def unsigned(payload: dict, kid: str) -> str:
    header = {"alg": "none", "typ": "at+jwt", "kid": kid}
    return b64u(compact_json(header)) + "." + b64u(compact_json(payload)) + "."


def main() -> None:
    rs = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    es = ec.generate_private_key(ec.SECP256R1())
    es_other = ec.generate_private_key(ec.SECP256R1())
    enc = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    rs_jwk = public_jwk(rs, kid="rsa-1", use="sig")
    es_jwk = public_jwk(es, kid="ec-1", use="sig", alg="ES256")
    enc_jwk = public_jwk(enc, kid="rsa-enc", use="enc")
    jwks = {"keys": [rs_jwk, es_jwk, enc_jwk]}

    rsa_pem = rs.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    dpop_jkt = thumbprint(public_jwk(es_other))

    tokens = []

    def entry(name: str, token: str, expect: str, payload=None) -> None:
        tokens.append({
            "name": name,
            "token": token,
            "expect": expect,
            "claims": payload if expect == "ok" else None,
        })

    # Valid tokens, one per algorithm, and accepted variations.
    p = claims("rs256", cnf={"jkt": dpop_jkt})
    entry("valid_rs256", sign(rs, "RS256", p, "rsa-1"), "ok", p)
    p = claims("ps256")
    entry("valid_ps256", sign(rs, "PS256", p, "rsa-1"), "ok", p)
    p = claims("es256")
    entry("valid_es256", sign(es, "ES256", p, "ec-1"), "ok", p)
    p = claims("aud-array", aud=["https://other.example.com", AUDIENCE])
    entry("valid_audience_array", sign(es, "ES256", p, "ec-1"), "ok", p)
    p = claims("application-typ")
    entry("valid_typ_application_at_jwt",
          sign(es, "ES256", p, "ec-1", typ="application/at+jwt"), "ok", p)

    # Each breaks one rule.
    entry("expired", sign(es, "ES256", claims(
        "expired", iat=NOW - 7200, nbf=NOW - 7200, exp=NOW - 3600), "ec-1"), "expired")
    entry("not_yet_valid", sign(es, "ES256", claims(
        "nbf", nbf=NOW + 3600, exp=NOW + 7200), "ec-1"), "not_yet_valid")
    entry("wrong_audience", sign(es, "ES256", claims(
        "aud", aud="https://other.example.com"), "ec-1"), "wrong_audience")
    entry("wrong_issuer", sign(es, "ES256", claims(
        "iss", iss="https://evil.example.com"), "ec-1"), "wrong_issuer")
    entry("missing_exp", sign(es, "ES256", claims("no-exp", exp=None), "ec-1"),
          "invalid_claim")
    entry("typ_jwt", sign(es, "ES256", claims("typ-jwt"), "ec-1", typ="JWT"),
          "wrong_type")
    entry("alg_none", unsigned(claims("none"), "ec-1"), "alg_not_allowed")
    entry("hs256_with_rsa_public_pem", hs256_by_hand(rsa_pem, claims("confusion"), "rsa-1"),
          "alg_not_allowed")
    entry("rs384_not_allowed", sign(rs, "RS384", claims("rs384"), "rsa-1"),
          "alg_not_allowed")
    entry("rs256_with_ec_kid", sign(rs, "RS256", claims("kid-type"), "ec-1"),
          "alg_not_allowed")
    entry("unknown_kid", sign(es, "ES256", claims("kid"), "ec-2"), "unknown_kid")
    entry("enc_key", sign(enc, "RS256", claims("enc"), "rsa-enc"), "unknown_kid")
    entry("signed_by_other_key", sign(es_other, "ES256", claims("other"), "ec-1"),
          "invalid_signature")

    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(OUT_DIR, "jwks.json"), "w", encoding="utf-8") as f:
        json.dump(jwks, f, indent=2)
        f.write("\n")
    with open(os.path.join(OUT_DIR, "tokens.json"), "w", encoding="utf-8") as f:
        json.dump({
            "generator": f"PyJWT {jwt.__version__}",
            "now": NOW,
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "rsa_public_pem": rsa_pem.decode("ascii"),
            "tokens": tokens,
        }, f, indent=2)
        f.write("\n")
    print(f"wrote {len(tokens)} tokens and {len(jwks['keys'])} keys to {OUT_DIR}")


if __name__ == "__main__":
    main()
