//! One test per DPoP rule (RFC 9449 §4.3, §7, §8, §9, §11.1): each test breaks
//! exactly one rule and checks both the [`DpopError`] that
//! [`DpopVerifier::verify`] returns (variant and reason) and the response of
//! the [`DpopLayer`] (status, `WWW-Authenticate`, JSON body).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE};
use common::{
    BASE, EchoService, NOW, ProofBuilder, Reply, TOKEN, URL, call, call_layer, clock, es256,
    es256_der, es256_other, layer_builder, now, post, ps256, request, rs256, service, verifier,
    verifier_builder,
};
use http::{HeaderValue, Request, StatusCode};
use mcp_tower_layers::clock::ManualClock;
use mcp_tower_layers::dpop::{
    DEFAULT_MAX_PROOF_BYTES, DpopError, DpopLayer, DpopLayerBuilder, DpopMode, DpopVerifier,
    NonceIssuer, RequestFacts, RequestTarget,
};
use mcp_tower_layers::jose::{AlgError, Algorithm, JwkError, b64};
use mcp_tower_layers::replay::MemoryReplayCache;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// Helpers.

/// The facts of the default request: `POST` [`URL`] with [`TOKEN`].
fn facts() -> RequestFacts<'static> {
    RequestFacts {
        method: "POST",
        uri: URL,
        access_token: Some(TOKEN),
    }
}

fn valid() -> ProofBuilder<'static> {
    ProofBuilder::valid(es256())
}

/// A 401 `invalid_dpop_proof` with a `DPoP` challenge whose description is `err`.
fn assert_invalid_proof(reply: &Reply, err: &DpopError) {
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        reply.everything()
    );
    let www = reply
        .www_authenticate()
        .expect("a WWW-Authenticate challenge");
    assert!(
        www.starts_with(r#"DPoP error="invalid_dpop_proof""#),
        "{www}"
    );
    assert!(www.contains(r#"algs=""#), "{www}");
    assert_eq!(reply.body["error"], "invalid_dpop_proof", "{}", reply.text);
    assert_eq!(
        reply.body["error_description"],
        err.to_string(),
        "{}",
        reply.text
    );
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert!(reply.header("dpop-nonce").is_none());
}

/// The verifier refuses `proof` with `expected` (and its reason), and the
/// layer answers 401 `invalid_dpop_proof` for it.
async fn assert_refused(proof: &str, expected: &DpopError, reason: &str) {
    assert_refused_by(
        &verifier(),
        layer_builder(&clock()),
        proof,
        expected,
        reason,
    )
    .await;
}

async fn assert_refused_by(
    verifier: &DpopVerifier,
    layer: DpopLayerBuilder<MemoryReplayCache>,
    proof: &str,
    expected: &DpopError,
    reason: &str,
) {
    let err = verifier
        .verify(proof, facts())
        .expect_err("the proof must be refused");
    assert_eq!(&err, expected);
    assert_eq!(err.reason(), reason);
    let reply = call_layer(layer, post(proof)).await;
    assert_invalid_proof(&reply, &err);
}

/// The verifier refuses `proof` as `Malformed` with a message containing
/// `fragment`, and the layer answers 401 `invalid_dpop_proof`.
async fn assert_malformed(proof: &str, fragment: &str) {
    let err = verifier()
        .verify(proof, facts())
        .expect_err("the proof must be refused");
    assert!(
        matches!(&err, DpopError::Malformed(m) if m.contains(fragment)),
        "expected Malformed({fragment:?}..), got {err:?}"
    );
    assert_eq!(err.reason(), "malformed");
    let reply = call_layer(layer_builder(&clock()), post(proof)).await;
    assert_invalid_proof(&reply, &err);
}

/// The verifier and the layer accept `proof` for the default request.
async fn assert_accepted(proof: &str, key: &mcp_tower_layers::keys::DpopKey) {
    assert_accepted_by(&verifier(), layer_builder(&clock()), proof, key).await;
}

async fn assert_accepted_by(
    verifier: &DpopVerifier,
    layer: DpopLayerBuilder<MemoryReplayCache>,
    proof: &str,
    key: &mcp_tower_layers::keys::DpopKey,
) {
    let checked = verifier
        .verify(proof, facts())
        .expect("the proof must be accepted");
    assert_eq!(checked.verified.jkt, key.thumbprint());
    let reply = call_layer(layer, post(proof)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.everything());
    assert_eq!(reply.body["jkt"], key.thumbprint());
    assert_eq!(reply.body["htu"], URL);
}

// ---------------------------------------------------------------------------
// Baseline: valid proofs pass with every algorithm.

#[tokio::test]
async fn valid_proofs_pass_for_every_algorithm() {
    for key in [es256(), rs256(), ps256()] {
        let proof = ProofBuilder::valid(key).build();
        let checked = verifier().verify(&proof, facts()).unwrap();
        assert_eq!(checked.verified.alg, key.alg());
        assert_eq!(checked.verified.htm, "POST");
        assert_eq!(checked.verified.htu, URL);
        assert_eq!(checked.verified.iat, now());
        assert!(!checked.refresh_nonce);
        assert_eq!(checked.expires_at, NOW + 301);

        let reply = call_layer(layer_builder(&clock()), post(&proof)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.everything());
        assert_eq!(reply.body["jkt"], key.thumbprint());
        assert_eq!(reply.body["alg"], key.alg().as_str());
        assert_eq!(reply.body["htm"], "POST");
        assert_eq!(reply.body["htu"], URL);
        assert_eq!(reply.body["iat"], now());
        assert!(reply.www_authenticate().is_none());
    }
}

// ---------------------------------------------------------------------------
// The DPoP header (§4.3 item 1).

#[tokio::test]
async fn missing_dpop_header() {
    let reply = call_layer(layer_builder(&clock()), request("POST", None, Some(TOKEN))).await;
    assert_eq!(DpopError::MissingProof.reason(), "missing_proof");
    assert_invalid_proof(&reply, &DpopError::MissingProof);
}

#[tokio::test]
async fn two_dpop_headers() {
    let mut req = post(&valid().build());
    req.headers_mut()
        .append("dpop", HeaderValue::from_str(&valid().build()).unwrap());
    let reply = call_layer(layer_builder(&clock()), req).await;
    assert_eq!(DpopError::MultipleProofs.reason(), "multiple_proofs");
    assert_invalid_proof(&reply, &DpopError::MultipleProofs);
}

#[tokio::test]
async fn non_ascii_dpop_header() {
    let mut req = request("POST", None, Some(TOKEN));
    let mut bytes = valid().build().into_bytes();
    bytes.insert(5, 0xE9); // obs-text: a legal header byte, but not visible ASCII
    req.headers_mut()
        .insert("dpop", HeaderValue::from_bytes(&bytes).unwrap());
    let reply = call_layer(layer_builder(&clock()), req).await;
    assert_eq!(DpopError::HeaderNotAscii.reason(), "header_not_ascii");
    assert_invalid_proof(&reply, &DpopError::HeaderNotAscii);
}

#[tokio::test]
async fn oversized_proof_is_refused_before_decoding() {
    // Not a JWS at all: had it been decoded, it would be `Malformed`.
    let max = DEFAULT_MAX_PROOF_BYTES;
    let garbage = "!".repeat(max + 1);
    assert_refused(
        &garbage,
        &DpopError::ProofTooLarge { len: max + 1, max },
        "proof_too_large",
    )
    .await;
    // At the cap the same garbage gets decoded (and refused as malformed).
    assert_malformed(&"!".repeat(max), "three dot-separated parts").await;

    // A valid RS256 proof (about 1 KB) over a 512-byte cap.
    let proof = ProofBuilder::valid(rs256()).build();
    let c = clock();
    let err = verifier_builder(&c)
        .max_proof_bytes(512)
        .build()
        .unwrap()
        .verify(&proof, facts())
        .unwrap_err();
    assert_eq!(
        err,
        DpopError::ProofTooLarge {
            len: proof.len(),
            max: 512
        }
    );
    let reply = call_layer(layer_builder(&c).max_proof_bytes(512), post(&proof)).await;
    assert_invalid_proof(&reply, &err);
}

// ---------------------------------------------------------------------------
// JWS syntax (§4.3 item 2).

#[tokio::test]
async fn not_three_parts() {
    let parts = valid().parts();
    let (h, c, s) = (&parts.header_b64, &parts.claims_b64, &parts.signature_b64);
    for proof in [
        format!("{h}.{c}"),
        format!("{h}.{c}.{s}.{s}"),
        format!("{h}.{c}.{s}."),
        format!("{h}{c}{s}"),
        ".".to_owned(),
        "..".to_owned(),
        "...".to_owned(),
    ] {
        // ".." has three (empty) parts: it fails on the header's JSON instead.
        let fragment = if proof == ".." {
            "header is not a JSON object"
        } else {
            "three dot-separated parts"
        };
        assert_malformed(&proof, fragment).await;
    }
}

/// Header and payload fillers whose base64 has `+` and `/` in the standard
/// alphabet (`???` encodes as `Pz8/`, `~~~` as `fn5+`).
const ALPHABET_FILLER: &str = "??????~~~~~~";

/// Adds a member `x` so that the JSON length is not a multiple of 3, and a
/// padded encoding therefore ends with `=`.
fn needs_padding(json: &Value) -> Value {
    ["a", "ab", "abc"]
        .into_iter()
        .map(|filler| {
            let mut json = json.clone();
            json["x"] = json!(filler);
            json
        })
        .find(|json| serde_json::to_vec(json).unwrap().len() % 3 != 0)
        .unwrap()
}

#[tokio::test]
async fn bad_base64_in_header() {
    // Standard alphabet ('+' and '/').
    let parts = valid().header("x", ALPHABET_FILLER).parts();
    let std = STANDARD_NO_PAD.encode(&parts.header_json);
    assert!(std.contains('+') && std.contains('/'), "{std}");
    assert_malformed(
        &format!("{std}.{}.{}", parts.claims_b64, parts.signature_b64),
        "header is not base64url",
    )
    .await;
    // Padding.
    let plain = valid();
    let header = needs_padding(plain.header_json());
    let parts = plain.header_value(header).parts();
    let padded = URL_SAFE.encode(&parts.header_json);
    assert!(padded.ends_with('='), "{padded}");
    assert_malformed(
        &format!("{padded}.{}.{}", parts.claims_b64, parts.signature_b64),
        "header is not base64url",
    )
    .await;
    // A character outside any base64 alphabet, and non-canonical trailing bits.
    let parts = valid().parts();
    assert_malformed(
        &format!(
            "*{}.{}.{}",
            parts.header_b64, parts.claims_b64, parts.signature_b64
        ),
        "header is not base64url",
    )
    .await;
    assert_malformed(
        &format!("e31.{}.{}", parts.claims_b64, parts.signature_b64),
        "header is not base64url",
    )
    .await;
}

#[tokio::test]
async fn bad_base64_in_payload() {
    let parts = valid().claim("x", ALPHABET_FILLER).parts();
    let std = STANDARD_NO_PAD.encode(&parts.claims_json);
    assert!(std.contains('+') && std.contains('/'), "{std}");
    assert_malformed(
        &format!("{}.{std}.{}", parts.header_b64, parts.signature_b64),
        "payload is not base64url",
    )
    .await;

    let plain = valid();
    let claims = needs_padding(plain.claims_json());
    let parts = plain.claims_value(claims).parts();
    let padded = URL_SAFE.encode(&parts.claims_json);
    assert!(padded.ends_with('='), "{padded}");
    assert_malformed(
        &format!("{}.{padded}.{}", parts.header_b64, parts.signature_b64),
        "payload is not base64url",
    )
    .await;

    let parts = valid().parts();
    assert_malformed(
        &format!(
            "{}.{}*.{}",
            parts.header_b64, parts.claims_b64, parts.signature_b64
        ),
        "payload is not base64url",
    )
    .await;
}

#[tokio::test]
async fn bad_base64_in_signature() {
    // ES256 signatures are randomized: find one whose standard encoding differs.
    let parts = (0..200)
        .map(|_| valid().parts())
        .find(|p| STANDARD_NO_PAD.encode(&p.signature) != p.signature_b64)
        .expect("a signature with '-' or '_' in base64url");
    let std = STANDARD_NO_PAD.encode(&parts.signature);
    assert_malformed(
        &format!("{}.{}.{std}", parts.header_b64, parts.claims_b64),
        "signature is not base64url",
    )
    .await;
    // A 64-byte signature in the padded encoding ends with "==".
    let padded = URL_SAFE.encode(&parts.signature);
    assert!(padded.ends_with("=="), "{padded}");
    assert_malformed(
        &format!("{}.{}.{padded}", parts.header_b64, parts.claims_b64),
        "signature is not base64url",
    )
    .await;
    assert_malformed(
        &format!(
            "{}.{}.{}!",
            parts.header_b64, parts.claims_b64, parts.signature_b64
        ),
        "signature is not base64url",
    )
    .await;
}

#[tokio::test]
async fn header_not_json() {
    for raw in [
        &b"not json"[..],
        b"",
        b"{",
        b"\xff\xfe",
        b"null",
        b"\"dpop+jwt\"",
        b"42",
    ] {
        assert_malformed(
            &valid().raw_header(raw).build(),
            "header is not a JSON object",
        )
        .await;
    }
}

#[tokio::test]
async fn header_with_duplicate_members() {
    // A parser differential (first vs last wins) must not be possible.
    let jwk = es256().jwk().canonical_json();
    let raw = format!(r#"{{"typ":"dpop+jwt","alg":"ES256","alg":"none","jwk":{jwk}}}"#);
    assert_malformed(
        &valid().raw_header(raw).build(),
        "header is not a JSON object",
    )
    .await;
}

/// RFC 7515 §4: the JOSE header is a JSON object. A JSON array that lists the
/// members positionally (typ, alg, jwk, crit) must not be read as one.
#[tokio::test]
async fn header_as_json_array() {
    let jwk: Value = serde_json::from_str(&es256().jwk().canonical_json()).unwrap();
    let proof = valid()
        .header_value(json!(["dpop+jwt", "ES256", jwk, null]))
        .build();
    assert_malformed(&proof, "header is not a JSON object").await;
}

#[tokio::test]
async fn claims_not_an_object() {
    for claims in [
        json!([]),
        json!("claims"),
        json!(42),
        json!(null),
        json!(true),
    ] {
        assert_malformed(
            &valid().claims_value(claims).build(),
            "payload is not a JSON object",
        )
        .await;
    }
    assert_malformed(
        &valid().raw_claims(&b"{\"jti\":"[..]).build(),
        "payload is not a JSON object",
    )
    .await;
}

/// RFC 7519 §7.2 step 10: the claims set is a JSON object. A JSON array that
/// lists the claims positionally (jti, htm, htu, iat, ath, nonce) must not be
/// read as one.
#[tokio::test]
async fn claims_as_json_array() {
    let claims = json!([
        "array-jti",
        "POST",
        URL,
        NOW,
        mcp_tower_layers::dpop::access_token_hash(TOKEN),
        null
    ]);
    let proof = valid().claims_value(claims).build();
    assert_malformed(&proof, "payload is not a JSON object").await;
}

// ---------------------------------------------------------------------------
// typ (§4.3 item 4).

#[tokio::test]
async fn typ_missing() {
    assert_refused(
        &valid().remove_header("typ").build(),
        &DpopError::InvalidType,
        "invalid_typ",
    )
    .await;
}

#[tokio::test]
async fn typ_jwt() {
    for typ in ["JWT", "at+jwt", "dpop", "application/jwt", ""] {
        assert_refused(
            &valid().header("typ", typ).build(),
            &DpopError::InvalidType,
            "invalid_typ",
        )
        .await;
    }
}

// ---------------------------------------------------------------------------
// alg (§4.3 items 3 and 5).

#[tokio::test]
async fn alg_missing() {
    assert_refused(
        &valid().remove_header("alg").build(),
        &DpopError::MissingAlg,
        "missing_alg",
    )
    .await;
}

#[tokio::test]
async fn alg_none() {
    let expected = DpopError::Alg(AlgError::None);
    assert_refused(
        &valid().header("alg", "none").build(),
        &expected,
        "alg_refused",
    )
    .await;
    // Unsigned, as an attacker would send it.
    let parts = valid().header("alg", "none").parts();
    let unsigned = format!("{}.{}.", parts.header_b64, parts.claims_b64);
    assert_refused(&unsigned, &expected, "alg_refused").await;
}

#[tokio::test]
async fn alg_hs256() {
    for alg in ["HS256", "HS384", "HS512"] {
        let proof = valid().header("alg", alg).build();
        assert_refused(&proof, &DpopError::Alg(AlgError::Symmetric), "alg_refused").await;
    }
}

#[tokio::test]
async fn alg_unknown() {
    for alg in ["ES512", "EdDSA", "es256", "RS1", ""] {
        let proof = valid().header("alg", alg).build();
        assert_refused(
            &proof,
            &DpopError::Alg(AlgError::Unsupported),
            "alg_refused",
        )
        .await;
    }
}

#[tokio::test]
async fn alg_supported_but_not_in_allowlist() {
    let c = clock();
    let proof = ProofBuilder::valid(rs256()).build();
    let verifier = verifier_builder(&c)
        .algorithms([Algorithm::ES256])
        .build()
        .unwrap();
    let err = verifier.verify(&proof, facts()).unwrap_err();
    assert_eq!(err, DpopError::AlgNotAllowed(Algorithm::RS256));
    assert_eq!(err.reason(), "alg_not_allowed");
    let reply = call_layer(
        layer_builder(&c).algorithms([Algorithm::ES256]),
        post(&proof),
    )
    .await;
    assert_invalid_proof(&reply, &err);
    assert!(
        reply
            .www_authenticate()
            .unwrap()
            .ends_with(r#"algs="ES256""#)
    );
}

#[tokio::test]
async fn es256_alg_with_rsa_jwk() {
    let proof = ProofBuilder::valid(rs256()).header("alg", "ES256").build();
    assert_refused(&proof, &DpopError::AlgKeyMismatch, "alg_key_mismatch").await;
}

#[tokio::test]
async fn rs256_alg_with_ec_jwk() {
    // Alg confusion: an EC public key presented for an RSA algorithm.
    for alg in ["RS256", "PS256"] {
        let proof = valid().header("alg", alg).build();
        assert_refused(&proof, &DpopError::AlgKeyMismatch, "alg_key_mismatch").await;
    }
}

#[tokio::test]
async fn ps256_alg_over_rs256_signature() {
    // Same RSA key, other padding: the signature must not verify.
    let proof = ProofBuilder::valid(rs256()).header("alg", "PS256").build();
    assert_refused(&proof, &DpopError::InvalidSignature, "invalid_signature").await;
}

// ---------------------------------------------------------------------------
// jwk (§4.3 items 3 and 7) and crit (RFC 7515 §4.1.11).

#[tokio::test]
async fn jwk_missing() {
    assert_refused(
        &valid().remove_header("jwk").build(),
        &DpopError::MissingJwk,
        "missing_jwk",
    )
    .await;
}

#[tokio::test]
async fn jwk_with_private_d() {
    let mut jwk: Value = serde_json::from_str(&es256().jwk().canonical_json()).unwrap();
    // Any value: its presence alone must be refused.
    jwk["d"] = json!(b64::encode([7u8; 32]));
    let proof = valid().header("jwk", jwk).build();
    let expected = DpopError::InvalidJwk(JwkError::PrivateKeyMaterial);
    assert_refused(&proof, &expected, "invalid_jwk").await;

    let mut rsa: Value = serde_json::from_str(&rs256().jwk().canonical_json()).unwrap();
    rsa["p"] = json!("AQAB");
    let proof = ProofBuilder::valid(rs256()).header("jwk", rsa).build();
    assert_refused(&proof, &expected, "invalid_jwk").await;
}

#[tokio::test]
async fn jwk_off_curve_point() {
    let mut jwk: Value = serde_json::from_str(&es256().jwk().canonical_json()).unwrap();
    jwk["y"] = json!(b64::encode([1u8; 32]));
    let proof = valid().header("jwk", jwk).build();
    let expected = DpopError::InvalidJwk(JwkError::InvalidPoint);
    assert_refused(&proof, &expected, "invalid_jwk").await;
}

#[tokio::test]
async fn jwk_not_an_object() {
    // A string, and an array listing the members positionally
    // (kty, crv, x, y, n, e, d, p, q, dp, dq, qi, oth, k).
    let jwk: Value = serde_json::from_str(&es256().jwk().canonical_json()).unwrap();
    let positional = json!([
        "EC", "P-256", jwk["x"], jwk["y"], null, null, null, null, null, null, null, null, null,
        null
    ]);
    for value in [json!("jwk"), positional] {
        let proof = valid().header("jwk", value).build();
        let err = verifier()
            .verify(&proof, facts())
            .expect_err("a jwk must be a JSON object");
        assert!(
            matches!(
                err,
                DpopError::Malformed(_) | DpopError::InvalidJwk(JwkError::Malformed)
            ),
            "{err:?}"
        );
        let reply = call_layer(layer_builder(&clock()), post(&proof)).await;
        assert_invalid_proof(&reply, &err);
    }
}

#[tokio::test]
async fn crit_header_present() {
    for crit in [json!(["exp"]), json!([]), json!("b64")] {
        let proof = valid().header("crit", crit).build();
        assert_refused(&proof, &DpopError::CriticalHeader, "crit_header").await;
    }
}

// ---------------------------------------------------------------------------
// Signature (§4.3 item 6).

#[tokio::test]
async fn tampered_signature_one_bit() {
    for key in [es256(), rs256(), ps256()] {
        let parts = ProofBuilder::valid(key).parts();
        for bit in [0, 7, 100, parts.signature.len() * 8 - 1] {
            let mut sig = parts.signature.clone();
            sig[bit / 8] ^= 1 << (bit % 8);
            let proof = format!(
                "{}.{}.{}",
                parts.header_b64,
                parts.claims_b64,
                b64::encode(&sig)
            );
            assert_refused(&proof, &DpopError::InvalidSignature, "invalid_signature").await;
        }
    }
}

#[tokio::test]
async fn tampered_claims_after_signing() {
    let signed = valid().parts();
    let other = valid().htm("POST").parts(); // another jti, same everything else
    let proof = format!(
        "{}.{}.{}",
        signed.header_b64, other.claims_b64, signed.signature_b64
    );
    assert_refused(&proof, &DpopError::InvalidSignature, "invalid_signature").await;
}

#[tokio::test]
async fn signature_from_another_key() {
    // The header names key A; key B signed ("swapped keys").
    let proof = valid().signed_by(es256_other()).build();
    assert_refused(&proof, &DpopError::InvalidSignature, "invalid_signature").await;
    let proof = ProofBuilder::valid(es256_other())
        .signed_by(es256())
        .build();
    assert_refused(&proof, &DpopError::InvalidSignature, "invalid_signature").await;
}

#[tokio::test]
async fn es256_signature_of_wrong_length() {
    let good = valid();
    let sig = good.parts().signature;
    assert_eq!(sig.len(), 64);
    let mut long = sig.clone();
    long.push(0);
    let mut zero_prefixed = vec![0];
    zero_prefixed.extend(&sig);
    for bad in [
        sig[..63].to_vec(),
        long,
        zero_prefixed,
        es256_der(&sig), // the DER form other libraries produce
        Vec::new(),
        vec![0; 64],
    ] {
        let proof = good.clone().signature(bad).build();
        assert_refused(&proof, &DpopError::InvalidSignature, "invalid_signature").await;
    }
}

// ---------------------------------------------------------------------------
// htm (§4.3 item 8).

#[tokio::test]
async fn htm_wrong() {
    for htm in ["GET", "PUT", "", "POST "] {
        assert_refused(
            &valid().htm(htm).build(),
            &DpopError::HtmMismatch,
            "htm_mismatch",
        )
        .await;
    }
}

#[tokio::test]
async fn htm_lower_case() {
    // Methods are case-sensitive (RFC 9110 §9.1).
    assert_refused(
        &valid().htm("post").build(),
        &DpopError::HtmMismatch,
        "htm_mismatch",
    )
    .await;
}

// ---------------------------------------------------------------------------
// htu (§4.3 item 9).

#[tokio::test]
async fn htu_wrong_host() {
    for htu in [
        "https://evil.example.com/mcp",
        "https://mcp.example.com.evil/mcp",
        "https://mcp.example.com:8443/mcp",
    ] {
        assert_refused(
            &valid().htu(htu).build(),
            &DpopError::HtuMismatch,
            "htu_mismatch",
        )
        .await;
    }
}

#[tokio::test]
async fn htu_wrong_path() {
    for htu in [
        "https://mcp.example.com/other",
        "https://mcp.example.com/",
        "https://mcp.example.com/mcp/",
        "https://mcp.example.com/MCP",
    ] {
        assert_refused(
            &valid().htu(htu).build(),
            &DpopError::HtuMismatch,
            "htu_mismatch",
        )
        .await;
    }
}

#[tokio::test]
async fn htu_wrong_scheme() {
    let proof = valid().htu("http://mcp.example.com/mcp").build();
    assert_refused(&proof, &DpopError::HtuMismatch, "htu_mismatch").await;
}

#[tokio::test]
async fn htu_not_an_http_uri() {
    use mcp_tower_layers::dpop::htu::HtuError;
    for (htu, e) in [
        ("ftp://mcp.example.com/mcp", HtuError::NotHttpUri),
        ("/mcp", HtuError::NotHttpUri),
        ("https://user@mcp.example.com/mcp", HtuError::UserInfo),
        ("https://mcp.example.com/m cp", HtuError::InvalidCharacters),
    ] {
        assert_refused(
            &valid().htu(htu).build(),
            &DpopError::InvalidHtu(e),
            "invalid_htu",
        )
        .await;
    }
}

#[tokio::test]
async fn htu_with_query_and_fragment_is_accepted() {
    for htu in [
        "https://mcp.example.com/mcp?session=1",
        "https://mcp.example.com/mcp#frag",
        "https://mcp.example.com/mcp?a=b#c",
    ] {
        assert_accepted(&valid().htu(htu).build(), es256()).await;
    }
}

#[tokio::test]
async fn htu_equivalent_after_normalization_is_accepted() {
    for htu in [
        "HTTPS://MCP.Example.COM/mcp",
        "https://mcp.example.com:443/mcp",
        "https://mcp.example.com/%6Dcp",
        "https://mcp.example.com/%6dcp",
        "https://mcp.example.com/./mcp",
        "https://mcp.example.com/x/../mcp",
    ] {
        assert_accepted(&valid().htu(htu).build(), es256()).await;
    }
    // %7E is '~' (RFC 3986 §2.3).
    let c = clock();
    let layer = DpopLayer::builder()
        .target(RequestTarget::public_base_url(BASE).unwrap())
        .clock(Arc::new(c.clone()))
        .build()
        .unwrap();
    let svc = service(&layer);
    for htu in [
        "https://mcp.example.com/%7Euser/mcp",
        "https://MCP.example.com:443/%7euser/mcp",
    ] {
        let proof = valid().htu(htu).build();
        let facts = RequestFacts {
            uri: "https://mcp.example.com/~user/mcp",
            ..facts()
        };
        assert!(verifier().verify(&proof, facts).is_ok(), "{htu}");
        let mut req = post(&proof);
        *req.uri_mut() = "/~user/mcp".parse().unwrap();
        let reply = call(&svc, req).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{htu}: {}",
            reply.everything()
        );
        assert_eq!(reply.body["htu"], "https://mcp.example.com/~user/mcp");
    }
}

// ---------------------------------------------------------------------------
// iat (§4.3 item 11).

#[tokio::test]
async fn iat_too_old() {
    assert_refused(
        &valid().iat(now() - 301).build(),
        &DpopError::IatTooOld,
        "iat_too_old",
    )
    .await;
    assert_refused(
        &valid().iat(-1).build(),
        &DpopError::IatTooOld,
        "iat_too_old",
    )
    .await;
    assert_refused(
        &valid().iat(0).build(),
        &DpopError::IatTooOld,
        "iat_too_old",
    )
    .await;
}

#[tokio::test]
async fn iat_in_future() {
    assert_refused(
        &valid().iat(now() + 61).build(),
        &DpopError::IatInFuture,
        "iat_in_future",
    )
    .await;
    assert_refused(
        &valid().iat(i64::MAX).build(),
        &DpopError::IatInFuture,
        "iat_in_future",
    )
    .await;
}

#[tokio::test]
async fn iat_at_the_limits_is_accepted() {
    for iat in [now() - 300, now(), now() + 60] {
        assert_accepted(&valid().iat(iat).build(), es256()).await;
    }
    // A fractional NumericDate (RFC 7519 §2) within the window.
    assert_accepted(
        &valid()
            .claim("iat", f64::from(u32::try_from(NOW).unwrap()) + 0.5)
            .build(),
        es256(),
    )
    .await;
}

#[tokio::test]
async fn iat_custom_window() {
    let c = clock();
    let v = verifier_builder(&c).iat_window(10, 0).build().unwrap();
    let layer = || layer_builder(&c).iat_window(10, 0);
    assert_accepted_by(&v, layer(), &valid().iat(now() - 10).build(), es256()).await;
    assert_refused_by(
        &v,
        layer(),
        &valid().iat(now() - 11).build(),
        &DpopError::IatTooOld,
        "iat_too_old",
    )
    .await;
    assert_refused_by(
        &v,
        layer(),
        &valid().iat(now() + 1).build(),
        &DpopError::IatInFuture,
        "iat_in_future",
    )
    .await;
}

/// `iat` must be a JSON number; `InvalidClaim` is documented as "missing or
/// has the wrong JSON type".
#[tokio::test]
async fn iat_as_string() {
    let proof = valid().claim("iat", NOW.to_string()).build();
    assert_refused(&proof, &DpopError::InvalidClaim("iat"), "invalid_claim").await;
}

#[tokio::test]
async fn required_claims_missing() {
    for claim in ["htm", "htu", "iat"] {
        let proof = valid().remove_claim(claim).build();
        assert_refused(&proof, &DpopError::InvalidClaim(claim), "invalid_claim").await;
    }
}

// ---------------------------------------------------------------------------
// jti (§4.2, §11.1).

#[tokio::test]
async fn jti_missing() {
    assert_refused(
        &valid().remove_claim("jti").build(),
        &DpopError::InvalidClaim("jti"),
        "invalid_claim",
    )
    .await;
}

#[tokio::test]
async fn jti_empty() {
    assert_refused(&valid().jti("").build(), &DpopError::EmptyJti, "empty_jti").await;
}

#[tokio::test]
async fn jti_too_long() {
    let proof = valid().jti("j".repeat(129)).build();
    assert_refused(&proof, &DpopError::JtiTooLong { max: 128 }, "jti_too_long").await;
    // The limit counts characters, and exactly 128 is fine.
    assert_accepted(&valid().jti("j".repeat(128)).build(), es256()).await;
    assert_accepted(&valid().jti("é".repeat(128)).build(), es256()).await;
}

#[tokio::test]
async fn replayed_proof() {
    let svc = service(&layer_builder(&clock()).build().unwrap());
    let proof = valid().build();
    let first = call(&svc, post(&proof)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.everything());
    let second = call(&svc, post(&proof)).await;
    assert_eq!(DpopError::Replayed.reason(), "replayed");
    assert_invalid_proof(&second, &DpopError::Replayed);
    // Another proof with the same jti from another key is not a replay.
    let jti = valid().claims_json()["jti"].clone();
    let mut other = ProofBuilder::valid(es256_other());
    other = other.claim("jti", jti);
    let third = call(&svc, post(&other.build())).await;
    assert_eq!(third.status, StatusCode::OK, "{}", third.everything());
}

#[tokio::test]
async fn replay_is_remembered_for_the_whole_window() {
    let c = clock();
    let svc = service(&layer_builder(&c).build().unwrap());
    let proof = valid().build();
    assert_eq!(call(&svc, post(&proof)).await.status, StatusCode::OK);
    c.advance(300); // the last second the proof is acceptable
    assert_invalid_proof(&call(&svc, post(&proof)).await, &DpopError::Replayed);
    c.advance(1);
    assert_invalid_proof(&call(&svc, post(&proof)).await, &DpopError::IatTooOld);
}

// ---------------------------------------------------------------------------
// ath (§4.3 item 12).

#[tokio::test]
async fn ath_missing_with_dpop_token() {
    let proof = valid().remove_claim("ath").build();
    assert_refused(&proof, &DpopError::MissingAth, "missing_ath").await;
}

#[tokio::test]
async fn ath_of_another_token() {
    let proof = valid().ath_for("another-token").build();
    assert_refused(&proof, &DpopError::AthMismatch, "ath_mismatch").await;
    let proof = valid().claim("ath", "").build();
    assert_refused(&proof, &DpopError::AthMismatch, "ath_mismatch").await;
}

// ---------------------------------------------------------------------------
// Resource-server mode: the Authorization header (§7).

#[tokio::test]
async fn resource_server_without_authorization() {
    let reply = call_layer(
        layer_builder(&clock()),
        request("POST", Some(&valid().build()), None),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.www_authenticate(),
        Some(r#"DPoP algs="ES256 PS256 RS256""#)
    );
    assert!(reply.body.get("error").is_none(), "{}", reply.text);
    assert!(reply.body["error_description"].is_string());
}

#[tokio::test]
async fn resource_server_with_bearer_token() {
    let mut req = request("POST", Some(&valid().build()), None);
    req.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {TOKEN}")).unwrap(),
    );
    let reply = call_layer(layer_builder(&clock()), req).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let www = reply.www_authenticate().unwrap();
    assert!(www.starts_with(r#"DPoP error="invalid_token""#), "{www}");
    assert!(www.contains(r#"algs=""#), "{www}");
    assert_eq!(reply.body["error"], "invalid_token");
}

#[tokio::test]
async fn resource_server_with_two_authorization_headers() {
    let mut req = post(&valid().build());
    req.headers_mut().append(
        "authorization",
        HeaderValue::from_str(&format!("DPoP {TOKEN}")).unwrap(),
    );
    let reply = call_layer(layer_builder(&clock()), req).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["error"], "invalid_request");
    let www = reply.www_authenticate().unwrap();
    assert!(www.starts_with(r#"DPoP error="invalid_request""#), "{www}");
}

#[tokio::test]
async fn unknown_request_uri() {
    // Target taken from the request, and the request has no Host.
    let c = clock();
    let builder = DpopLayer::builder().clock(Arc::new(c.clone()));
    let reply = call_layer(builder, post(&valid().build())).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["error"], "invalid_request");
    assert_eq!(
        reply.body["error_description"],
        DpopError::UnknownRequestUri.to_string()
    );
}

// ---------------------------------------------------------------------------
// Token-endpoint and optional modes.

#[tokio::test]
async fn token_endpoint_errors_are_400_without_challenge() {
    let c = clock();
    let builder = || layer_builder(&c).mode(DpopMode::TokenEndpoint);
    // A valid proof passes without any Authorization header.
    let ok = call_layer(builder(), request("POST", Some(&valid().build()), None)).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.everything());
    assert_eq!(ok.body["jkt"], es256().thumbprint());
    for (proof, err) in [
        (valid().htm("GET").build(), DpopError::HtmMismatch),
        (
            valid().header("alg", "none").build(),
            DpopError::Alg(AlgError::None),
        ),
        (
            valid().signed_by(es256_other()).build(),
            DpopError::InvalidSignature,
        ),
    ] {
        let reply = call_layer(builder(), request("POST", Some(&proof), None)).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{}",
            reply.everything()
        );
        assert!(reply.www_authenticate().is_none(), "{:?}", reply.headers);
        assert_eq!(reply.header("content-type"), Some("application/json"));
        assert_eq!(reply.body["error"], "invalid_dpop_proof");
        assert_eq!(reply.body["error_description"], err.to_string());
    }
    let reply = call_layer(builder(), request("POST", None, None)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.www_authenticate().is_none());
    assert_eq!(
        reply.body["error_description"],
        DpopError::MissingProof.to_string()
    );
}

#[tokio::test]
async fn optional_mode_without_proof_passes_untouched() {
    let c = clock();
    let builder = || layer_builder(&c).mode(DpopMode::Optional);
    let reply = call_layer(builder(), request("POST", None, None)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, json!({ "dpop": null }));
    // A proof, when present, is checked.
    let ok = call_layer(
        builder(),
        request("POST", Some(&valid().build()), Some(TOKEN)),
    )
    .await;
    assert_eq!(ok.body["jkt"], es256().thumbprint());
    assert_eq!(ok.body["token_bound"], true);
    // Beside a Bearer token, a proof is checked but not tied to the token.
    let mut beside_bearer = request("POST", Some(&valid().build()), None);
    beside_bearer.headers_mut().insert(
        "authorization",
        http::HeaderValue::from_static("Bearer some-token"),
    );
    let beside_bearer = call_layer(builder(), beside_bearer).await;
    assert_eq!(beside_bearer.status, StatusCode::OK);
    assert_eq!(beside_bearer.body["jkt"], es256().thumbprint());
    assert_eq!(beside_bearer.body["token_bound"], false);
    let bad = call_layer(
        builder(),
        request("POST", Some(&valid().htm("GET").build()), None),
    )
    .await;
    assert_invalid_proof(&bad, &DpopError::HtmMismatch);
    // A DPoP-bound token needs a proof.
    let missing = call_layer(builder(), request("POST", None, Some(TOKEN))).await;
    assert_invalid_proof(&missing, &DpopError::MissingProof);
}

// ---------------------------------------------------------------------------
// Server nonces (§8, §9).

fn nonce_issuer(c: &ManualClock) -> Arc<NonceIssuer> {
    Arc::new(
        NonceIssuer::builder(vec![7u8; 32])
            .clock(Arc::new(c.clone()))
            .build()
            .unwrap(),
    )
}

/// 401 (or 400 at a token endpoint) `use_dpop_nonce` with a fresh `DPoP-Nonce`.
fn assert_use_nonce(reply: &Reply, status: StatusCode, err: &DpopError, issuer: &NonceIssuer) {
    assert_eq!(reply.status, status, "{}", reply.everything());
    assert_eq!(reply.body["error"], "use_dpop_nonce");
    assert_eq!(reply.body["error_description"], err.to_string());
    let nonce = reply.header("dpop-nonce").expect("a DPoP-Nonce header");
    assert!(matches!(
        issuer.check(nonce),
        mcp_tower_layers::dpop::NonceStatus::Valid { refresh: false }
    ));
    if status == StatusCode::UNAUTHORIZED {
        let www = reply.www_authenticate().unwrap();
        assert!(www.starts_with(r#"DPoP error="use_dpop_nonce""#), "{www}");
        assert!(www.contains(r#"algs=""#), "{www}");
    } else {
        assert!(reply.www_authenticate().is_none());
    }
}

#[tokio::test]
async fn nonce_missing() {
    let c = clock();
    let issuer = nonce_issuer(&c);
    let proof = valid().build();
    let err = verifier_builder(&c)
        .nonce(Arc::clone(&issuer))
        .build()
        .unwrap()
        .verify(&proof, facts())
        .unwrap_err();
    assert_eq!(err, DpopError::NonceRequired);
    assert_eq!(err.reason(), "nonce_required");
    let reply = call_layer(layer_builder(&c).nonce(Arc::clone(&issuer)), post(&proof)).await;
    assert_use_nonce(&reply, StatusCode::UNAUTHORIZED, &err, &issuer);
}

#[tokio::test]
async fn nonce_forged_or_expired() {
    let c = clock();
    let issuer = nonce_issuer(&c);
    let other_secret = NonceIssuer::builder(vec![8u8; 32])
        .clock(Arc::new(c.clone()))
        .build()
        .unwrap();
    let expired = issuer.issue();
    c.advance(300);
    for nonce in [
        b64::encode([0u8; 24]),
        other_secret.issue(),
        "nonce".to_owned(),
        String::new(),
        expired,
    ] {
        let proof = valid().iat(now() + 300).nonce(&nonce).build();
        let err = verifier_builder(&c)
            .nonce(Arc::clone(&issuer))
            .build()
            .unwrap()
            .verify(&proof, facts())
            .unwrap_err();
        assert_eq!(err, DpopError::NonceInvalid, "{nonce}");
        assert_eq!(err.reason(), "nonce_invalid");
        let reply = call_layer(layer_builder(&c).nonce(Arc::clone(&issuer)), post(&proof)).await;
        assert_use_nonce(&reply, StatusCode::UNAUTHORIZED, &err, &issuer);
    }
}

#[tokio::test]
async fn nonce_valid() {
    let c = clock();
    let issuer = nonce_issuer(&c);
    let proof = valid().nonce(&issuer.issue()).build();
    let reply = call_layer(layer_builder(&c).nonce(Arc::clone(&issuer)), post(&proof)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.everything());
    assert!(reply.header("dpop-nonce").is_none());
}

#[tokio::test]
async fn nonce_old_but_valid_gets_a_fresh_one() {
    let c = clock();
    let issuer = nonce_issuer(&c);
    let old = issuer.issue();
    c.advance(200); // past refresh_after (150), before the lifetime (300)
    let proof = valid().iat(now() + 200).nonce(&old).build();
    let checked = verifier_builder(&c)
        .nonce(Arc::clone(&issuer))
        .build()
        .unwrap()
        .verify(&proof, facts())
        .unwrap();
    assert!(checked.refresh_nonce);
    let reply = call_layer(layer_builder(&c).nonce(Arc::clone(&issuer)), post(&proof)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.everything());
    let fresh = reply.header("dpop-nonce").expect("a fresh DPoP-Nonce");
    assert_ne!(fresh, old);
    assert!(matches!(
        issuer.check(fresh),
        mcp_tower_layers::dpop::NonceStatus::Valid { refresh: false }
    ));
}

#[tokio::test]
async fn token_endpoint_nonce() {
    let c = clock();
    let issuer = nonce_issuer(&c);
    let builder = || {
        layer_builder(&c)
            .mode(DpopMode::TokenEndpoint)
            .nonce(Arc::clone(&issuer))
    };
    let reply = call_layer(builder(), request("POST", Some(&valid().build()), None)).await;
    assert_use_nonce(
        &reply,
        StatusCode::BAD_REQUEST,
        &DpopError::NonceRequired,
        &issuer,
    );
    let retry = valid().nonce(reply.header("dpop-nonce").unwrap()).build();
    let ok = call_layer(builder(), request("POST", Some(&retry), None)).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.everything());
}

// ---------------------------------------------------------------------------
// Replay cache failure and concurrency (§11.1).

#[tokio::test]
async fn replay_cache_full_is_503_with_retry_after() {
    let svc = service(
        &layer_builder(&clock())
            .memory_replay_capacity(1)
            .build()
            .unwrap(),
    );
    let first = call(&svc, post(&valid().build())).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.everything());
    let second = call(&svc, post(&valid().build())).await;
    assert_eq!(
        second.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        second.everything()
    );
    // The only entry expires when the first proof leaves the window.
    assert_eq!(second.header("retry-after"), Some("301"));
    assert_eq!(second.body["error"], "temporarily_unavailable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_replays_admit_exactly_one() {
    let svc: EchoService = service(&layer_builder(&clock()).build().unwrap());
    let proof = valid().build();
    let barrier = Arc::new(tokio::sync::Barrier::new(64));
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let svc = svc.clone();
            let barrier = Arc::clone(&barrier);
            let req = post(&proof);
            tokio::spawn(async move {
                barrier.wait().await;
                call(&svc, req).await
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        let reply = task.await.unwrap();
        if reply.status == StatusCode::OK {
            ok += 1;
        } else {
            assert_invalid_proof(&reply, &DpopError::Replayed);
        }
    }
    assert_eq!(ok, 1);
}

// ---------------------------------------------------------------------------
// No secret in responses or logs.

#[tokio::test]
async fn no_response_or_log_contains_the_proof_or_the_token() {
    let c = clock();
    let svc = service(&layer_builder(&c).build().unwrap());
    let nonce_svc = service(&layer_builder(&c).nonce(nonce_issuer(&c)).build().unwrap());
    let good = valid().build();
    let cases: Vec<(String, Request<()>, &EchoService)> = vec![
        (good.clone(), post(&good), &svc),
        (good.clone(), post(&good), &svc), // replay
        {
            let p = valid().htm("GET").build();
            (p.clone(), post(&p), &svc)
        },
        {
            let p = valid().ath_for("other").build();
            (p.clone(), post(&p), &svc)
        },
        {
            let p = valid().signed_by(es256_other()).build();
            (p.clone(), post(&p), &svc)
        },
        {
            let p = valid().header("alg", "none").build();
            (p.clone(), post(&p), &svc)
        },
        {
            let p = valid().build();
            (p.clone(), post(&p), &nonce_svc)
        },
        {
            let p = valid().build();
            let mut req = request("POST", Some(&p), None);
            req.headers_mut().insert(
                "authorization",
                HeaderValue::from_str(&format!("Bearer {TOKEN}")).unwrap(),
            );
            (p, req, &svc)
        },
        {
            let p = valid().build();
            let mut req = post(&p);
            req.headers_mut().append(
                "authorization",
                HeaderValue::from_str(&format!("DPoP {TOKEN}")).unwrap(),
            );
            (p, req, &svc)
        },
    ];
    for (proof, req, svc) in cases {
        let reply = call(svc, req).await;
        let seen = reply.everything();
        let signature = proof.rsplit('.').next().unwrap();
        for secret in [proof.as_str(), signature, TOKEN] {
            assert!(!seen.contains(secret), "response leaks {secret:?}: {seen}");
        }
    }
    // The logs of every test of this binary so far, this one's included.
    let logs = common::logs().text();
    assert!(
        logs.contains("DPoP proof refused"),
        "the test captured no log: {logs}"
    );
    let signature = good.rsplit('.').next().unwrap();
    for secret in [good.as_str(), signature, TOKEN] {
        assert!(!logs.contains(secret), "logs leak {secret:?}: {logs}");
    }
}
