//! JWT access token validation (RFC 9068) against a real JWKS endpoint.
//!
//! A hyper server on `127.0.0.1:0` serves the JWKS with a `Cache-Control`
//! header the test controls, counts hits, and can be "down" (HTTP 500, or a
//! closed connection). Tokens are minted here with aws-lc-rs keys (an
//! implementation independent of the `jsonwebtoken` verifier), and
//! `tests/fixtures/tokens/` holds tokens minted by `PyJWT`
//! (`tests/interop/make_token_fixtures.py`). Each rule has a test that breaks
//! exactly that rule; time comes from a `ManualClock`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    self, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RsaKeyPair,
    RsaPublicKeyComponents,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use mcp_tower_layers::bearer::BearerLayer;
use mcp_tower_layers::clock::ManualClock;
use mcp_tower_layers::fetch::HttpFetcher;
use mcp_tower_layers::token::{
    AccessClaims, JwksSource, JwtValidator, JwtValidatorBuilder, Principal, TokenError,
    TokenValidator, ValidateTokenLayer,
};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower::{Layer, ServiceExt};

const NOW: u64 = 1_700_000_000;
const ISS: &str = "https://as.example.com";
const AUD: &str = "https://mcp.example.com/mcp";

// ---------------------------------------------------------------------------
// Keys and tokens.

enum Signer {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

struct TestKey {
    signer: Signer,
    kid: &'static str,
}

impl TestKey {
    fn public_jwk(&self) -> Value {
        match &self.signer {
            Signer::Rsa(pair) => {
                let parts = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                json!({"kty": "RSA", "kid": self.kid, "use": "sig",
                       "n": b64(&parts.n), "e": b64(&parts.e)})
            }
            Signer::Ec(pair) => {
                let point = pair.public_key().as_ref();
                json!({"kty": "EC", "crv": "P-256", "kid": self.kid, "use": "sig", "alg": "ES256",
                       "x": b64(&point[1..33]), "y": b64(&point[33..])})
            }
        }
    }

    fn sign(&self, alg: &str, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match &self.signer {
            Signer::Rsa(pair) => {
                let padding: &'static dyn signature::RsaEncoding = match alg {
                    "PS256" => &signature::RSA_PSS_SHA256,
                    _ => &signature::RSA_PKCS1_SHA256,
                };
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(padding, &rng, message, &mut sig).unwrap();
                sig
            }
            Signer::Ec(pair) => pair.sign(&rng, message).unwrap().as_ref().to_vec(),
        }
    }

    /// The RSA public key as `SubjectPublicKeyInfo` DER, and as PEM.
    fn rsa_public_der_and_pem(&self) -> (Vec<u8>, String) {
        let Signer::Rsa(pair) = &self.signer else {
            unreachable!()
        };
        let der = pair.public_key().as_der().unwrap().as_ref().to_vec();
        let body = STANDARD.encode(&der);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        );
        (der, pem)
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn rsa() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| TestKey {
        signer: Signer::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).unwrap()),
        kid: "rsa-1",
    })
}

fn ec() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| TestKey {
        signer: Signer::Ec(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap()),
        kid: "ec-1",
    })
}

/// A second EC key, published later (key rotation).
fn ec_next() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| TestKey {
        signer: Signer::Ec(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap()),
        kid: "ec-2",
    })
}

fn jwks(keys: &[&TestKey]) -> String {
    json!({ "keys": keys.iter().map(|k| k.public_jwk()).collect::<Vec<_>>() }).to_string()
}

fn claims() -> Value {
    json!({
        "iss": ISS, "aud": AUD, "sub": "alice", "client_id": "mcp-client",
        "scope": "tools:read tools:call", "iat": NOW, "exp": NOW + 600,
        "jti": "token-1", "cnf": {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}
    })
}

/// A compact JWS over any header and claims JSON.
fn jws(header: &Value, claims: &Value, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let input = format!(
        "{}.{}",
        b64(&serde_json::to_vec(header).unwrap()),
        b64(&serde_json::to_vec(claims).unwrap())
    );
    let sig = sign(input.as_bytes());
    format!("{input}.{}", b64(&sig))
}

fn mint_with(key: &TestKey, alg: &str, header: &Value, claims: &Value) -> String {
    jws(header, claims, |m| key.sign(alg, m))
}

fn mint(key: &TestKey, alg: &str, claims: &Value) -> String {
    mint_with(
        key,
        alg,
        &json!({"alg": alg, "typ": "at+jwt", "kid": key.kid}),
        claims,
    )
}

fn es256(claims: &Value) -> String {
    mint(ec(), "ES256", claims)
}

fn with(name: &str, value: Value) -> Value {
    let mut c = claims();
    c[name] = value;
    c
}

fn hs256(secret: &[u8], claims: &Value) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    jws(
        &json!({"alg": "HS256", "typ": "at+jwt", "kid": "rsa-1"}),
        claims,
        |m| aws_lc_rs::hmac::sign(&key, m).as_ref().to_vec(),
    )
}

// ---------------------------------------------------------------------------
// The JWKS server.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Up,
    Error500,
    Close,
}

struct ServerState {
    body: String,
    cache_control: Option<String>,
    mode: Mode,
    delay: Duration,
}

struct JwksServer {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    control: Arc<Mutex<ServerState>>,
    task: JoinHandle<()>,
}

impl JwksServer {
    async fn start(body: String, cache_control: Option<&str>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let control = Arc::new(Mutex::new(ServerState {
            body,
            cache_control: cache_control.map(str::to_owned),
            mode: Mode::Up,
            delay: Duration::ZERO,
        }));
        let (h, c) = (Arc::clone(&hits), Arc::clone(&control));
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (hits, control) = (Arc::clone(&h), Arc::clone(&c));
                tokio::spawn(async move {
                    let service = service_fn(move |_request: Request<hyper::body::Incoming>| {
                        let (hits, control) = (Arc::clone(&hits), Arc::clone(&control));
                        async move {
                            hits.fetch_add(1, Ordering::SeqCst);
                            let (mode, body, cache_control, delay) = {
                                let c = control.lock().unwrap();
                                (c.mode, c.body.clone(), c.cache_control.clone(), c.delay)
                            };
                            tokio::time::sleep(delay).await;
                            let mut response = Response::builder()
                                .header(header::CONTENT_TYPE, "application/jwk-set+json");
                            if let Some(value) = cache_control {
                                response = response.header(header::CACHE_CONTROL, value);
                            }
                            match mode {
                                Mode::Up => {
                                    Ok(response.body(Full::new(Bytes::from(body))).unwrap())
                                }
                                Mode::Error500 => Ok(response
                                    .status(StatusCode::INTERNAL_SERVER_ERROR)
                                    .body(Full::new(Bytes::from_static(b"oops")))
                                    .unwrap()),
                                // An error from the service makes hyper drop the
                                // connection without an answer.
                                Mode::Close => Err(std::io::Error::other("closing")),
                            }
                        }
                    });
                    let _ = http1::Builder::new()
                        .keep_alive(false)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            hits,
            control,
            task,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/.well-known/jwks.json", self.addr)
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn set_mode(&self, mode: Mode) {
        self.control.lock().unwrap().mode = mode;
    }

    fn set_body(&self, body: String) {
        self.control.lock().unwrap().body = body;
    }

    fn set_delay(&self, delay: Duration) {
        self.control.lock().unwrap().delay = delay;
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn fetcher() -> HttpFetcher {
    HttpFetcher::new().unwrap().timeout(Duration::from_secs(2))
}

/// A validator for the server's JWKS with default cache settings.
fn url_validator(server: &JwksServer, clock: &ManualClock) -> JwtValidator {
    url_builder(server, clock).build().unwrap()
}

fn url_builder(server: &JwksServer, clock: &ManualClock) -> JwtValidatorBuilder {
    JwtValidator::builder()
        .issuer(ISS)
        .audience(AUD)
        .keys(JwksSource::url(&server.url(), fetcher()).unwrap())
        .clock(Arc::new(clock.clone()))
}

/// A server with the RSA and EC keys, `max-age=300`, and a validator at NOW.
async fn setup() -> (JwksServer, ManualClock, JwtValidator) {
    let server = JwksServer::start(jwks(&[rsa(), ec()]), Some("public, max-age=300")).await;
    let clock = ManualClock::new(NOW);
    let validator = url_validator(&server, &clock);
    (server, clock, validator)
}

async fn check(validator: &JwtValidator, token: &str) -> Result<AccessClaims, TokenError> {
    validator.validate(token).await
}

// ---------------------------------------------------------------------------
// Valid tokens.

#[tokio::test]
async fn valid_rs256_ps256_es256_tokens_are_accepted_and_mapped() {
    let (server, _clock, validator) = setup().await;
    for (key, alg) in [(rsa(), "RS256"), (rsa(), "PS256"), (ec(), "ES256")] {
        let c = check(&validator, &mint(key, alg, &claims()))
            .await
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(c.subject(), Some("alice"), "{alg}");
        assert_eq!(c.client_id(), Some("mcp-client"));
        assert!(c.scopes().eq(["tools:read", "tools:call"]));
        assert!(c.audience().eq([AUD]));
        assert_eq!(c.issuer(), Some(ISS));
        assert_eq!(c.expires_at(), Some(NOW + 600));
        assert_eq!(
            c.cnf_jkt(),
            Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I")
        );
        assert_eq!(c.raw()["jti"], "token-1");
    }
    // One fetch served all three.
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn audience_array_containing_ours_is_accepted() {
    let (_server, _clock, validator) = setup().await;
    let token = es256(&with("aud", json!(["https://other.example.com", AUD])));
    let c = check(&validator, &token).await.unwrap();
    assert!(c.audience().eq(["https://other.example.com", AUD]));
}

// ---------------------------------------------------------------------------
// Each rule broken.

#[tokio::test]
async fn expired_token_is_refused() {
    let (_server, _clock, validator) = setup().await;
    let token = es256(&with("exp", json!(NOW - 3600)));
    assert_eq!(check(&validator, &token).await, Err(TokenError::Expired));
}

#[tokio::test]
async fn token_not_yet_valid_is_refused() {
    let (_server, _clock, validator) = setup().await;
    let token = es256(&with("nbf", json!(NOW + 3600)));
    assert_eq!(
        check(&validator, &token).await,
        Err(TokenError::NotYetValid)
    );
}

#[tokio::test]
async fn leeway_boundaries() {
    let (_server, clock, validator) = setup().await;
    // Default leeway 60 s. exp: valid while now < exp + 60.
    let exp = es256(&with("exp", json!(NOW + 100)));
    clock.set(NOW + 159);
    assert!(check(&validator, &exp).await.is_ok());
    clock.set(NOW + 160);
    assert_eq!(check(&validator, &exp).await, Err(TokenError::Expired));
    // nbf: valid once now + 60 >= nbf.
    let nbf = es256(&with("nbf", json!(NOW + 100)));
    clock.set(NOW + 40);
    assert!(check(&validator, &nbf).await.is_ok());
    clock.set(NOW + 39);
    assert_eq!(check(&validator, &nbf).await, Err(TokenError::NotYetValid));

    // Leeway zero: exp is exclusive, nbf inclusive (RFC 7519 §4.1.4, §4.1.5).
    let strict = JwtValidator::builder()
        .issuer(ISS)
        .audience(AUD)
        .keys(JwksSource::from_json(&jwks(&[ec()])).unwrap())
        .leeway(Duration::ZERO)
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    clock.set(NOW + 99);
    assert!(check(&strict, &exp).await.is_ok());
    clock.set(NOW + 100);
    assert_eq!(check(&strict, &exp).await, Err(TokenError::Expired));
    assert!(check(&strict, &nbf).await.is_ok());
    clock.set(NOW + 99);
    assert_eq!(check(&strict, &nbf).await, Err(TokenError::NotYetValid));
}

#[tokio::test]
async fn wrong_audience_is_refused() {
    let (_server, _clock, validator) = setup().await;
    for aud in [
        json!("https://other.example.com"),
        json!("https://mcp.example.com"),
        json!(["https://other.example.com"]),
        json!([]),
    ] {
        let token = es256(&with("aud", aud.clone()));
        assert_eq!(
            check(&validator, &token).await,
            Err(TokenError::WrongAudience),
            "{aud}"
        );
    }
}

#[tokio::test]
async fn wrong_issuer_is_refused() {
    let (_server, _clock, validator) = setup().await;
    for iss in [
        "https://evil.example.com",
        "https://as.example.com/",
        "HTTPS://AS.EXAMPLE.COM",
    ] {
        let token = es256(&with("iss", json!(iss)));
        assert_eq!(
            check(&validator, &token).await,
            Err(TokenError::WrongIssuer),
            "{iss}"
        );
    }
}

#[tokio::test]
async fn alg_none_is_refused_without_any_fetch() {
    let (server, _clock, validator) = setup().await;
    let header = json!({"alg": "none", "typ": "at+jwt", "kid": "ec-1"});
    let unsigned = format!(
        "{}.{}.",
        b64(&serde_json::to_vec(&header).unwrap()),
        b64(&serde_json::to_vec(&claims()).unwrap())
    );
    assert_eq!(
        check(&validator, &unsigned).await,
        Err(TokenError::AlgorithmNotAllowed)
    );
    // With a signature appended, or another spelling.
    let signed = mint_with(ec(), "ES256", &header, &claims());
    assert_eq!(
        check(&validator, &signed).await,
        Err(TokenError::AlgorithmNotAllowed)
    );
    let upper = mint_with(
        ec(),
        "ES256",
        &json!({"alg": "NONE", "typ": "at+jwt"}),
        &claims(),
    );
    assert_eq!(
        check(&validator, &upper).await,
        Err(TokenError::AlgorithmNotAllowed)
    );
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_refused() {
    let (server, clock, validator) = setup().await;
    let (der, pem) = rsa().rsa_public_der_and_pem();
    let Signer::Rsa(pair) = &rsa().signer else {
        unreachable!()
    };
    let pkcs1 = pair.public_key().as_ref().to_vec();
    let forged = [
        hs256(pem.as_bytes(), &claims()),
        hs256(pem.trim_end().as_bytes(), &claims()),
        hs256(&der, &claims()),
        hs256(&pkcs1, &claims()),
    ];
    // Default: no HMAC at all.
    for token in &forged {
        assert_eq!(
            check(&validator, token).await,
            Err(TokenError::AlgorithmNotAllowed)
        );
    }
    // With a shared secret configured, only that secret verifies HMAC
    // tokens: the JWKS keys are never used as HMAC secrets.
    let secret = b"an HMAC secret of at least thirty-two bytes".to_vec();
    let with_secret = url_builder(&server, &clock)
        .hmac_secret(secret.clone())
        .build()
        .unwrap();
    for token in &forged {
        assert_eq!(
            check(&with_secret, token).await,
            Err(TokenError::InvalidSignature)
        );
    }
    assert!(
        check(&with_secret, &hs256(&secret, &claims()))
            .await
            .is_ok()
    );
    // And the public key itself cannot be configured as the secret.
    for material in [pem.into_bytes(), der, pkcs1] {
        let error = url_builder(&server, &clock)
            .hmac_secret(material)
            .build()
            .unwrap_err();
        assert_eq!(error.setting(), "hmac_secret");
    }
}

#[tokio::test]
async fn typ_jwt_is_refused_by_default() {
    let (_server, _clock, validator) = setup().await;
    let jwt = mint_with(
        ec(),
        "ES256",
        &json!({"alg": "ES256", "typ": "JWT", "kid": "ec-1"}),
        &claims(),
    );
    let none = mint_with(
        ec(),
        "ES256",
        &json!({"alg": "ES256", "kid": "ec-1"}),
        &claims(),
    );
    let dpop = mint_with(
        ec(),
        "ES256",
        &json!({"alg": "ES256", "typ": "dpop+jwt", "kid": "ec-1"}),
        &claims(),
    );
    for token in [&jwt, &none, &dpop] {
        assert_eq!(check(&validator, token).await, Err(TokenError::WrongType));
    }
    let app = mint_with(
        ec(),
        "ES256",
        &json!({"alg": "ES256", "typ": "Application/AT+JWT", "kid": "ec-1"}),
        &claims(),
    );
    assert!(check(&validator, &app).await.is_ok());
}

#[tokio::test]
async fn garbage_tokens_are_malformed_and_never_fetch() {
    let (server, _clock, validator) = setup().await;
    let good = es256(&claims());
    let array_header = format!(
        "{}.{}",
        b64(br#"["ES256","at+jwt","ec-1"]"#),
        good.split_once('.').unwrap().1
    );
    let cases = [
        good[..good.len() / 2].to_owned(),
        good[..good.rfind('.').unwrap()].to_owned(),
        format!("{good}."),
        String::new(),
        "not a token".into(),
        "....".into(),
        "eyJhbGciOiJFUzI1NiJ9".into(),
        "e30.e30.e30".into(),
        "%%%.%%%.%%%".into(),
        format!("{}.{}", "A".repeat(50_000), "B".repeat(50_000)),
        format!("{good}{}", "A".repeat(100 * 1024)),
        array_header,
    ];
    for token in &cases {
        let result = check(&validator, token).await;
        assert!(
            matches!(result, Err(TokenError::Malformed(_))),
            "{}: {result:?}",
            token.len()
        );
    }
    assert_eq!(server.hits(), 0);
    assert!(check(&validator, &good).await.is_ok());
}

#[tokio::test]
async fn signature_of_another_key_is_refused() {
    let (_server, _clock, validator) = setup().await;
    // ec-2's signature under ec-1's kid.
    let token = mint_with(
        ec_next(),
        "ES256",
        &json!({"alg": "ES256", "typ": "at+jwt", "kid": "ec-1"}),
        &claims(),
    );
    assert_eq!(
        check(&validator, &token).await,
        Err(TokenError::InvalidSignature)
    );
}

// ---------------------------------------------------------------------------
// The JWKS cache.

#[tokio::test]
async fn unknown_kid_triggers_exactly_one_refetch_then_is_refused() {
    let (server, clock, validator) = setup().await;
    assert!(check(&validator, &es256(&claims())).await.is_ok());
    assert_eq!(server.hits(), 1);
    clock.advance(31);
    let unknown = mint(ec_next(), "ES256", &claims());
    assert_eq!(
        check(&validator, &unknown).await,
        Err(TokenError::UnknownKey)
    );
    assert_eq!(server.hits(), 2);
    assert_eq!(
        check(&validator, &unknown).await,
        Err(TokenError::UnknownKey)
    );
    assert_eq!(server.hits(), 2);
    // Known keys still work without fetching.
    assert!(check(&validator, &es256(&claims())).await.is_ok());
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn a_rotated_in_key_is_fetched_on_first_use() {
    let (server, clock, validator) = setup().await;
    assert!(check(&validator, &es256(&claims())).await.is_ok());
    server.set_body(jwks(&[ec(), ec_next()]));
    clock.advance(30);
    let rotated = mint(ec_next(), "ES256", &claims());
    assert!(check(&validator, &rotated).await.is_ok());
    assert_eq!(server.hits(), 2);
    // The RSA key was removed from the set: its tokens are now unknown.
    clock.advance(30);
    assert_eq!(
        check(&validator, &mint(rsa(), "RS256", &claims())).await,
        Err(TokenError::UnknownKey)
    );
    assert_eq!(server.hits(), 3);
}

#[tokio::test]
async fn refetches_for_unknown_kids_are_rate_limited() {
    let (server, clock, validator) = setup().await;
    assert!(check(&validator, &es256(&claims())).await.is_ok());
    let forged = |i: usize| {
        mint_with(
            ec(),
            "ES256",
            &json!({"alg": "ES256", "typ": "at+jwt", "kid": format!("attacker-{i}")}),
            &claims(),
        )
    };
    for round in 1..=3 {
        clock.advance(30);
        // Many unknown kids at once, and one after another.
        let mut tasks = Vec::new();
        for i in 0..25 {
            let (v, token) = (validator.clone(), forged(i));
            tasks.push(tokio::spawn(async move { v.validate(&token).await }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap(), Err(TokenError::UnknownKey));
        }
        for i in 25..50 {
            assert_eq!(
                check(&validator, &forged(i)).await,
                Err(TokenError::UnknownKey)
            );
        }
        assert_eq!(server.hits(), 1 + round, "one fetch per interval");
    }
    // Within the interval: none.
    clock.advance(29);
    assert_eq!(
        check(&validator, &forged(99)).await,
        Err(TokenError::UnknownKey)
    );
    assert_eq!(server.hits(), 4);
}

#[tokio::test]
async fn concurrent_requests_share_one_fetch() {
    let (server, _clock, validator) = setup().await;
    server.set_delay(Duration::from_millis(200));
    let mut tasks = Vec::new();
    for i in 0..20 {
        let v = validator.clone();
        let token = if i % 2 == 0 {
            es256(&claims())
        } else {
            mint(rsa(), "PS256", &claims())
        };
        tasks.push(tokio::spawn(async move { v.validate(&token).await }));
    }
    for task in tasks {
        assert!(task.await.unwrap().is_ok());
    }
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn a_fetch_survives_the_request_that_started_it() {
    let (server, _clock, validator) = setup().await;
    server.set_delay(Duration::from_millis(200));
    let token = es256(&claims());
    // The first request gives up while the fetch is running.
    let early = tokio::time::timeout(Duration::from_millis(50), validator.validate(&token)).await;
    assert!(early.is_err());
    // The next one waits for that same fetch.
    assert!(check(&validator, &token).await.is_ok());
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn stale_keys_are_used_while_the_jwks_endpoint_is_down() {
    let (server, clock, validator) = setup().await;
    let token = es256(&with("exp", json!(NOW + 100_000)));
    assert!(check(&validator, &token).await.is_ok());
    assert_eq!(server.hits(), 1);

    // HTTP 500 after the set expired (max-age=300).
    server.set_mode(Mode::Error500);
    clock.advance(301);
    assert!(check(&validator, &token).await.is_ok());
    assert_eq!(server.hits(), 2);
    // No retry before the refresh interval.
    clock.advance(10);
    assert!(check(&validator, &token).await.is_ok());
    assert_eq!(server.hits(), 2);

    // Connections closed without an answer.
    server.set_mode(Mode::Close);
    clock.advance(30);
    assert!(check(&validator, &token).await.is_ok());
    let after_close = server.hits();
    assert!(after_close > 2);

    // Back up: the next due fetch replaces the set.
    server.set_mode(Mode::Up);
    server.set_body(jwks(&[ec_next()]));
    clock.advance(30);
    assert_eq!(check(&validator, &token).await, Err(TokenError::UnknownKey));
    assert_eq!(server.hits(), after_close + 1);
}

#[tokio::test]
async fn stale_keys_are_dropped_after_max_stale() {
    let server = JwksServer::start(jwks(&[ec()]), Some("public, max-age=300")).await;
    let clock = ManualClock::new(NOW);
    let keys = JwksSource::url_builder(&server.url(), fetcher())
        .max_stale(Duration::from_secs(600))
        .build()
        .unwrap();
    let validator = JwtValidator::builder()
        .issuer(ISS)
        .audience(AUD)
        .keys(keys)
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let token = es256(&with("exp", json!(NOW + 100_000)));
    assert!(check(&validator, &token).await.is_ok());

    // Down: the set expires at +300 and stays usable until +900.
    server.set_mode(Mode::Error500);
    clock.advance(899);
    assert!(check(&validator, &token).await.is_ok());
    clock.advance(1);
    let result = check(&validator, &token).await;
    assert!(
        matches!(result, Err(TokenError::Unavailable(_))),
        "{result:?}"
    );
    // Between fetches too (the refresh interval has not passed).
    clock.advance(1);
    assert!(matches!(
        check(&validator, &token).await,
        Err(TokenError::Unavailable(_))
    ));
    // Back up: the next due fetch brings the keys back.
    server.set_mode(Mode::Up);
    clock.advance(30);
    assert!(check(&validator, &token).await.is_ok());
}

#[tokio::test]
async fn no_keys_at_all_means_401_unavailable() {
    let server = JwksServer::start(jwks(&[ec()]), None).await;
    server.set_mode(Mode::Error500);
    let clock = ManualClock::new(NOW);
    let validator = url_validator(&server, &clock);
    let token = es256(&claims());
    let result = check(&validator, &token).await;
    assert!(
        matches!(result, Err(TokenError::Unavailable(_))),
        "{result:?}"
    );
    assert_eq!(server.hits(), 1);
    // Refused at once, without hammering the endpoint.
    assert!(matches!(
        check(&validator, &token).await,
        Err(TokenError::Unavailable(_))
    ));
    assert_eq!(server.hits(), 1);
    // A set without a usable key is no better.
    server.set_mode(Mode::Up);
    server.set_body(r#"{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"h"}]}"#.into());
    clock.advance(30);
    assert!(matches!(
        check(&validator, &token).await,
        Err(TokenError::Unavailable(_))
    ));
    assert_eq!(server.hits(), 2);
    // Once it answers, tokens are accepted.
    server.set_body(jwks(&[ec()]));
    clock.advance(30);
    assert!(check(&validator, &token).await.is_ok());
    assert_eq!(server.hits(), 3);
}

#[tokio::test]
async fn cache_control_max_age_is_honoured() {
    let server = JwksServer::start(jwks(&[ec()]), Some("max-age=120, must-revalidate")).await;
    let clock = ManualClock::new(NOW);
    let validator = url_validator(&server, &clock);
    let token = es256(&with("exp", json!(NOW + 100_000)));
    assert!(check(&validator, &token).await.is_ok());
    clock.advance(119);
    assert!(check(&validator, &token).await.is_ok());
    assert_eq!(server.hits(), 1);
    clock.advance(1);
    assert!(check(&validator, &token).await.is_ok());
    assert_eq!(server.hits(), 2);

    // Too short a max-age is raised to the minimum (60 s by default).
    server.control.lock().unwrap().cache_control = Some("max-age=5".into());
    clock.advance(120);
    assert!(check(&validator, &token).await.is_ok());
    assert_eq!(server.hits(), 3);
    clock.advance(59);
    assert!(check(&validator, &token).await.is_ok());
    assert_eq!(server.hits(), 3);
    clock.advance(1);
    assert!(check(&validator, &token).await.is_ok());
    assert_eq!(server.hits(), 4);

    // No header: 5 minutes; configured bounds apply.
    server.control.lock().unwrap().cache_control = None;
    let bounded = JwtValidator::builder()
        .issuer(ISS)
        .audience(AUD)
        .keys(
            JwksSource::url_builder(&server.url(), fetcher())
                .min_ttl(Duration::from_secs(10))
                .default_ttl(Duration::from_secs(40))
                .refresh_interval(Duration::from_secs(5))
                .build()
                .unwrap(),
        )
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    assert!(check(&bounded, &token).await.is_ok());
    assert_eq!(server.hits(), 5);
    clock.advance(39);
    assert!(check(&bounded, &token).await.is_ok());
    assert_eq!(server.hits(), 5);
    clock.advance(1);
    assert!(check(&bounded, &token).await.is_ok());
    assert_eq!(server.hits(), 6);
}

// ---------------------------------------------------------------------------
// Tokens minted by PyJWT.

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tokens")
        .join(name)
}

const FIXTURE_CASES: &[&str] = &[
    "valid_rs256",
    "valid_ps256",
    "valid_es256",
    "valid_audience_array",
    "valid_typ_application_at_jwt",
    "expired",
    "not_yet_valid",
    "wrong_audience",
    "wrong_issuer",
    "missing_exp",
    "typ_jwt",
    "alg_none",
    "hs256_with_rsa_public_pem",
    "rs384_not_allowed",
    "rs256_with_ec_kid",
    "unknown_kid",
    "enc_key",
    "signed_by_other_key",
];

#[tokio::test]
async fn pyjwt_fixtures() {
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("tokens.json")).unwrap()).unwrap();
    let now = doc["now"].as_u64().unwrap();
    let clock = ManualClock::new(now);
    let build = |keys: JwksSource| {
        JwtValidator::builder()
            .issuer(doc["issuer"].as_str().unwrap())
            .audience(doc["audience"].as_str().unwrap())
            .keys(keys)
            .clock(Arc::new(clock.clone()))
            .build()
            .unwrap()
    };
    let jwks_text = std::fs::read_to_string(fixture("jwks.json")).unwrap();
    let validators = [
        build(JwksSource::from_json(&jwks_text).unwrap()),
        build(JwksSource::file(fixture("jwks.json")).unwrap()),
    ];
    // The same RSA key PEM can't be configured as an HMAC secret either.
    let pem = doc["rsa_public_pem"].as_str().unwrap();
    assert!(
        JwtValidator::builder()
            .issuer("x")
            .audience("y")
            .hmac_secret(pem.as_bytes())
            .build()
            .is_err()
    );

    let entries = doc["tokens"].as_array().unwrap();
    let names: Vec<&str> = entries
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names, FIXTURE_CASES,
        "regenerated fixtures lost or gained cases"
    );
    for validator in &validators {
        for entry in entries {
            let name = entry["name"].as_str().unwrap();
            let expect = entry["expect"].as_str().unwrap();
            let result = validator.validate(entry["token"].as_str().unwrap()).await;
            match (expect, result) {
                ("ok", Ok(c)) => {
                    let payload = entry["claims"].as_object().unwrap();
                    assert_eq!(c.raw(), payload, "{name}");
                    assert_eq!(c.subject(), payload["sub"].as_str());
                    assert_eq!(c.client_id(), payload["client_id"].as_str());
                    assert!(c.scopes().eq(["tools:read", "tools:call"]), "{name}");
                    assert!(c.audience().any(|a| a == AUD), "{name}");
                    assert_eq!(c.issuer(), Some(ISS));
                    assert_eq!(c.expires_at(), payload["exp"].as_u64());
                    assert_eq!(
                        c.cnf_jkt(),
                        payload.get("cnf").and_then(|cnf| cnf["jkt"].as_str()),
                        "{name}"
                    );
                }
                ("ok", Err(e)) => panic!("{name}: expected ok, got {e}"),
                (reason, Ok(_)) => panic!("{name}: expected {reason}, got ok"),
                (reason, Err(e)) => assert_eq!(e.reason(), reason, "{name}"),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Through the HTTP layers.

#[tokio::test]
async fn bearer_and_validate_token_layers_around_a_handler() {
    let (server, clock, validator) = setup().await;
    let handler = tower::service_fn(|request: Request<Full<Bytes>>| async move {
        let claims = request.extensions().get::<AccessClaims>().cloned();
        let principal = request.extensions().get::<Principal>().cloned();
        let body = json!({
            "subject": principal.as_ref().map(Principal::subject),
            "scopes": principal.as_ref().map(|p| p.scopes().collect::<Vec<_>>()),
            "client_id": claims.as_ref().and_then(AccessClaims::client_id),
            "aud": claims.as_ref().map(|c| c.audience().collect::<Vec<_>>()),
        });
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body.to_string()))))
    });
    let service = BearerLayer::new().layer(ValidateTokenLayer::new(validator).layer(handler));
    let call = |authorization: Option<String>| {
        let service = service.clone();
        async move {
            let mut request = Request::post("/mcp");
            if let Some(value) = authorization {
                request = request.header(header::AUTHORIZATION, value);
            }
            let response = service
                .oneshot(request.body(Full::new(Bytes::new())).unwrap())
                .await
                .unwrap();
            let status = response.status();
            let challenge = response
                .headers()
                .get(header::WWW_AUTHENTICATE)
                .map(|v| v.to_str().unwrap().to_owned());
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (status, challenge, body)
        }
    };

    // Unbound token (no cnf) as Bearer: reaches the handler.
    let mut good = claims();
    good.as_object_mut().unwrap().remove("cnf");
    let (status, challenge, body) = call(Some(format!("Bearer {}", es256(&good)))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(challenge.is_none());
    let seen: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(seen["subject"], "alice");
    assert_eq!(seen["client_id"], "mcp-client");
    assert_eq!(seen["scopes"], json!(["tools:read", "tools:call"]));
    assert_eq!(seen["aud"], json!([AUD]));

    // A bad token: 401 invalid_token, the token not echoed.
    let expired = es256(&with("exp", json!(NOW - 3600)));
    let (status, challenge, body) = call(Some(format!("Bearer {expired}"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let challenge = challenge.unwrap();
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
    let body = String::from_utf8(body.to_vec()).unwrap();
    assert!(!body.contains(&expired) && !challenge.contains(&expired));

    // Wrong audience and garbage: the same answer.
    for token in [
        es256(&with("aud", json!("https://other.example.com"))),
        "garbage".into(),
    ] {
        let (status, challenge, _) = call(Some(format!("Bearer {token}"))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(challenge.unwrap().contains(r#"error="invalid_token""#));
    }

    // A DPoP-bound token sent as Bearer: refused by the binding rules.
    let (status, _, _) = call(Some(format!("Bearer {}", es256(&claims())))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // No token: 401 without an error code.
    let (status, challenge, _) = call(None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!challenge.unwrap().contains("error="));

    // JWKS never reachable: 401 too (fail closed).
    let down = JwksServer::start(jwks(&[ec()]), None).await;
    down.set_mode(Mode::Error500);
    let unavailable = url_validator(&down, &clock);
    let service = BearerLayer::new().layer(ValidateTokenLayer::new(unavailable).layer(handler));
    let response = service
        .oneshot(
            Request::post("/mcp")
                .header(header::AUTHORIZATION, format!("Bearer {}", es256(&good)))
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains(r#"error="invalid_token""#)
    );
    assert_eq!(server.hits(), 1);
}
