//! Token introspection (RFC 7662): [`IntrospectionValidator`] asks the
//! authorization server whether an opaque (or any) access token is active.
//!
//! - The request (RFC 7662 §2.1) is a form-encoded POST of
//!   `token=...&token_type_hint=access_token`, authenticated with the
//!   resource server's client credentials (`client_secret_basic` by default,
//!   `client_secret_post` on request; RFC 6749 §2.3.1).
//! - The response (RFC 7662 §2.2) must be a 200 JSON object whose `active`
//!   member is a boolean; `active: false` refuses the token. Anything else
//!   (transport failure, timeout, another status, bad JSON, no `active`)
//!   refuses it too, with [`TokenError::Unavailable`]: the validator fails
//!   closed and logs an error (target `mcp_tower::token`) that never contains
//!   the token or the client secret.
//! - Then `exp` / `nbf` are checked with the [`Clock`](crate::clock::Clock),
//!   `iss` when an issuer is configured, and `aud`, which must name this
//!   resource (RFC 8707; the MCP authorization specification forbids
//!   accepting tokens issued for other resources). An audience is required
//!   to build the validator; only the explicit
//!   [`accept_any_audience`](IntrospectionValidatorBuilder::accept_any_audience)
//!   opt-out turns the check off.
//! - `cnf` follows the rule of the JWT path: when present it must be an
//!   object with a string `jkt` (RFC 7800 §3.1, RFC 9449 §6), which the
//!   [`ValidateTokenLayer`](super::ValidateTokenLayer) checks against the
//!   DPoP proof. Any other confirmation (an empty object, only `x5t#S256`
//!   for a certificate-bound token, RFC 8705 §3, a non-string `jkt`, a
//!   non-object) is refused with [`TokenError::InvalidClaim`]`("cnf")`: a
//!   sender-constrained token whose constraint this resource cannot check
//!   is never taken as an unbound bearer token.
//! - Answers are cached (RFC 7662 §4 allows it) under the SHA-256 of the
//!   token, never the token itself: accepted tokens until their `exp` but at
//!   most the cache TTL (default 60 s), refused ones for a short negative TTL
//!   (default 5 s); the cache is bounded and evicts the entries closest to
//!   expiry first. Concurrent validations of one token share one request.
//! - At most [`max_concurrent_requests`](IntrospectionValidatorBuilder::max_concurrent_requests)
//!   requests (default 64) are in flight at once, so junk tokens cannot make
//!   this resource flood the authorization server; a token that would need
//!   one more is refused at once, like a failure of the endpoint (not cached).
//!
//! # Secrets in memory
//!
//! What this module allocates for a secret is zeroized when it is dropped:
//! the validator's copy of the token; the request body (which holds the
//! token, and with `client_secret_post` the client secret), built in one
//! exactly sized buffer and handed to the HTTP client as [`Bytes`] that own
//! it, so it is zeroized once the client drops the last reference; the
//! `client_secret_post` credentials, form-encoded once at build time; and
//! the `client_secret_basic` `Authorization` value, built once at build time
//! as a sensitive [`HeaderValue`] whose per-request clones share its bytes.
//! The builder's copy of the secret is zeroized when `build` returns.
//!
//! Copies made outside this module are out of its reach: hyper encodes the
//! request line and headers into its own write buffer and may copy the body
//! there too, rustls copies the plaintext into its record buffers, the
//! kernel has its socket buffers, and the caller owns the token it passed to
//! [`validate`](TokenValidator::validate) and the secret it passed to the
//! builder. Zeroizing narrows the window in which a memory disclosure can
//! reveal these secrets; it does not close it.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use http::{Request, StatusCode, Uri};
use http_body_util::Full;
use serde_json::{Map, Value};
use tokio::sync::{OnceCell, Semaphore};
use zeroize::Zeroizing;

use crate::clock::{self, SharedClock};
use crate::config::ConfigError;
use crate::fetch::{self, HttpFetcher};

use super::claim_set::{self, Claim};
use super::claims::{self, AccessClaims};
use super::validator::{TokenError, TokenValidator, ValidationFuture};

/// Default longest time an accepted token's introspection answer is reused.
pub const DEFAULT_CACHE_TTL_SECS: u64 = 60;
/// Default time a refusal (`active: false`, wrong audience, ...) is reused.
pub const DEFAULT_NEGATIVE_CACHE_TTL_SECS: u64 = 5;
/// Default number of cached answers.
pub const DEFAULT_CACHE_CAPACITY: usize = 10_000;
/// Longest token sent to the endpoint; longer ones are refused as malformed.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Default cap on introspection requests in flight at once.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 64;

/// How the resource server authenticates to the introspection endpoint
/// (RFC 6749 §2.3.1, RFC 7591 §2 `token_endpoint_auth_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ClientAuthMethod {
    /// HTTP Basic with the form-encoded client id and secret (the default).
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
}

/// The SHA-256 of a token: the only form in which a token is kept.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct TokenHash([u8; 32]);

impl TokenHash {
    fn of(token: &str) -> Self {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        Self(out)
    }
}

/// The outcome of one introspection, shared by concurrent callers.
type Outcome = Result<AccessClaims, TokenError>;
type Flight = OnceCell<Outcome>;

struct Cached {
    /// The entry is good while `now < until`.
    until: u64,
    outcome: Outcome,
}

/// A bounded cache keyed by token hash, with an expiry index for eviction.
struct Cache {
    capacity: usize,
    entries: HashMap<TokenHash, Cached>,
    by_expiry: BTreeSet<(u64, TokenHash)>,
}

impl Cache {
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: HashMap::new(),
            by_expiry: BTreeSet::new(),
        }
    }

    fn get(&mut self, key: &TokenHash, now: u64) -> Option<Outcome> {
        let until = self.entries.get(key)?.until;
        if now < until {
            return self.entries.get(key).map(|c| c.outcome.clone());
        }
        self.remove(key);
        None
    }

    fn remove(&mut self, key: &TokenHash) {
        if let Some(old) = self.entries.remove(key) {
            self.by_expiry.remove(&(old.until, *key));
        }
    }

    fn insert(&mut self, key: TokenHash, until: u64, outcome: Outcome, now: u64) {
        if self.capacity == 0 || until <= now {
            return;
        }
        self.remove(&key);
        // Expired entries go first, then those closest to expiry: a flood of
        // unknown tokens (short negative entries) cannot push out accepted ones
        // before its own entries.
        while let Some(&(first_until, first_key)) = self.by_expiry.first() {
            if first_until > now && self.entries.len() < self.capacity {
                break;
            }
            self.by_expiry.pop_first();
            self.entries.remove(&first_key);
        }
        self.by_expiry.insert((until, key));
        self.entries.insert(key, Cached { until, outcome });
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

struct State {
    cache: Cache,
    inflight: HashMap<TokenHash, Arc<Flight>>,
}

/// The client credentials, in the form each request sends them.
enum Credentials {
    /// `client_secret_basic`: the whole `Authorization` value
    /// `Basic base64(form(client_id) ":" form(secret))`, built once and
    /// marked sensitive. Its bytes are owned by a `Zeroizing` buffer, and a
    /// clone only bumps their reference count, so no request makes a copy.
    Basic(HeaderValue),
    /// `client_secret_post`: `&client_id=..&client_secret=..`, form-encoded
    /// once, appended to each request body.
    Post(Zeroizing<Vec<u8>>),
}

struct Inner {
    endpoint: Uri,
    /// `scheme://authority/path` without user info or query, for logs.
    endpoint_label: String,
    fetcher: HttpFetcher,
    client_id: String,
    auth_method: ClientAuthMethod,
    credentials: Credentials,
    /// The audiences that name this resource; empty only with
    /// `any_audience`.
    audiences: Vec<String>,
    /// The [`accept_any_audience`](IntrospectionValidatorBuilder::accept_any_audience)
    /// opt-out: `aud` is not matched against `audiences`.
    any_audience: bool,
    issuer: Option<String>,
    clock: SharedClock,
    leeway: u64,
    ttl: u64,
    negative_ttl: u64,
    /// One per request that may be in flight.
    permits: Semaphore,
    state: Mutex<State>,
}

/// A [`TokenValidator`] asking an RFC 7662 introspection endpoint; see the
/// [module docs](self). Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct IntrospectionValidator {
    inner: Arc<Inner>,
}

/// Builder for [`IntrospectionValidator`].
pub struct IntrospectionValidatorBuilder {
    endpoint: String,
    client: Option<(String, Zeroizing<String>)>,
    auth_method: ClientAuthMethod,
    audiences: Vec<String>,
    any_audience: bool,
    issuer: Option<String>,
    clock: SharedClock,
    fetcher: Option<HttpFetcher>,
    timeout: Option<Duration>,
    leeway: u64,
    ttl: u64,
    negative_ttl: u64,
    capacity: usize,
    max_concurrent: usize,
}

impl IntrospectionValidator {
    /// A builder for the introspection endpoint at `endpoint` (`https`, or
    /// `http` on a loopback host). Client credentials and this resource's
    /// [`audience`](IntrospectionValidatorBuilder::audience) are required.
    pub fn builder(endpoint: impl Into<String>) -> IntrospectionValidatorBuilder {
        IntrospectionValidatorBuilder {
            endpoint: endpoint.into(),
            client: None,
            auth_method: ClientAuthMethod::default(),
            audiences: Vec::new(),
            any_audience: false,
            issuer: None,
            clock: clock::system(),
            fetcher: None,
            timeout: None,
            leeway: 0,
            ttl: DEFAULT_CACHE_TTL_SECS,
            negative_ttl: DEFAULT_NEGATIVE_CACHE_TTL_SECS,
            capacity: DEFAULT_CACHE_CAPACITY,
            max_concurrent: DEFAULT_MAX_CONCURRENT_REQUESTS,
        }
    }

    /// How many answers are cached now.
    pub fn cached_entries(&self) -> usize {
        self.inner.lock().cache.len()
    }
}

impl IntrospectionValidatorBuilder {
    /// The resource server's client id and secret at the authorization
    /// server. The secret is zeroized when the validator is dropped and never
    /// shown by `Debug`.
    #[must_use]
    pub fn client_credentials(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        self.client = Some((client_id.into(), Zeroizing::new(client_secret.into())));
        self
    }

    /// How to send the client credentials (default `client_secret_basic`).
    #[must_use]
    pub fn auth_method(mut self, method: ClientAuthMethod) -> Self {
        self.auth_method = method;
        self
    }

    /// Accept only tokens whose `aud` contains `audience` (this resource's
    /// identifier, RFC 8707), e.g. `https://mcp.example.com`. May be called
    /// again to accept several. Required: [`build`](Self::build) fails
    /// without one, unless [`accept_any_audience`](Self::accept_any_audience)
    /// is called instead.
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Turns the audience check off: accepts active tokens whatever their
    /// `aud` names (it is still refused if present with the wrong type).
    /// Only for authorization servers whose introspection responses carry
    /// no `aud`; it cannot be combined with [`audience`](Self::audience).
    ///
    /// # Danger
    ///
    /// With this opt-out every active token the authorization server issued
    /// to anyone is accepted here, including tokens issued for *other*
    /// resources. Any other resource server (or whoever stole a token from
    /// one) can then replay its tokens against this one. The MCP
    /// authorization specification forbids accepting tokens issued for
    /// other resources (RFC 8707; RFC 9700 §2.3 asks for audience-restricted
    /// tokens). Prefer an authorization server that returns `aud`; otherwise
    /// use one that issues tokens for this resource only (e.g. one client or
    /// one authorization server per resource). Building with it logs a
    /// warning.
    #[must_use]
    pub fn accept_any_audience(mut self) -> Self {
        self.any_audience = true;
        self
    }

    /// Accept only tokens whose `iss` is `issuer` (exact match).
    #[must_use]
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The time source for `exp` / `nbf` and the cache.
    #[must_use]
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Allowed clock difference for `exp` / `nbf`, in seconds (default 0).
    #[must_use]
    pub fn leeway_secs(mut self, secs: u64) -> Self {
        self.leeway = secs;
        self
    }

    /// The HTTP client (default: [`HttpFetcher::new`], web PKI roots).
    #[must_use]
    pub fn fetcher(mut self, fetcher: HttpFetcher) -> Self {
        self.fetcher = Some(fetcher);
        self
    }

    /// Time allowed for one introspection request (default: the fetcher's,
    /// [`fetch::DEFAULT_TIMEOUT`]).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Longest time an accepted token's answer is reused, in seconds
    /// (default 60; never beyond the token's `exp`; 0 disables).
    #[must_use]
    pub fn cache_ttl_secs(mut self, secs: u64) -> Self {
        self.ttl = secs;
        self
    }

    /// Time a refusal is reused, in seconds (default 5; 0 disables).
    #[must_use]
    pub fn negative_cache_ttl_secs(mut self, secs: u64) -> Self {
        self.negative_ttl = secs;
        self
    }

    /// Most answers kept (default 10 000; 0 disables caching).
    #[must_use]
    pub fn cache_capacity(mut self, entries: usize) -> Self {
        self.capacity = entries;
        self
    }

    /// Most introspection requests in flight at once (default 64). Each
    /// token not in the cache costs a request to the authorization server,
    /// so a client sending junk tokens could otherwise make this resource
    /// flood it; concurrent checks of one token share a request and count
    /// once. A token that would need a request past the cap is refused at
    /// once (401 `invalid_token`, "cannot be validated now", and an error
    /// event), as when the endpoint is down, and not cached.
    #[must_use]
    pub fn max_concurrent_requests(mut self, requests: usize) -> Self {
        self.max_concurrent = requests;
        self
    }

    /// The settings `build` checks beside the endpoint and the credentials.
    fn check_limits_and_claims(&self) -> Result<(), ConfigError> {
        if self.max_concurrent == 0 {
            return Err(ConfigError::new(
                "introspection max_concurrent_requests",
                "must be at least 1",
            ));
        }
        if self.audiences.iter().any(String::is_empty) {
            return Err(ConfigError::new(
                "introspection audience",
                "must not be empty",
            ));
        }
        match (self.audiences.is_empty(), self.any_audience) {
            (false, false) | (true, true) => {}
            (true, false) => {
                return Err(ConfigError::new(
                    "introspection audience",
                    "this resource's identifier is required (RFC 8707; the MCP authorization \
                     specification forbids accepting tokens issued for other resources): call \
                     audience(\"https://your-resource\"), or accept_any_audience() only if the \
                     authorization server's introspection responses carry no aud",
                ));
            }
            (false, true) => {
                return Err(ConfigError::new(
                    "introspection audience",
                    "audience(..) and accept_any_audience() contradict each other: call only one",
                ));
            }
        }
        if self.issuer.as_deref() == Some("") {
            return Err(ConfigError::new(
                "introspection issuer",
                "must not be empty",
            ));
        }
        Ok(())
    }

    /// Checks the configuration and builds the validator.
    pub fn build(mut self) -> Result<IntrospectionValidator, ConfigError> {
        const ENDPOINT: &str = "introspection endpoint";
        let endpoint = fetch::endpoint(ENDPOINT, &self.endpoint)?;
        let Some((client_id, client_secret)) = self.client.take() else {
            return Err(ConfigError::new(
                "introspection client credentials",
                "the introspection endpoint requires client authentication (RFC 7662 §2.1): call client_credentials",
            ));
        };
        if client_id.is_empty() || client_secret.is_empty() {
            return Err(ConfigError::new(
                "introspection client credentials",
                "client id and secret must not be empty",
            ));
        }
        self.check_limits_and_claims()?;
        let mut fetcher = match self.fetcher {
            Some(fetcher) => fetcher,
            None => HttpFetcher::new()?,
        };
        if let Some(timeout) = self.timeout {
            fetcher = fetcher.timeout(timeout);
        }
        let credentials = match self.auth_method {
            ClientAuthMethod::ClientSecretBasic => {
                Credentials::Basic(basic_authorization(&client_id, &client_secret)?)
            }
            ClientAuthMethod::ClientSecretPost => {
                Credentials::Post(post_credentials(&client_id, &client_secret))
            }
        };
        // The builder's copy of the secret is zeroized here.
        drop(client_secret);
        let endpoint_label = format!(
            "{}://{}{}{}",
            endpoint.scheme_str().unwrap_or_default(),
            endpoint.host().unwrap_or_default(),
            endpoint
                .port_u16()
                .map(|port| format!(":{port}"))
                .unwrap_or_default(),
            endpoint.path()
        );
        if self.any_audience {
            tracing::warn!(
                target: "mcp_tower::token",
                endpoint = %endpoint_label,
                "introspection audience check disabled (accept_any_audience): active tokens \
                 issued for other resources will be accepted"
            );
        }
        Ok(IntrospectionValidator {
            inner: Arc::new(Inner {
                endpoint,
                endpoint_label,
                fetcher,
                client_id,
                auth_method: self.auth_method,
                credentials,
                audiences: self.audiences,
                any_audience: self.any_audience,
                issuer: self.issuer,
                clock: self.clock,
                leeway: self.leeway,
                ttl: self.ttl,
                negative_ttl: self.negative_ttl,
                permits: Semaphore::new(self.max_concurrent),
                state: Mutex::new(State {
                    cache: Cache::new(self.capacity),
                    inflight: HashMap::new(),
                }),
            }),
        })
    }
}

/// Whether the form serializer keeps `b` as it is.
fn form_safe(b: u8) -> bool {
    matches!(b, b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_')
}

/// The length of `input` once [`form_encode`]d, so that buffers holding
/// secrets are allocated once at their final size: a buffer that grows
/// leaves the old allocation, unzeroized, to the allocator.
fn form_encoded_len(input: &str) -> usize {
    input
        .bytes()
        .map(|b| if form_safe(b) || b == b' ' { 1 } else { 3 })
        .sum()
}

/// Appends `input` encoded as `application/x-www-form-urlencoded` (the
/// WHATWG serializer, as RFC 6749 Appendix B asks).
fn form_encode(input: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in input.bytes() {
        if form_safe(b) {
            out.push(b);
        } else if b == b' ' {
            out.push(b'+');
        } else {
            out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0x0f)]]);
        }
    }
}

/// The `client_secret_basic` `Authorization` value (RFC 6749 §2.3.1: id and
/// secret form-encoded, then joined by `:` and base64-encoded), marked
/// sensitive. Every buffer is allocated at its final size and zeroized; the
/// value's bytes are owned by the last of them, so clones of the value
/// share them and the last one dropped zeroizes them.
fn basic_authorization(client_id: &str, secret: &str) -> Result<HeaderValue, ConfigError> {
    const SETTING: &str = "introspection client credentials";
    const SCHEME: &[u8] = b"Basic ";
    let pair_len = form_encoded_len(client_id) + 1 + form_encoded_len(secret);
    let mut pair = Zeroizing::new(Vec::with_capacity(pair_len));
    form_encode(client_id, &mut pair);
    pair.push(b':');
    form_encode(secret, &mut pair);
    let encoded_len = base64::encoded_len(pair.len(), true)
        .ok_or_else(|| ConfigError::new(SETTING, "client id and secret are too long"))?;
    let mut header = Zeroizing::new(vec![0u8; SCHEME.len() + encoded_len]);
    let (scheme, encoded) = header.split_at_mut(SCHEME.len());
    scheme.copy_from_slice(SCHEME);
    STANDARD
        .encode_slice(&*pair, encoded)
        .map_err(|_| ConfigError::new(SETTING, "client id and secret could not be encoded"))?;
    let mut value = HeaderValue::from_maybe_shared(Bytes::from_owner(header))
        .map_err(|_| ConfigError::new(SETTING, "not a valid Authorization header value"))?;
    value.set_sensitive(true);
    Ok(value)
}

/// The `client_secret_post` body members, `&client_id=..&client_secret=..`
/// (RFC 6749 §2.3.1), in one buffer of its final size.
fn post_credentials(client_id: &str, secret: &str) -> Zeroizing<Vec<u8>> {
    const ID: &[u8] = b"&client_id=";
    const SECRET: &[u8] = b"&client_secret=";
    let len = ID.len() + form_encoded_len(client_id) + SECRET.len() + form_encoded_len(secret);
    let mut out = Zeroizing::new(Vec::with_capacity(len));
    out.extend_from_slice(ID);
    form_encode(client_id, &mut out);
    out.extend_from_slice(SECRET);
    form_encode(secret, &mut out);
    debug_assert_eq!(out.len(), len);
    out
}

/// Removes a finished (or abandoned) flight from the in-flight map, if it
/// is still the one registered for its token.
struct FlightGuard<'a> {
    inner: &'a Inner,
    key: TokenHash,
    flight: Arc<Flight>,
}

impl Drop for FlightGuard<'_> {
    fn drop(&mut self) {
        let mut state = self.inner.lock();
        if state
            .inflight
            .get(&self.key)
            .is_some_and(|f| Arc::ptr_eq(f, &self.flight))
        {
            state.inflight.remove(&self.key);
        }
    }
}

/// The text every endpoint failure gives the client (details go to the log).
const UNAVAILABLE: &str = "the token introspection endpoint failed; try again later";

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is consistent after every statement; a panic elsewhere
        // does not make it unusable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn validate(&self, key: TokenHash, token: &str) -> Outcome {
        let flight = {
            let mut state = self.lock();
            if let Some(hit) = state.cache.get(&key, self.clock.now_unix()) {
                tracing::trace!(target: "mcp_tower::token", "introspection answer from cache");
                return hit;
            }
            Arc::clone(state.inflight.entry(key).or_default())
        };
        let guard = FlightGuard {
            inner: self,
            key,
            flight,
        };
        // If the caller running the request is dropped, the next waiter runs
        // it (OnceCell semantics); the outcome is cached before the flight
        // is removed, so late arrivals find it in the cache.
        guard
            .flight
            .get_or_init(|| async {
                let outcome = self.introspect(token).await;
                self.remember(key, &outcome);
                outcome
            })
            .await
            .clone()
    }

    fn remember(&self, key: TokenHash, outcome: &Outcome) {
        let now = self.clock.now_unix();
        let until = match outcome {
            Ok(claims) => {
                let by_ttl = now.saturating_add(self.ttl);
                match claims.expires_at() {
                    Some(exp) => by_ttl.min(exp.saturating_add(self.leeway)),
                    None => by_ttl,
                }
            }
            // Definitive answers about this token: reuse them briefly.
            Err(
                TokenError::Inactive
                | TokenError::WrongAudience
                | TokenError::WrongIssuer
                | TokenError::Expired
                | TokenError::InvalidClaim(_),
            ) => now.saturating_add(self.negative_ttl),
            // Endpoint failures must be retried; a token that is not valid
            // yet may become valid within the window.
            Err(_) => return,
        };
        self.lock().cache.insert(key, until, outcome.clone(), now);
    }

    /// The RFC 7662 §2.1 request. The body holds the token (and with
    /// `client_secret_post` the secret): it is built in one buffer of its
    /// final size, and the `Bytes` the client gets own that buffer, which is
    /// zeroized when the client drops the last reference to it.
    fn request(&self, token: &str) -> Result<Request<Full<Bytes>>, http::Error> {
        const TOKEN: &[u8] = b"token=";
        const HINT: &[u8] = b"&token_type_hint=access_token";
        let credentials: &[u8] = match &self.credentials {
            Credentials::Basic(_) => &[],
            Credentials::Post(members) => members,
        };
        let len = TOKEN.len() + form_encoded_len(token) + HINT.len() + credentials.len();
        let mut body = Zeroizing::new(Vec::with_capacity(len));
        body.extend_from_slice(TOKEN);
        form_encode(token, &mut body);
        body.extend_from_slice(HINT);
        body.extend_from_slice(credentials);
        debug_assert_eq!(body.len(), len, "the body must not have been reallocated");
        let mut builder = Request::post(self.endpoint.clone())
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            )
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        if let Credentials::Basic(value) = &self.credentials {
            // A reference-count bump, not a copy; stays marked sensitive.
            builder = builder.header(AUTHORIZATION, value.clone());
        }
        builder.body(Full::new(Bytes::from_owner(body)))
    }

    fn fail(&self, reason: &'static str, detail: &dyn fmt::Display) -> TokenError {
        tracing::error!(
            target: "mcp_tower::token",
            endpoint = %self.endpoint_label,
            reason,
            detail = %detail,
            "token introspection failed; refusing the token"
        );
        TokenError::Unavailable(UNAVAILABLE.into())
    }

    async fn introspect(&self, token: &str) -> Outcome {
        let Ok(_permit) = self.permits.try_acquire() else {
            return Err(self.fail(
                "saturated",
                &"max_concurrent_requests introspection requests are in flight already",
            ));
        };
        let request = self
            .request(token)
            .map_err(|_| self.fail("request", &"the introspection request could not be built"))?;
        let fetched = self
            .fetcher
            .send(request)
            .await
            .map_err(|e| self.fail("transport", &e))?;
        match fetched.status {
            StatusCode::OK => {}
            status @ (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
                return Err(self.fail(
                    "client_authentication",
                    &format_args!(
                        "status {status}: check the client credentials and auth method of client {:?}",
                        self.client_id
                    ),
                ));
            }
            status => return Err(self.fail("status", &format_args!("status {status}"))),
        }
        let raw: Map<String, Value> = serde_json::from_slice(&fetched.body).map_err(|e| {
            self.fail(
                "response",
                &format_args!("response is not a JSON object: {e}"),
            )
        })?;
        // RFC 7662 §2.2: `active` is REQUIRED and a boolean.
        match raw.get("active") {
            Some(Value::Bool(true)) => {}
            Some(Value::Bool(false)) => return Err(TokenError::Inactive),
            _ => {
                return Err(self.fail(
                    "response",
                    &"response has no boolean \"active\" member (RFC 7662 §2.2)",
                ));
            }
        }
        self.check(raw, self.clock.now_unix())
    }

    /// The RFC 7662 §2.2 members this resource relies on, and the time,
    /// audience and issuer rules.
    fn check(&self, raw: Map<String, Value>, now: u64) -> Outcome {
        for name in ["scope", "client_id", "sub", "iss", "username", "token_type"] {
            if raw.get(name).is_some_and(|v| !v.is_string()) {
                return Err(TokenError::InvalidClaim(name));
            }
        }
        match raw.get("aud") {
            None | Some(Value::String(_)) => {}
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => {}
            Some(_) => return Err(TokenError::InvalidClaim("aud")),
        }
        // RFC 7800 §3.1 / RFC 9449 §6, the rule of the JWT path: a `cnf`
        // must carry a string `jkt` this resource can check against the DPoP
        // proof. Any other confirmation (RFC 8705 §3 `x5t#S256`, `{}`, ...)
        // would otherwise make a sender-constrained token an unbound one.
        if raw
            .get("cnf")
            .is_some_and(|cnf| claim_set::confirmation(cnf) == Claim::Invalid)
        {
            tracing::info!(
                target: "mcp_tower::token",
                endpoint = %self.endpoint_label,
                "introspected token has a cnf confirmation without a string jkt (e.g. a \
                 certificate-bound token); only DPoP binding can be checked here; refusing it"
            );
            return Err(TokenError::InvalidClaim("cnf"));
        }
        let exp = numeric_date(&raw, "exp")?;
        let nbf = numeric_date(&raw, "nbf")?;
        // RFC 7662 §2.2 / RFC 7519 §4.1.4: refused on or after `exp`.
        if exp.is_some_and(|exp| now >= exp.saturating_add(self.leeway)) {
            return Err(TokenError::Expired);
        }
        if nbf.is_some_and(|nbf| nbf > now.saturating_add(self.leeway)) {
            return Err(TokenError::NotYetValid);
        }
        if let Some(issuer) = &self.issuer {
            if raw.get("iss").and_then(Value::as_str) != Some(issuer.as_str()) {
                return Err(TokenError::WrongIssuer);
            }
        }
        // `exp` is read as checked here.
        let claims = AccessClaims::from_claims(raw);
        // RFC 8707 / MCP authorization: the token must name this resource,
        // unless the builder's explicit opt-out turned the check off.
        if !self.any_audience
            && !claims
                .audience()
                .any(|aud| self.audiences.iter().any(|a| a == aud))
        {
            return Err(TokenError::WrongAudience);
        }
        Ok(claims)
    }
}

/// A `NumericDate` member (RFC 7519 §2), fractions dropped; present with
/// another type or out of range, it is refused.
fn numeric_date(raw: &Map<String, Value>, name: &'static str) -> Result<Option<u64>, TokenError> {
    raw.get(name)
        .map(|value| claims::numeric_date(value).ok_or(TokenError::InvalidClaim(name)))
        .transpose()
}

impl TokenValidator for IntrospectionValidator {
    fn validate(&self, token: &str) -> ValidationFuture {
        if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
            return Box::pin(std::future::ready(Err(TokenError::Malformed(
                "empty or longer than the introspection size limit",
            ))));
        }
        let inner = Arc::clone(&self.inner);
        let key = TokenHash::of(token);
        let token = Zeroizing::new(token.to_owned());
        Box::pin(async move { inner.validate(key, &token).await })
    }
}

impl fmt::Debug for IntrospectionValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("IntrospectionValidator")
            .field("endpoint", &inner.endpoint_label)
            .field("client_id", &inner.client_id)
            .field("client_secret", &"<redacted>")
            .field("auth_method", &inner.auth_method)
            .field("audiences", &inner.audiences)
            .field("any_audience", &inner.any_audience)
            .field("issuer", &inner.issuer)
            .field("leeway_secs", &inner.leeway)
            .field("cache_ttl_secs", &inner.ttl)
            .field("negative_cache_ttl_secs", &inner.negative_ttl)
            .field("cached_entries", &self.cached_entries())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for IntrospectionValidatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionValidatorBuilder")
            .field("endpoint", &self.endpoint)
            .field("client_id", &self.client.as_ref().map(|(id, _)| id))
            .field("client_secret", &"<redacted>")
            .field("auth_method", &self.auth_method)
            .field("audiences", &self.audiences)
            .field("any_audience", &self.any_audience)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use serde_json::json;

    const NOW: u64 = 1_700_000_000;

    fn validator(clock: &ManualClock) -> IntrospectionValidator {
        IntrospectionValidator::builder("https://as.example/introspect")
            .client_credentials("rs", "s3cr3t pass:word")
            .audience("https://mcp.example")
            .issuer("https://as.example")
            .clock(Arc::new(clock.clone()))
            .build()
            .unwrap()
    }

    fn object(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn body(request: &Request<Full<Bytes>>) -> Vec<u8> {
        use http_body::Body as _;
        let mut body = request.body().clone();
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match std::pin::Pin::new(&mut body).poll_frame(&mut cx) {
            std::task::Poll::Ready(Some(Ok(frame))) => frame.into_data().unwrap().to_vec(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn form_encoding_follows_the_whatwg_serializer() {
        let input = "a b+c&d=é~*-._";
        let mut out = Vec::new();
        form_encode(input, &mut out);
        assert_eq!(out, b"a+b%2Bc%26d%3D%C3%A9%7E*-._");
        assert_eq!(form_encoded_len(input), out.len());
        for input in ["", "plain", "%%%", "\u{10ffff} +", "Tok/en=="] {
            let mut out = Vec::new();
            form_encode(input, &mut out);
            assert_eq!(form_encoded_len(input), out.len(), "{input}");
        }
    }

    #[test]
    fn builds_basic_credentials_from_form_encoded_parts() {
        let v = validator(&ManualClock::new(NOW));
        let Credentials::Basic(basic) = &v.inner.credentials else {
            unreachable!("client_secret_basic is the default")
        };
        // base64("rs:s3cr3t+pass%3Aword")
        assert_eq!(basic, "Basic cnM6czNjcjN0K3Bhc3MlM0F3b3Jk");
        assert!(basic.is_sensitive());
        let request = v.inner.request("tok en").unwrap();
        let sent = &request.headers()[AUTHORIZATION];
        assert!(sent.is_sensitive());
        // The request shares the precomputed bytes: no copy per request.
        assert_eq!(sent.as_bytes().as_ptr(), basic.as_bytes().as_ptr());
        assert_eq!(
            request.headers()[CONTENT_TYPE],
            "application/x-www-form-urlencoded"
        );
        assert_eq!(body(&request), b"token=tok+en&token_type_hint=access_token");
    }

    #[test]
    fn post_method_puts_credentials_in_the_body() {
        let v = IntrospectionValidator::builder("http://127.0.0.1:1/i")
            .client_credentials("rs", "pw&x")
            .auth_method(ClientAuthMethod::ClientSecretPost)
            .audience("https://mcp.example")
            .build()
            .unwrap();
        let request = v.inner.request("t/1").unwrap();
        assert!(request.headers().get(AUTHORIZATION).is_none());
        assert_eq!(
            body(&request),
            b"token=t%2F1&token_type_hint=access_token&client_id=rs&client_secret=pw%26x"
        );
    }

    #[test]
    fn configuration_is_checked() {
        let err = IntrospectionValidator::builder("http://as.example/i")
            .client_credentials("a", "b")
            .build()
            .unwrap_err();
        assert_eq!(err.setting(), "introspection endpoint");
        let err = IntrospectionValidator::builder("https://as.example/i")
            .build()
            .unwrap_err();
        assert_eq!(err.setting(), "introspection client credentials");
        assert!(
            IntrospectionValidator::builder("https://as.example/i")
                .client_credentials("a", "")
                .build()
                .is_err()
        );
        assert!(
            IntrospectionValidator::builder("https://as.example/i")
                .client_credentials("a", "b")
                .audience("")
                .build()
                .is_err()
        );
    }

    #[test]
    fn an_audience_or_the_explicit_opt_out_is_required() {
        let base =
            || IntrospectionValidator::builder("https://as.example/i").client_credentials("a", "b");
        let err = base().build().unwrap_err();
        assert_eq!(err.setting(), "introspection audience");
        let text = err.to_string();
        assert!(
            text.contains("audience(") && text.contains("accept_any_audience"),
            "{text}"
        );
        let err = base()
            .audience("https://mcp.example")
            .accept_any_audience()
            .build()
            .unwrap_err();
        assert_eq!(err.setting(), "introspection audience");
        let v = base().accept_any_audience().build().unwrap();
        assert!(v.inner.any_audience && v.inner.audiences.is_empty());
        assert!(format!("{v:?}").contains("any_audience: true"));
        let v = base().audience("https://mcp.example").build().unwrap();
        assert!(!v.inner.any_audience);
    }

    #[test]
    fn debug_redacts_the_secret() {
        let v = validator(&ManualClock::new(NOW));
        let text = format!("{v:?}");
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(text.contains("<redacted>"));
        let builder = IntrospectionValidator::builder("https://as.example/i")
            .client_credentials("a", "hidden-secret");
        assert!(!format!("{builder:?}").contains("hidden-secret"));
    }

    #[test]
    fn checks_claims() {
        let clock = ManualClock::new(NOW);
        let v = validator(&clock);
        let good = json!({"active": true, "aud": ["x", "https://mcp.example"], "iss": "https://as.example",
            "exp": NOW + 10, "nbf": NOW - 1, "sub": "alice", "scope": "a b", "cnf": {"jkt": "k"}});
        let claims = v.inner.check(object(good.clone()), NOW).unwrap();
        assert_eq!(claims.subject(), Some("alice"));
        assert!(claims.scopes().eq(["a", "b"]));
        assert_eq!(claims.cnf_jkt(), Some("k"));
        assert_eq!(claims.expires_at(), Some(NOW + 10));

        let with = |k: &str, val: Value| {
            let mut m = object(good.clone());
            m.insert(k.into(), val);
            v.inner.check(m, NOW)
        };
        let without = |k: &str| {
            let mut m = object(good.clone());
            m.remove(k);
            v.inner.check(m, NOW)
        };
        assert_eq!(with("exp", json!(NOW)), Err(TokenError::Expired));
        assert_eq!(
            with("exp", json!("soon")),
            Err(TokenError::InvalidClaim("exp"))
        );
        assert_eq!(with("exp", json!(-1)), Err(TokenError::InvalidClaim("exp")));
        assert!(with("exp", json!(1.9e9)).is_ok());
        assert_eq!(with("nbf", json!(NOW + 5)), Err(TokenError::NotYetValid));
        assert_eq!(with("aud", json!("other")), Err(TokenError::WrongAudience));
        assert_eq!(without("aud"), Err(TokenError::WrongAudience));
        assert_eq!(
            with("aud", json!([1])),
            Err(TokenError::InvalidClaim("aud"))
        );
        assert_eq!(
            with("iss", json!("https://evil")),
            Err(TokenError::WrongIssuer)
        );
        assert_eq!(without("iss"), Err(TokenError::WrongIssuer));
        assert_eq!(
            with("scope", json!(["a"])),
            Err(TokenError::InvalidClaim("scope"))
        );
        assert_eq!(
            with("cnf", json!({"jkt": 1})),
            Err(TokenError::InvalidClaim("cnf"))
        );
        // A confirmation this resource cannot check refuses the token
        // rather than leaving it unbound (RFC 8705 certificate binding,
        // empty, other methods, wrong types).
        for cnf in [
            json!("k"),
            json!({}),
            json!({"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}),
            json!({"jwk": {"kty": "EC"}}),
            json!({"jkt": null}),
            json!({"jkt": ["k"]}),
            json!(null),
            json!(["k"]),
            json!(true),
        ] {
            assert_eq!(
                with("cnf", cnf.clone()),
                Err(TokenError::InvalidClaim("cnf")),
                "{cnf}"
            );
        }
        let both = with("cnf", json!({"jkt": "k", "x5t#S256": "t"})).unwrap();
        assert_eq!(both.cnf_jkt(), Some("k"));
        assert!(without("cnf").unwrap().cnf_jkt().is_none());
        assert!(without("exp").is_ok());
    }

    #[test]
    fn cnf_rule_is_the_jwt_rule() {
        for cnf in [
            json!({"jkt": "k"}),
            json!({"jkt": "k", "x5t#S256": "t"}),
            json!({"jkt": "a\u{e9}"}),
            json!({}),
            json!({"x5t#S256": "t"}),
            json!({"jkt": 1}),
            json!("jkt"),
            json!(null),
            json!([]),
        ] {
            let text = json!({ "cnf": cnf }).to_string();
            let from_jwt = claim_set::parse(&text).unwrap().cnf_jkt;
            assert_eq!(claim_set::confirmation(&cnf), from_jwt, "{cnf}");
        }
    }

    #[test]
    fn other_audiences_are_refused_unless_opted_out() {
        let clock = ManualClock::new(NOW);
        let token = || {
            object(
                json!({"active": true, "aud": "https://other.example", "iss": "https://as.example"}),
            )
        };
        let strict = validator(&clock);
        assert_eq!(
            strict.inner.check(token(), NOW),
            Err(TokenError::WrongAudience)
        );
        let lax = IntrospectionValidator::builder("https://as.example/i")
            .client_credentials("a", "b")
            .accept_any_audience()
            .build()
            .unwrap();
        assert!(lax.inner.check(token(), NOW).is_ok());
        assert!(
            lax.inner
                .check(object(json!({"active": true})), NOW)
                .is_ok()
        );
        // The type of `aud` is still checked.
        assert_eq!(
            lax.inner
                .check(object(json!({"active": true, "aud": 1})), NOW),
            Err(TokenError::InvalidClaim("aud"))
        );
    }

    #[test]
    fn leeway_extends_exp_and_nbf() {
        let clock = ManualClock::new(NOW);
        let v = IntrospectionValidator::builder("https://as.example/i")
            .client_credentials("a", "b")
            .accept_any_audience()
            .leeway_secs(30)
            .clock(Arc::new(clock))
            .build()
            .unwrap();
        let at = |exp: u64, nbf: u64| {
            v.inner
                .check(object(json!({"active": true, "exp": exp, "nbf": nbf})), NOW)
        };
        assert!(at(NOW - 29, NOW + 30).is_ok());
        assert_eq!(at(NOW - 30, NOW), Err(TokenError::Expired));
        assert_eq!(at(NOW + 100, NOW + 31), Err(TokenError::NotYetValid));
    }

    #[test]
    fn cache_is_bounded_and_evicts_the_soonest_expiring() {
        let mut cache = Cache::new(2);
        let (a, b, c) = (TokenHash::of("a"), TokenHash::of("b"), TokenHash::of("c"));
        cache.insert(a, NOW + 60, Err(TokenError::Inactive), NOW);
        cache.insert(b, NOW + 5, Err(TokenError::Inactive), NOW);
        cache.insert(c, NOW + 30, Err(TokenError::Inactive), NOW);
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&b, NOW).is_none());
        assert!(cache.get(&a, NOW).is_some());
        assert!(cache.get(&c, NOW + 29).is_some());
        assert!(cache.get(&c, NOW + 30).is_none());
        assert_eq!(cache.len(), 1);
        // Re-inserting a key replaces it; expired entries are purged first.
        cache.insert(a, NOW + 10, Err(TokenError::Expired), NOW);
        assert_eq!(cache.len(), 1);
        cache.insert(b, NOW + 100, Err(TokenError::Inactive), NOW + 20);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.by_expiry.len(), 1);
        // Capacity 0 and already-expired entries are not stored.
        cache.insert(c, NOW, Err(TokenError::Inactive), NOW);
        assert!(cache.get(&c, NOW).is_none());
        let mut none = Cache::new(0);
        none.insert(a, NOW + 10, Err(TokenError::Inactive), NOW);
        assert_eq!(none.len(), 0);
    }

    #[test]
    fn cache_keys_are_sha256_of_the_token() {
        let key = TokenHash::of("abc");
        assert_eq!(
            crate::jose::b64::encode(key.0),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
    }

    #[tokio::test]
    async fn oversized_and_empty_tokens_never_reach_the_endpoint() {
        let v = validator(&ManualClock::new(NOW));
        let long = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert!(matches!(
            v.validate(&long).await,
            Err(TokenError::Malformed(_))
        ));
        assert!(matches!(
            v.validate("").await,
            Err(TokenError::Malformed(_))
        ));
    }
}
