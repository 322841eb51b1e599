#!/usr/bin/env python3
"""Generate DPoP proof fixtures with an independent JOSE implementation.

Builds DPoP proofs (RFC 9449 §4.2) by hand from Python `cryptography`
primitives only (no JWT library, no Rust code) and writes them to
tests/fixtures/dpop/proofs.json, which tests/dpop_interop.rs checks against
`mcp_tower_layers::dpop::DpopVerifier`.

Run by hand, not by the tests; the output is checked in:

    pip install -r tests/interop/requirements.txt
    python3 tests/interop/make_dpop_fixtures.py

Keys and ECDSA/PSS signatures are random, so every run produces a different
(but equivalent) file.

Each entry: {"name", "proof", "method", "url", "access_token" (or null),
"now" (Unix seconds for the verifier clock), "expect" ("ok" or a
`DpopError::reason()` value), "jkt" (RFC 7638 thumbprint computed here for
"ok" entries, else null)}.
"""

import base64
import hashlib
import hmac
import json
import os
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

IAT = 1_700_000_000
METHOD = "POST"
URL = "https://server.example.com/mcp"
# RFC 9449 §7.1 example access token.
ACCESS_TOKEN = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
OTHER_ACCESS_TOKEN = "another-access-token"

OUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "dpop", "proofs.json"
)


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def uint_b64u(value: int, length: int = 0) -> str:
    """Big-endian unsigned integer, minimal length unless `length` is given."""
    size = length or max(1, (value.bit_length() + 7) // 8)
    return b64u(value.to_bytes(size, "big"))


def compact_json(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


# --- keys -----------------------------------------------------------------


def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def rsa_key(bits: int = 2048):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def public_jwk(key) -> dict:
    """The public JWK (RFC 7517, RFC 7518 §6) of a private key."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        numbers = key.public_key().public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": uint_b64u(numbers.x, 32),
            "y": uint_b64u(numbers.y, 32),
        }
    numbers = key.public_key().public_numbers()
    return {"kty": "RSA", "n": uint_b64u(numbers.n), "e": uint_b64u(numbers.e)}


def thumbprint(jwk: dict) -> str:
    """RFC 7638 §3: SHA-256 of the required members, sorted, no whitespace."""
    required = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n")}[jwk["kty"]]
    canonical = json.dumps(
        {m: jwk[m] for m in required}, sort_keys=True, separators=(",", ":")
    )
    return b64u(hashlib.sha256(canonical.encode("utf-8")).digest())


# --- signatures -------------------------------------------------------------


def sign_es256(key, message: bytes, der: bool = False) -> bytes:
    signature = key.sign(message, ec.ECDSA(hashes.SHA256()))
    if der:
        return signature
    # RFC 7518 §3.4: the JWS form is the fixed-size r || s, 32 bytes each.
    r, s = decode_dss_signature(signature)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def sign_rs256(key, message: bytes) -> bytes:
    return key.sign(message, padding.PKCS1v15(), hashes.SHA256())


def sign_ps256(key, message: bytes) -> bytes:
    # RFC 7518 §3.5: MGF1 with SHA-256, salt as long as the hash (32 bytes).
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    return key.sign(message, pss, hashes.SHA256())



def claims(jti: str, **overrides) -> dict:
    body = {"jti": jti, "htm": METHOD, "htu": URL, "iat": IAT}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def proof(header: dict, payload: dict, sign) -> str:
    """A compact JWS: sign(key-specific) over ASCII(b64u(header).b64u(payload))."""
    signing_input = b64u(compact_json(header)) + "." + b64u(compact_json(payload))
    return signing_input + "." + b64u(sign(signing_input.encode("ascii")))


def ath(token: str) -> str:
    return b64u(hashlib.sha256(token.encode("ascii")).digest())


# --- cases -----------------------------------------------------------------


def build_cases() -> list:
    es = ec_key()
    es_other = ec_key()
    rs = rsa_key(2048)
    ps = rsa_key(2048)
    rs_small = rsa_key(1024)

    es_jwk = public_jwk(es)
    rs_jwk = public_jwk(rs)
    ps_jwk = public_jwk(ps)

    def header(alg, jwk, typ="dpop+jwt"):
        return {"typ": typ, "alg": alg, "jwk": jwk}

    def entry(name, token, expect, jwt, jkt=None, method=METHOD, url=URL, now=IAT):
        return {
            "name": name,
            "proof": jwt,
            "method": method,
            "url": url,
            "access_token": token,
            "now": now,
            "expect": expect,
            "jkt": jkt if expect == "ok" else None,
        }

    es_sign = lambda m: sign_es256(es, m)  # noqa: E731
    cases = []

    # Valid proofs, one per algorithm.
    cases.append(entry(
        "valid_es256", None, "ok",
        proof(header("ES256", es_jwk), claims("es256-valid"), es_sign),
        thumbprint(es_jwk),
    ))
    cases.append(entry(
        "valid_rs256", None, "ok",
        proof(header("RS256", rs_jwk), claims("rs256-valid"), lambda m: sign_rs256(rs, m)),
        thumbprint(rs_jwk),
    ))
    cases.append(entry(
        "valid_ps256", None, "ok",
        proof(header("PS256", ps_jwk), claims("ps256-valid"), lambda m: sign_ps256(ps, m)),
        thumbprint(ps_jwk),
    ))
    # Header members in another order and a jwk with optional members: the
    # thumbprint covers only the required members (RFC 7638 §3.2).
    cases.append(entry(
        "valid_rs256_extra_jwk_members", None, "ok",
        proof(
            {"alg": "RS256", "jwk": dict(rs_jwk, use="sig", alg="RS256", kid="k1"), "typ": "dpop+jwt"},
            claims("rs256-extra-members"),
            lambda m: sign_rs256(rs, m),
        ),
        thumbprint(rs_jwk),
    ))
    # With an access token: ath = b64u(SHA-256(token)) (RFC 9449 §4.2).
    cases.append(entry(
        "valid_es256_ath", ACCESS_TOKEN, "ok",
        proof(header("ES256", es_jwk), claims("es256-ath", ath=ath(ACCESS_TOKEN)), es_sign),
        thumbprint(es_jwk),
    ))
    cases.append(entry(
        "ath_other_token", OTHER_ACCESS_TOKEN, "ath_mismatch",
        proof(header("ES256", es_jwk), claims("es256-ath-other", ath=ath(ACCESS_TOKEN)), es_sign),
    ))

    # Invalid proofs.
    unsigned = b64u(compact_json(header("none", es_jwk))) + "." + b64u(compact_json(claims("alg-none"))) + "."
    cases.append(entry("alg_none", None, "alg_refused", unsigned))

    # Key confusion: HMAC with the public EC x coordinate as the secret.
    x_secret = base64.urlsafe_b64decode(es_jwk["x"] + "=")
    cases.append(entry(
        "hs256_ec_x_as_secret", None, "alg_refused",
        proof(header("HS256", es_jwk), claims("hs256"),
              lambda m: hmac.new(x_secret, m, hashlib.sha256).digest()),
    ))
    cases.append(entry(
        "typ_jwt", None, "invalid_typ",
        proof(header("ES256", es_jwk, typ="JWT"), claims("typ-jwt"), es_sign),
    ))
    private_numbers = es.private_numbers()
    cases.append(entry(
        "jwk_with_private_d", None, "invalid_jwk",
        proof(header("ES256", dict(es_jwk, d=uint_b64u(private_numbers.private_value, 32))),
              claims("jwk-d"), es_sign),
    ))
    cases.append(entry(
        "es256_der_signature", None, "invalid_signature",
        proof(header("ES256", es_jwk), claims("es256-der"), lambda m: sign_es256(es, m, der=True)),
    ))
    cases.append(entry(
        "signed_by_other_key", None, "invalid_signature",
        proof(header("ES256", es_jwk), claims("other-key"), lambda m: sign_es256(es_other, m)),
    ))
    cases.append(entry(
        "htm_wrong", None, "htm_mismatch",
        proof(header("ES256", es_jwk), claims("htm-wrong", htm="GET"), es_sign),
    ))
    cases.append(entry(
        "htu_wrong", None, "htu_mismatch",
        proof(header("ES256", es_jwk), claims("htu-wrong", htu="https://server.example.com/other"), es_sign),
    ))
    cases.append(entry(
        "iat_one_hour_old", None, "iat_too_old",
        proof(header("ES256", es_jwk), claims("iat-old"), es_sign),
        now=IAT + 3600,
    ))
    cases.append(entry(
        "rs256_1024_bit_key", None, "invalid_jwk",
        proof(header("RS256", public_jwk(rs_small)), claims("rs1024"), lambda m: sign_rs256(rs_small, m)),
    ))
    return cases


def main() -> int:
    cases = build_cases()
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(cases, f, indent=2)
        f.write("\n")
    print(f"wrote {len(cases)} proofs to {os.path.normpath(OUT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
