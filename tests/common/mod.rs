//! Shared helpers for the DPoP integration tests: a [`ProofBuilder`] that can
//! craft any proof (valid by default, broken on request), shared test keys,
//! and a [`DpopLayer`] around an echo service called with `oneshot`.
#![allow(dead_code, unreachable_pub, missing_docs)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod mutation;

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_tower_layers::challenge::ResponseBody;
use mcp_tower_layers::clock::ManualClock;
use mcp_tower_layers::dpop::{
    Dpop, DpopLayer, DpopLayerBuilder, DpopVerifier, DpopVerifierBuilder, RequestTarget,
    VerifiedDpop, access_token_hash,
};
use mcp_tower_layers::jose::{Algorithm, b64};
use mcp_tower_layers::keys::DpopKey;
use mcp_tower_layers::replay::MemoryReplayCache;
use serde_json::{Value, json};
use tower::ServiceExt;
use tower::util::ServiceFn;

/// The public base URL the test layers are configured with.
pub const BASE: &str = "https://mcp.example.com";
/// The request path used by the tests.
pub const PATH: &str = "/mcp";
/// `BASE` + `PATH`: the `htu` of a valid proof.
pub const URL: &str = "https://mcp.example.com/mcp";
/// The time the manual clocks start at.
pub const NOW: u64 = 1_700_000_000;
/// The access token presented with `Authorization: DPoP`.
pub const TOKEN: &str = "mcp-tower.secret-access-token_Kz~8mXK1EalYznwH";

// ---------------------------------------------------------------------------
// Keys (generated once per test binary; RSA generation is slow).

/// An ES256 key.
pub fn es256() -> &'static DpopKey {
    static KEY: OnceLock<DpopKey> = OnceLock::new();
    KEY.get_or_init(|| DpopKey::generate(Algorithm::ES256).unwrap())
}

/// Another ES256 key, for "signed by someone else" cases.
pub fn es256_other() -> &'static DpopKey {
    static KEY: OnceLock<DpopKey> = OnceLock::new();
    KEY.get_or_init(|| DpopKey::generate(Algorithm::ES256).unwrap())
}

/// An RS256 key (RSA-2048).
pub fn rs256() -> &'static DpopKey {
    static KEY: OnceLock<DpopKey> = OnceLock::new();
    KEY.get_or_init(|| DpopKey::generate(Algorithm::RS256).unwrap())
}

/// A PS256 key: the same RSA key pair as [`rs256`], used with RSASSA-PSS.
pub fn ps256() -> &'static DpopKey {
    static KEY: OnceLock<DpopKey> = OnceLock::new();
    KEY.get_or_init(|| DpopKey::from_pkcs8(Algorithm::PS256, &rs256().to_pkcs8().unwrap()).unwrap())
}

/// A fresh, process-unique `jti`.
pub fn unique_jti() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("jti-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

// ---------------------------------------------------------------------------
// Proof crafting.

/// The pieces of a crafted proof, before and after encoding.
#[derive(Debug, Clone)]
pub struct ProofParts {
    /// The header bytes (normally JSON).
    pub header_json: Vec<u8>,
    /// The payload bytes (normally JSON).
    pub claims_json: Vec<u8>,
    /// base64url of `header_json`.
    pub header_b64: String,
    /// base64url of `claims_json`.
    pub claims_b64: String,
    /// The signature bytes.
    pub signature: Vec<u8>,
    /// base64url of `signature`.
    pub signature_b64: String,
}

impl ProofParts {
    /// The compact JWS `header.claims.signature`.
    pub fn compact(&self) -> String {
        format!(
            "{}.{}.{}",
            self.header_b64, self.claims_b64, self.signature_b64
        )
    }
}

/// Builds a compact JWS from an arbitrary header and payload. By default it
/// is a valid DPoP proof for the key, method, URL, `iat` and token given to
/// [`ProofBuilder::new`]; every part can be overridden or removed.
#[derive(Clone)]
pub struct ProofBuilder<'k> {
    signer: &'k DpopKey,
    header: Value,
    claims: Value,
    raw_header: Option<Vec<u8>>,
    raw_claims: Option<Vec<u8>>,
    signature: Option<Vec<u8>>,
}

impl<'k> ProofBuilder<'k> {
    /// A valid proof: header `{"typ":"dpop+jwt","alg":..,"jwk":..}`, claims
    /// `jti` (unique), `htm`, `htu`, `iat` and, with a token, `ath`.
    pub fn new(key: &'k DpopKey, method: &str, url: &str, iat: i64, token: Option<&str>) -> Self {
        let jwk: Value = serde_json::from_str(&key.jwk().canonical_json()).unwrap();
        let header = json!({ "typ": "dpop+jwt", "alg": key.alg().as_str(), "jwk": jwk });
        let mut claims = json!({ "jti": unique_jti(), "htm": method, "htu": url, "iat": iat });
        if let Some(token) = token {
            claims["ath"] = Value::String(access_token_hash(token));
        }
        Self {
            signer: key,
            header,
            claims,
            raw_header: None,
            raw_claims: None,
            signature: None,
        }
    }

    /// The default proof of the tests: `POST` [`URL`] at [`NOW`] with [`TOKEN`].
    pub fn valid(key: &'k DpopKey) -> Self {
        Self::new(key, "POST", URL, now(), Some(TOKEN))
    }

    /// Sets (or adds) a header member.
    #[must_use]
    pub fn header(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.header[name] = value.into();
        self
    }

    /// Removes a header member.
    #[must_use]
    pub fn remove_header(mut self, name: &str) -> Self {
        if let Some(map) = self.header.as_object_mut() {
            map.remove(name);
        }
        self
    }

    /// Replaces the whole header with any JSON value.
    #[must_use]
    pub fn header_value(mut self, header: Value) -> Self {
        self.header = header;
        self
    }

    /// Replaces the header with raw bytes (not necessarily JSON).
    #[must_use]
    pub fn raw_header(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.raw_header = Some(bytes.into());
        self
    }

    /// Sets (or adds) a claim.
    #[must_use]
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.claims[name] = value.into();
        self
    }

    /// Removes a claim.
    #[must_use]
    pub fn remove_claim(mut self, name: &str) -> Self {
        if let Some(map) = self.claims.as_object_mut() {
            map.remove(name);
        }
        self
    }

    /// Replaces the whole payload with any JSON value.
    #[must_use]
    pub fn claims_value(mut self, claims: Value) -> Self {
        self.claims = claims;
        self
    }

    /// Replaces the payload with raw bytes (not necessarily JSON).
    #[must_use]
    pub fn raw_claims(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.raw_claims = Some(bytes.into());
        self
    }

    /// `jti`.
    #[must_use]
    pub fn jti(self, jti: impl Into<String>) -> Self {
        self.claim("jti", jti.into())
    }

    /// `htm`.
    #[must_use]
    pub fn htm(self, htm: &str) -> Self {
        self.claim("htm", htm)
    }

    /// `htu`.
    #[must_use]
    pub fn htu(self, htu: &str) -> Self {
        self.claim("htu", htu)
    }

    /// `iat`.
    #[must_use]
    pub fn iat(self, iat: i64) -> Self {
        self.claim("iat", iat)
    }

    /// `ath` for `token`.
    #[must_use]
    pub fn ath_for(self, token: &str) -> Self {
        self.claim("ath", access_token_hash(token))
    }

    /// `nonce`.
    #[must_use]
    pub fn nonce(self, nonce: &str) -> Self {
        self.claim("nonce", nonce)
    }

    /// Signs with another key (the header keeps its `jwk` and `alg`).
    #[must_use]
    pub fn signed_by(mut self, key: &'k DpopKey) -> Self {
        self.signer = key;
        self
    }

    /// Uses these signature bytes instead of signing.
    #[must_use]
    pub fn signature(mut self, signature: impl Into<Vec<u8>>) -> Self {
        self.signature = Some(signature.into());
        self
    }

    /// The header as JSON (ignores a raw header).
    pub fn header_json(&self) -> &Value {
        &self.header
    }

    /// The claims as JSON (ignores raw claims).
    pub fn claims_json(&self) -> &Value {
        &self.claims
    }

    /// Encodes and signs.
    pub fn parts(&self) -> ProofParts {
        let header_json = self
            .raw_header
            .clone()
            .unwrap_or_else(|| serde_json::to_vec(&self.header).unwrap());
        let claims_json = self
            .raw_claims
            .clone()
            .unwrap_or_else(|| serde_json::to_vec(&self.claims).unwrap());
        let header_b64 = b64::encode(&header_json);
        let claims_b64 = b64::encode(&claims_json);
        let signature = match &self.signature {
            Some(sig) => sig.clone(),
            None => self
                .signer
                .sign(format!("{header_b64}.{claims_b64}").as_bytes())
                .unwrap(),
        };
        let signature_b64 = b64::encode(&signature);
        ProofParts {
            header_json,
            claims_json,
            header_b64,
            claims_b64,
            signature,
            signature_b64,
        }
    }

    /// The compact JWS.
    pub fn build(&self) -> String {
        self.parts().compact()
    }
}

/// [`NOW`] as the `i64` of an `iat` claim.
pub fn now() -> i64 {
    i64::try_from(NOW).unwrap()
}

// ---------------------------------------------------------------------------
// Logs.

/// An in-memory log sink.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The logs of every test in this binary, at TRACE level.
///
/// A global subscriber, installed before the first layer or verifier is
/// built: a thread-local one misses events whose callsites other test threads
/// register concurrently.
pub fn logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Captured::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        logs
    })
}

// ---------------------------------------------------------------------------
// Layer, verifier and requests.

/// A manual clock standing at [`NOW`]. Also installs the log capture.
pub fn clock() -> ManualClock {
    logs();
    ManualClock::new(NOW)
}

/// A layer builder for [`BASE`] reading time from `clock`.
pub fn layer_builder(clock: &ManualClock) -> DpopLayerBuilder<MemoryReplayCache> {
    logs();
    DpopLayer::builder()
        .target(RequestTarget::public_base_url(BASE).unwrap())
        .clock(Arc::new(clock.clone()))
}

/// A verifier builder reading time from `clock`.
pub fn verifier_builder(clock: &ManualClock) -> DpopVerifierBuilder {
    logs();
    DpopVerifier::builder().clock(Arc::new(clock.clone()))
}

/// A verifier with the default settings at [`NOW`].
pub fn verifier() -> DpopVerifier {
    verifier_builder(&clock()).build().unwrap()
}

/// The echo handler's type.
pub type EchoFn = fn(Request<()>) -> Ready<Result<Response<Full<Bytes>>, Infallible>>;
/// A current-thread runtime shared by the property tests, which run async
/// code from synchronous `proptest!` bodies.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    })
}

/// The service under test: a [`DpopLayer`] around the echo handler.
pub type EchoService = Dpop<ServiceFn<EchoFn>, MemoryReplayCache>;

/// Answers 200 with the [`VerifiedDpop`] extension as JSON, or
/// `{"dpop":null}` when there is none.
#[allow(clippy::needless_pass_by_value)] // the signature `service_fn` needs
fn echo(request: Request<()>) -> Ready<Result<Response<Full<Bytes>>, Infallible>> {
    let body = match request.extensions().get::<VerifiedDpop>() {
        Some(v) => json!({
            "jkt": v.jkt, "alg": v.alg.as_str(), "htm": v.htm, "htu": v.htu, "iat": v.iat, "jti": v.jti,
            "token_bound": v.token_bound,
        }),
        None => json!({ "dpop": null }),
    };
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    ready(Ok(response))
}

/// Wraps the echo handler in `layer`.
pub fn service(layer: &DpopLayer) -> EchoService {
    tower::Layer::layer(layer, tower::service_fn(echo as EchoFn))
}

/// A request to [`PATH`] with an optional proof and an optional
/// `Authorization: DPoP <token>`.
pub fn request(method: &str, proof: Option<&str>, token: Option<&str>) -> Request<()> {
    let mut builder = Request::builder().method(method).uri(PATH);
    if let Some(proof) = proof {
        builder = builder.header("dpop", proof);
    }
    if let Some(token) = token {
        builder = builder.header("authorization", format!("DPoP {token}"));
    }
    builder.body(()).unwrap()
}

/// `POST /mcp` with `proof` and `Authorization: DPoP` [`TOKEN`].
pub fn post(proof: &str) -> Request<()> {
    request("POST", Some(proof), Some(TOKEN))
}

/// What the layered service answered.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The raw body text.
    pub text: String,
    /// The body parsed as JSON (`Value::Null` when it is not JSON).
    pub body: Value,
}

impl Reply {
    /// The single `WWW-Authenticate` header, if any.
    pub fn www_authenticate(&self) -> Option<&str> {
        let mut all = self.headers.get_all(http::header::WWW_AUTHENTICATE).iter();
        let first = all.next()?;
        assert!(
            all.next().is_none(),
            "more than one WWW-Authenticate: {:?}",
            self.headers
        );
        Some(first.to_str().unwrap())
    }

    /// A header as a string.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// Everything a client sees: status, headers and body.
    pub fn everything(&self) -> String {
        format!("{} {:?} {}", self.status, self.headers, self.text)
    }
}

/// Sends `request` through a clone of `service` with `oneshot`.
pub async fn call(service: &EchoService, request: Request<()>) -> Reply {
    let response: Response<ResponseBody<Full<Bytes>>> =
        service.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status: parts.status,
        headers: parts.headers,
        text,
        body,
    }
}

/// Builds a layer from `builder` and sends one request through it.
pub async fn call_layer(
    builder: DpopLayerBuilder<MemoryReplayCache>,
    request: Request<()>,
) -> Reply {
    call(&service(&builder.build().unwrap()), request).await
}

/// Converts a fixed-size ES256 `r || s` signature to ASN.1 DER.
pub fn es256_der(fixed: &[u8]) -> Vec<u8> {
    fn integer(bytes: &[u8]) -> Vec<u8> {
        let start = bytes
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(bytes.len() - 1);
        let mut value = bytes[start..].to_vec();
        if value[0] & 0x80 != 0 {
            value.insert(0, 0);
        }
        let mut out = vec![0x02, u8::try_from(value.len()).unwrap()];
        out.extend(value);
        out
    }
    assert_eq!(fixed.len(), 64);
    let mut body = integer(&fixed[..32]);
    body.extend(integer(&fixed[32..]));
    let mut out = vec![0x30, u8::try_from(body.len()).unwrap()];
    out.extend(body);
    out
}
