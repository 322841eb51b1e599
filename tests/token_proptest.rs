//! Property tests of access-token handling: every single-byte mutation of a
//! valid JWT access token is refused (by the validator and through the
//! bearer + validation layers), and any `Authorization` header at all gets a
//! standard answer (400 or 401 with its challenge), never a panic, a 5xx or
//! the token echoed back.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::convert::Infallible;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use common::mutation::mutation;
use common::{NOW, es256, ps256, rs256, runtime};
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_tower_layers::bearer::BearerLayer;
use mcp_tower_layers::clock::ManualClock;
use mcp_tower_layers::keys::DpopKey;
use mcp_tower_layers::token::{
    JwksSource, JwtValidator, TokenValidator, ValidateTokenLayer, VerificationKey,
};
use proptest::prelude::*;
use serde_json::json;
use tower::{Layer, ServiceExt};

const ISS: &str = "https://as.example.com";
const AUD: &str = "https://mcp.example.com/mcp";

/// The signing keys and the `kid` each is published under.
fn keys() -> [(&'static DpopKey, &'static str); 3] {
    [(es256(), "es"), (rs256(), "rs"), (ps256(), "ps")]
}

/// One validator for every case: the header cache it keeps of verified
/// tokens is warm, so mutations of the claims and signature take the path
/// that skips re-reading a known header.
fn validator() -> &'static Arc<JwtValidator> {
    static VALIDATOR: OnceLock<Arc<JwtValidator>> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let keys = keys().map(|(key, kid)| {
            VerificationKey::new(key.jwk().clone())
                .unwrap()
                .with_kid(kid)
        });
        let validator = JwtValidator::builder()
            .issuer(ISS)
            .audience(AUD)
            .keys(JwksSource::from_keys(keys).unwrap())
            .clock(Arc::new(ManualClock::new(NOW)))
            .build()
            .unwrap();
        Arc::new(validator)
    })
}

/// One valid token per key (signing RSA is slow: done once).
fn tokens() -> &'static [String; 3] {
    static TOKENS: OnceLock<[String; 3]> = OnceLock::new();
    TOKENS.get_or_init(|| {
        keys().map(|(key, kid)| {
            let header = json!({"alg": key.alg().as_str(), "typ": "at+jwt", "kid": kid});
            let claims = json!({
                "iss": ISS, "aud": AUD, "sub": "alice", "client_id": "app",
                "scope": "tools:read", "iat": NOW, "exp": NOW + 300, "jti": "t1"
            });
            key.sign_compact(header.to_string().as_bytes(), claims.to_string().as_bytes())
                .unwrap()
        })
    })
}

struct Answer {
    status: StatusCode,
    challenge: Option<String>,
    body: String,
}

/// Sends `POST /mcp` with these `Authorization` values through
/// `BearerLayer` → `ValidateTokenLayer` → a handler that answers 200.
fn send(authorization: &[HeaderValue]) -> Answer {
    let handler = tower::service_fn(|_: Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
    });
    let service =
        BearerLayer::new().layer(ValidateTokenLayer::new(Arc::clone(validator())).layer(handler));
    let mut request = Request::post(AUD).body(Full::new(Bytes::new())).unwrap();
    for value in authorization {
        request.headers_mut().append(AUTHORIZATION, value.clone());
    }
    runtime().block_on(async {
        let response = service.oneshot(request).await.unwrap();
        let status = response.status();
        let challenge = response
            .headers()
            .get(WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            challenge,
            body: String::from_utf8(body.to_vec()).unwrap(),
        }
    })
}

/// Bytes a `HeaderValue` may hold: visible ASCII, space, tab and obs-text.
fn header_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![8 => 0x20u8..0x7f, 1 => 0x80u8..=0xff, 1 => Just(b'\t')],
        0..max,
    )
}

/// A header value: a scheme (or something like one), separators, then any
/// bytes.
fn authorization() -> impl Strategy<Value = Vec<u8>> {
    let scheme = proptest::sample::select(
        &[
            "Bearer ", "bearer ", "DPoP ", "dpop  ", "Bearer", "Basic ", "", " Bearer ",
        ][..],
    );
    (scheme, header_bytes(300)).prop_map(|(scheme, rest)| [scheme.as_bytes(), &rest].concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_single_byte_mutation_of_a_token_is_refused(key in 0..3usize, mutation in mutation()) {
        let original = &tokens()[key];
        let valid = runtime().block_on(validator().validate(original)).unwrap();
        prop_assert_eq!(valid.subject(), Some("alice"));
        let Some(mutated) = mutation.apply_lossy(original) else {
            return Err(TestCaseError::reject("the edit changed nothing"));
        };
        let result = runtime().block_on(validator().validate(&mutated));
        prop_assert!(result.is_err(), "{mutation:?} accepted: {mutated}");

        // Through the layers: a 400 (not token68 any more) or a 401 naming
        // the token invalid, never the handler.
        if let Ok(value) = HeaderValue::from_str(&format!("Bearer {mutated}")) {
            let answer = send(&[value]);
            prop_assert!(
                matches!(answer.status, StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED),
                "{mutation:?}: {}", answer.status
            );
            let challenge = answer.challenge.unwrap_or_default();
            prop_assert!(challenge.starts_with("Bearer error=\"invalid_"), "{}", challenge);
        }
    }

    #[test]
    fn any_text_is_refused_as_a_token(text in "\\PC{0,200}", dotted in "[A-Za-z0-9_-]{0,60}\\.[A-Za-z0-9_-]{0,60}\\.[A-Za-z0-9_-]{0,60}") {
        for candidate in [&text, &dotted] {
            let result = runtime().block_on(validator().validate(candidate));
            prop_assert!(result.is_err(), "accepted {candidate:?}");
        }
    }

    #[test]
    fn any_authorization_header_gets_a_standard_answer(
        values in proptest::collection::vec(authorization(), 1..3),
    ) {
        let values: Vec<HeaderValue> = values
            .iter()
            .map(|bytes| HeaderValue::from_bytes(bytes).unwrap())
            .collect();
        let answer = send(&values);
        let challenge = answer.challenge.clone().unwrap_or_default();
        match answer.status {
            StatusCode::BAD_REQUEST => {
                prop_assert!(challenge.starts_with("Bearer error=\"invalid_request\""), "{}", challenge);
                prop_assert!(answer.body.contains("\"error\":\"invalid_request\""), "{}", answer.body);
            }
            StatusCode::UNAUTHORIZED => {
                prop_assert!(challenge.starts_with("Bearer"), "{}", challenge);
            }
            other => prop_assert!(false, "{other} for {values:?}"),
        }
        if values.len() > 1 {
            prop_assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        }
        // Nothing of what was sent comes back: neither in the challenge nor
        // in the body.
        for value in &values {
            let sent = String::from_utf8_lossy(value.as_bytes());
            let sent = sent.trim();
            if let Some(token) = sent.split_once(' ').map(|(_, t)| t.trim()).filter(|t| t.len() >= 8) {
                prop_assert!(!challenge.contains(token) && !answer.body.contains(token),
                    "{token:?} echoed: {challenge} {}", answer.body);
            }
        }
    }
}
