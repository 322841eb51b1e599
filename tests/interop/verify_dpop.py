#!/usr/bin/env python3
"""Verify DPoP proofs with an independent JOSE implementation.

Reads JSON lines on stdin, each
    {"proof": "<compact JWS>", "jwk_thumbprint_expected": "<jkt>" or null,
     "access_token": "<token>" (optional)}
and prints one JSON line per input:
    {"ok": bool, "jkt": "<RFC 7638 thumbprint>" or null, "error": "<why>" or null,
     "claims": {...} or null}

The proof is parsed by hand and its signature checked with Python
`cryptography` only: typ "dpop+jwt" (RFC 9449 §4.2), an asymmetric alg
(ES256, RS256, PS256), a public jwk without private members, and the
signature with that jwk (ES256 as r || s, RFC 7518 §3.4; RS256 PKCS#1 v1.5;
PS256 PSS with MGF1-SHA-256 and a 32-byte salt, RFC 7518 §3.5). When
"jwk_thumbprint_expected" is given, "ok" also requires the thumbprint to
equal it; when "access_token" is given, "ok" also requires "ath" to be its
hash.

Used by tests/dpop_interop.rs. Exits with status 3 when `cryptography` is
not installed.
"""

import base64
import hashlib
import json
import re
import sys

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
except ImportError as exc:  # pragma: no cover - environment problem
    print(
        f"python module `cryptography` is missing ({exc}); "
        "run `pip install -r tests/interop/requirements.txt`",
        file=sys.stderr,
    )
    sys.exit(3)

B64URL = re.compile(r"^[A-Za-z0-9_-]*$")
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")


class ProofError(Exception):
    pass


def b64u_decode(text: str, what: str) -> bytes:
    """Strict unpadded base64url (RFC 7515 §2): canonical encodings only."""
    if not isinstance(text, str) or not B64URL.match(text) or len(text) % 4 == 1:
        raise ProofError(f"{what} is not unpadded base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii") != text:
        raise ProofError(f"{what} is not canonical base64url")
    return data


def b64u_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def json_object(data: bytes, what: str) -> dict:
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProofError(f"{what} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ProofError(f"{what} is not a JSON object")
    return value


def uint(jwk: dict, member: str) -> int:
    if member not in jwk:
        raise ProofError(f"jwk has no {member}")
    return int.from_bytes(b64u_decode(jwk[member], f"jwk {member}"), "big")


def thumbprint(jwk: dict) -> str:
    """RFC 7638 §3: SHA-256 of the required members, sorted, no whitespace."""
    required = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n")}[jwk["kty"]]
    canonical = json.dumps({m: jwk[m] for m in required}, sort_keys=True, separators=(",", ":"))
    return b64u_encode(hashlib.sha256(canonical.encode("utf-8")).digest())


def public_key(jwk: dict, alg: str):
    if not isinstance(jwk, dict):
        raise ProofError("jwk is not an object")
    present = [m for m in PRIVATE_MEMBERS if m in jwk]
    if present:
        raise ProofError(f"jwk has private members {present}")
    kty = jwk.get("kty")
    if kty == "EC":
        if alg != "ES256":
            raise ProofError(f"alg {alg} does not fit an EC key")
        if jwk.get("crv") != "P-256":
            raise ProofError("EC jwk crv is not P-256")
        for m in ("x", "y"):
            if len(b64u_decode(jwk.get(m, ""), f"jwk {m}")) != 32:
                raise ProofError(f"jwk {m} is not 32 bytes")
        try:
            return ec.EllipticCurvePublicNumbers(uint(jwk, "x"), uint(jwk, "y"), ec.SECP256R1()).public_key()
        except ValueError as exc:
            raise ProofError(f"EC point invalid: {exc}") from None
    if kty == "RSA":
        if alg not in ("RS256", "PS256"):
            raise ProofError(f"alg {alg} does not fit an RSA key")
        n, e = uint(jwk, "n"), uint(jwk, "e")
        if n.bit_length() < 2048:
            raise ProofError(f"RSA key has {n.bit_length()} bits, fewer than 2048 (RFC 7518 §3.3)")
        return rsa.RSAPublicNumbers(e, n).public_key()
    raise ProofError(f"unsupported kty {kty!r}")


def verify_signature(key, alg: str, message: bytes, signature: bytes) -> None:
    if alg == "ES256":
        # RFC 7518 §3.4: 64 bytes r || s; cryptography wants DER.
        if len(signature) != 64:
            raise ProofError(f"ES256 signature is {len(signature)} bytes, expected 64 (r || s)")
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:], "big")
        key.verify(encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
    elif alg == "RS256":
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    elif alg == "PS256":
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        key.verify(signature, message, pss, hashes.SHA256())
    else:
        raise ProofError(f"alg {alg!r} refused")


def check(request: dict) -> dict:
    compact = request.get("proof")
    if not isinstance(compact, str):
        raise ProofError("request has no proof string")
    parts = compact.split(".")
    if len(parts) != 3:
        raise ProofError(f"proof has {len(parts)} parts, expected 3")
    header = json_object(b64u_decode(parts[0], "header"), "header")
    payload = json_object(b64u_decode(parts[1], "payload"), "payload")
    signature = b64u_decode(parts[2], "signature")

    if header.get("typ") != "dpop+jwt":
        raise ProofError(f"typ is {header.get('typ')!r}, expected 'dpop+jwt'")
    alg = header.get("alg")
    if alg not in ("ES256", "RS256", "PS256"):
        raise ProofError(f"alg {alg!r} refused")
    if "crit" in header:
        raise ProofError("crit header present")
    jwk = header.get("jwk")
    key = public_key(jwk, alg)
    jkt = thumbprint(jwk)

    try:
        verify_signature(key, alg, (parts[0] + "." + parts[1]).encode("ascii"), signature)
    except InvalidSignature:
        return {"ok": False, "jkt": jkt, "error": "signature does not verify", "claims": payload}

    for name in ("jti", "htm", "htu"):
        if not isinstance(payload.get(name), str) or not payload[name]:
            return {"ok": False, "jkt": jkt, "error": f"claim {name} missing or not a string", "claims": payload}
    if not isinstance(payload.get("iat"), (int, float)) or isinstance(payload.get("iat"), bool):
        return {"ok": False, "jkt": jkt, "error": "claim iat missing or not a number", "claims": payload}

    token = request.get("access_token")
    if token is not None:
        expected_ath = b64u_encode(hashlib.sha256(token.encode("ascii")).digest())
        if payload.get("ath") != expected_ath:
            return {"ok": False, "jkt": jkt, "error": "ath is not the access token's hash", "claims": payload}

    expected = request.get("jwk_thumbprint_expected")
    if expected is not None and expected != jkt:
        return {"ok": False, "jkt": jkt, "error": f"thumbprint {jkt} differs from expected {expected}", "claims": payload}
    return {"ok": True, "jkt": jkt, "error": None, "claims": payload}


def main() -> int:
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            result = check(json.loads(line))
        except ProofError as exc:
            result = {"ok": False, "jkt": None, "error": str(exc), "claims": None}
        except ValueError as exc:
            result = {"ok": False, "jkt": None, "error": f"bad input line: {exc}", "claims": None}
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
