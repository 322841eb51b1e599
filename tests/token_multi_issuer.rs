//! `MultiIssuerValidator`: routing JWTs by their (unverified) `iss` to the
//! validator of that issuer, refusing unknown issuers, opaque tokens going
//! to a fallback, and malformed payloads.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_tower_layers::bearer::BearerLayer;
use mcp_tower_layers::token::{
    AccessClaims, ApiKeyGrant, ApiKeyValidator, MultiIssuerValidator, Principal, TokenError,
    TokenValidator, ValidateTokenLayer, ValidationFuture,
};
use serde_json::{Value, json};
use tower::{ServiceBuilder, ServiceExt};

const AS1: &str = "https://as1.example.com";
const AS2: &str = "https://as2.example.com/tenant";
const API_KEY: &str = "mcp_sk_fallback_Qw8Er5Ty2Ui9";

/// Stands in for a JWT validator: records the tokens it saw and trusts the
/// payload (the real one verifies the signature).
#[derive(Clone)]
struct Recording {
    name: &'static str,
    seen: Arc<Mutex<Vec<(&'static str, String)>>>,
}

impl TokenValidator for Recording {
    fn validate(&self, token: &str) -> ValidationFuture {
        self.seen
            .lock()
            .unwrap()
            .push((self.name, token.to_owned()));
        let payload = token.split('.').nth(1).unwrap();
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        let Value::Object(map) = claims else {
            unreachable!()
        };
        Box::pin(std::future::ready(Ok(AccessClaims::from_claims(map))))
    }
}

fn jwt(header: &Value, payload: &str) -> String {
    format!(
        "{}.{}.c2lnbmF0dXJl",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload)
    )
}

fn token(claims: &Value) -> String {
    jwt(
        &json!({"alg": "ES256", "typ": "at+jwt", "kid": "k1"}),
        &claims.to_string(),
    )
}

struct Setup {
    router: MultiIssuerValidator,
    seen: Arc<Mutex<Vec<(&'static str, String)>>>,
}

fn setup(with_fallback: bool) -> Setup {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recording = |name| Recording {
        name,
        seen: Arc::clone(&seen),
    };
    let mut builder = MultiIssuerValidator::builder()
        .issuer(AS1, recording("as1"))
        .issuer(AS2, recording("as2"));
    if with_fallback {
        builder = builder.fallback(
            ApiKeyValidator::builder()
                .key(API_KEY, ApiKeyGrant::new("ci-bot", ["tools:read"]))
                .build()
                .unwrap(),
        );
    }
    Setup {
        router: builder.build().unwrap(),
        seen,
    }
}

#[tokio::test]
async fn routes_each_token_to_the_validator_of_its_issuer() {
    let s = setup(false);
    let one = token(&json!({"iss": AS1, "sub": "alice"}));
    let two = token(&json!({"iss": AS2, "sub": "bob", "aud": "x"}));
    let claims = s.router.validate(&one).await.unwrap();
    assert_eq!(claims.subject(), Some("alice"));
    let claims = s.router.validate(&two).await.unwrap();
    assert_eq!(claims.subject(), Some("bob"));
    assert_eq!(claims.issuer(), Some(AS2));
    let seen = s.seen.lock().unwrap().clone();
    assert_eq!(seen, [("as1", one), ("as2", two)]);
}

#[tokio::test]
async fn unknown_issuers_are_refused_before_any_validator_runs() {
    let s = setup(true);
    for iss in [
        "https://evil.example.com",
        "https://as1.example.com/",
        "HTTPS://AS1.EXAMPLE.COM",
        "",
    ] {
        assert_eq!(
            s.router.validate(&token(&json!({"iss": iss}))).await,
            Err(TokenError::WrongIssuer),
            "{iss}"
        );
    }
    assert!(s.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn opaque_tokens_go_to_the_fallback() {
    let s = setup(true);
    let claims = s.router.validate(API_KEY).await.unwrap();
    assert_eq!(claims.subject(), Some("ci-bot"));
    assert_eq!(
        s.router.validate("not-a-known-key").await,
        Err(TokenError::Inactive)
    );
    // Dotted, but without a JSON object header: not a JWT.
    assert_eq!(
        s.router.validate("abc.def.ghi").await,
        Err(TokenError::Inactive)
    );
    assert!(s.seen.lock().unwrap().is_empty());

    // Without a fallback they are malformed.
    let s = setup(false);
    assert!(matches!(
        s.router.validate(API_KEY).await,
        Err(TokenError::Malformed(_))
    ));
}

#[tokio::test]
async fn jwts_without_a_readable_issuer_are_refused() {
    let s = setup(true);
    let header = json!({"alg": "ES256"});
    for payload in [
        r#"["iss", "https://as1.example.com"]"#,
        r#""https://as1.example.com""#,
        "null",
        "{not json",
        "",
    ] {
        assert!(
            matches!(
                s.router.validate(&jwt(&header, payload)).await,
                Err(TokenError::Malformed(_))
            ),
            "{payload}"
        );
    }
    for claims in [
        json!({"sub": "alice"}),
        json!({"iss": ["https://as1.example.com"]}),
    ] {
        assert_eq!(
            s.router.validate(&token(&claims)).await,
            Err(TokenError::InvalidClaim("iss"))
        );
    }
    // Padding or the standard alphabet in the payload: not base64url.
    let padded = format!(
        "{}.{}=.sig",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(r#"{"iss":"https://as1.example.com"}"#)
    );
    assert!(matches!(
        s.router.validate(&padded).await,
        Err(TokenError::Malformed(_))
    ));
    assert!(s.seen.lock().unwrap().is_empty());
}

async fn handler(request: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
    let principal = request.extensions().get::<Principal>().cloned().unwrap();
    Ok(Response::new(Full::new(Bytes::from(
        principal.subject().to_owned(),
    ))))
}

#[tokio::test]
async fn through_the_layers() {
    let s = setup(true);
    let stack = ServiceBuilder::new()
        .layer(BearerLayer::new())
        .layer(ValidateTokenLayer::new(s.router))
        .service_fn(handler);
    for (value, status, body) in [
        (
            format!("Bearer {}", token(&json!({"iss": AS1, "sub": "alice"}))),
            StatusCode::OK,
            "alice",
        ),
        (format!("Bearer {API_KEY}"), StatusCode::OK, "ci-bot"),
        (
            format!(
                "Bearer {}",
                token(&json!({"iss": "https://evil.example.com"}))
            ),
            StatusCode::UNAUTHORIZED,
            "",
        ),
    ] {
        let request = Request::post("https://mcp.example.com/mcp")
            .header(http::header::AUTHORIZATION, value)
            .body(Full::default())
            .unwrap();
        let response = stack.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), status);
        if status == StatusCode::OK {
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(bytes, body);
        }
    }
}

/// Two real `JwtValidator`s, each with its issuer's keys: a token is only
/// good at the issuer that signed it, whatever `iss` it claims.
#[tokio::test]
async fn real_jwt_validators_side_by_side() {
    use mcp_tower_layers::jose::Algorithm;
    use mcp_tower_layers::keys::DpopKey;
    use mcp_tower_layers::token::{JwksSource, JwtValidator};

    let audience = "https://mcp.example.com/mcp";
    let key1 = DpopKey::generate(Algorithm::ES256).unwrap();
    let key2 = DpopKey::generate(Algorithm::PS256).unwrap();
    let validator = |issuer: &str, key: &DpopKey| {
        let jwk = key.jwk().canonical_json();
        let jwks = format!(
            r#"{{"keys":[{{"kid":"k","alg":"{}",{}]}}"#,
            key.alg(),
            &jwk[1..]
        );
        JwtValidator::builder()
            .issuer(issuer)
            .audience(audience)
            .keys(JwksSource::from_json(&jwks).unwrap())
            .build()
            .unwrap()
    };
    let multi = MultiIssuerValidator::builder()
        .issuer(AS1, validator(AS1, &key1))
        .issuer(AS2, validator(AS2, &key2))
        .build()
        .unwrap();
    let mint = |issuer: &str, key: &DpopKey| {
        let header = format!(r#"{{"alg":"{}","typ":"at+jwt","kid":"k"}}"#, key.alg());
        let claims = json!({"iss": issuer, "aud": audience, "sub": "u", "exp": 4_000_000_000u64});
        key.sign_compact(header.as_bytes(), claims.to_string().as_bytes())
            .unwrap()
    };
    let from_as1 = multi.validate(&mint(AS1, &key1)).await.unwrap();
    assert_eq!(from_as1.issuer(), Some(AS1));
    let from_as2 = multi.validate(&mint(AS2, &key2)).await.unwrap();
    assert_eq!(from_as2.issuer(), Some(AS2));
    // AS1's key cannot speak for AS2.
    let forged = multi.validate(&mint(AS2, &key1)).await.unwrap_err();
    assert!(
        matches!(
            forged,
            TokenError::InvalidSignature | TokenError::AlgorithmNotAllowed | TokenError::UnknownKey
        ),
        "{forged:?}"
    );
}
