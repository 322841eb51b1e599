//! JWT access tokens (RFC 9068): [`JwtValidator`] checks the JWS signature
//! with keys from a [`JwksSource`] (parsed once by aws-lc; a configured HMAC
//! secret goes through `jsonwebtoken`), then applies this resource's policy
//! explicitly, with an injectable clock.
//!
//! The checks, in order (RFC 9068 §4, RFC 8725):
//!
//! 1. size and syntax: at most [`DEFAULT_MAX_TOKEN_BYTES`], three
//!    base64url parts, a header and a claims set that are JSON objects (not
//!    arrays), no `crit` (RFC 7515 §4.1.11: no extension is understood);
//! 2. `typ` is `at+jwt` or `application/at+jwt`, case-insensitively
//!    (RFC 9068 §2.1, §4 item 1); optionally also `JWT` or none;
//! 3. `alg`: `none` is always refused; asymmetric algorithms only from the
//!    allowlist (default RS256, PS256, ES256); HS256/384/512 only with an
//!    explicitly configured shared secret, and then verified only with that
//!    secret, never with a JWKS key (the RSA/EC "public key as HMAC secret"
//!    confusion cannot happen);
//! 4. the key: by `kid`, whose key type and `alg` must fit the token's `alg`
//!    (an unknown `kid` refreshes the set once, within the source's rate
//!    limit); without `kid`, the only key that fits. Keys named by the token
//!    itself (`jwk`, `jku`, `x5u`, `x5c`) are never used;
//! 5. the signature (an asymmetric key was parsed once when the set was
//!    loaded; the signature is decoded once);
//! 6. `iss` equals the configured issuer exactly;
//! 7. `aud` (a string or an array) contains this resource (RFC 8707; the
//!    MCP authorization specification forbids accepting tokens issued for
//!    other resources);
//! 8. `exp` is present and not passed, `nbf` and `iat` are not in the future,
//!    each with the leeway (default 60 s);
//! 9. `sub`, `client_id` and `scope` are strings when present, and `cnf`, when
//!    present, is an object with a string `jkt`: a token bound to a key this
//!    resource cannot check is refused rather than taken as unbound.
//!
//! Errors are [`TokenError`]s; neither they nor log events contain the token.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use serde::de::IgnoredAny;
use zeroize::Zeroizing;

use crate::clock::{self, SharedClock};
use crate::config::ConfigError;
use crate::jose::{self, Algorithm, b64, is_json_object};

use super::claim_set::{self, Claim, ClaimSet};
use super::claims::{AccessClaims, JwtClaims};
use super::jwks::{JwksSource, KeySet, Selection, VerificationKey};
use super::validator::{TokenError, TokenValidator, Validation, ValidationFuture};

/// Default clock-skew allowance for `exp`, `nbf` and `iat`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);
/// Largest leeway [`JwtValidatorBuilder::build`] accepts.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);
/// Default cap on a token's size in bytes, checked before any decoding.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Shortest accepted HMAC secret: the HS256 output size (RFC 7518 §3.2).
pub const MIN_HMAC_SECRET_BYTES: usize = 32;

/// Validates RFC 9068 JWT access tokens; see the [module docs](self).
/// Cheap to clone.
#[derive(Clone)]
pub struct JwtValidator {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: String,
    audiences: Vec<String>,
    keys: Option<JwksSource>,
    algorithms: Vec<Algorithm>,
    hmac: Option<HmacKey>,
    leeway: u64,
    accept_generic_type: bool,
    max_token_bytes: usize,
    clock: SharedClock,
    known_headers: KnownHeaders,
}

/// The configured shared secret, as a `jsonwebtoken` key (zeroized on drop),
/// and the HMAC algorithms its length allows.
struct HmacKey {
    key: DecodingKey,
    algorithms: Vec<jsonwebtoken::Algorithm>,
}

/// Builder for [`JwtValidator`].
pub struct JwtValidatorBuilder {
    issuer: Option<String>,
    audiences: Vec<String>,
    keys: Option<JwksSource>,
    algorithms: Vec<Algorithm>,
    hmac_secret: Option<Zeroizing<Vec<u8>>>,
    leeway: Duration,
    accept_generic_type: bool,
    max_token_bytes: usize,
    clock: SharedClock,
}

impl JwtValidator {
    /// A builder. Required: [`issuer`](JwtValidatorBuilder::issuer),
    /// [`audience`](JwtValidatorBuilder::audience), and
    /// [`keys`](JwtValidatorBuilder::keys) or
    /// [`hmac_secret`](JwtValidatorBuilder::hmac_secret).
    pub fn builder() -> JwtValidatorBuilder {
        JwtValidatorBuilder {
            issuer: None,
            audiences: Vec::new(),
            keys: None,
            algorithms: vec![Algorithm::RS256, Algorithm::PS256, Algorithm::ES256],
            hmac_secret: None,
            leeway: DEFAULT_LEEWAY,
            accept_generic_type: false,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            clock: clock::system(),
        }
    }

    /// The trusted issuer.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The audiences that name this resource.
    pub fn audiences(&self) -> &[String] {
        &self.inner.audiences
    }
}

impl JwtValidatorBuilder {
    /// The issuer (`iss`) whose tokens are accepted, compared exactly.
    #[must_use]
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// An identifier of this resource (RFC 8707) that a token's `aud` must
    /// contain. Call again to accept another spelling of the same resource
    /// (for example with and without a path); never add other resources.
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Where the verification keys come from.
    #[must_use]
    pub fn keys(mut self, keys: JwksSource) -> Self {
        self.keys = Some(keys);
        self
    }

    /// The asymmetric algorithms accepted (default RS256, PS256, ES256).
    #[must_use]
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Accepts HMAC-signed tokens verified with this shared secret: HS256,
    /// and HS384 / HS512 when the secret has at least 48 / 64 bytes. At least
    /// [`MIN_HMAC_SECRET_BYTES`]; a PEM or DER public key is refused. The
    /// secret is zeroized when dropped. Without it, HMAC tokens are refused.
    #[must_use]
    pub fn hmac_secret(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.hmac_secret = Some(Zeroizing::new(secret.into()));
        self
    }

    /// Clock-skew allowance for `exp`, `nbf` and `iat` (default 60 s, at most
    /// [`MAX_LEEWAY`]; whole seconds).
    #[must_use]
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Also accept `typ: JWT` (or `application/jwt`) and tokens without
    /// `typ`, for authorization servers that do not follow RFC 9068 §2.1.
    /// Default: only `at+jwt`. Such tokens are less clearly access tokens
    /// (an ID token has the same shape); the audience check still applies.
    #[must_use]
    pub fn accept_generic_jwt_type(mut self, accept: bool) -> Self {
        self.accept_generic_type = accept;
        self
    }

    /// Largest token accepted, in bytes (default 16 KiB).
    #[must_use]
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.max_token_bytes = bytes;
        self
    }

    /// The clock (default: the system clock).
    #[must_use]
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Checks the settings and builds the validator.
    pub fn build(self) -> Result<JwtValidator, ConfigError> {
        let issuer = self
            .issuer
            .filter(|i| !i.is_empty())
            .ok_or_else(|| ConfigError::new("issuer", "the trusted issuer is required"))?;
        if self.audiences.is_empty() || self.audiences.iter().any(String::is_empty) {
            return Err(ConfigError::new(
                "audience",
                "this resource's identifier (RFC 8707) is required and must not be empty",
            ));
        }
        if self.leeway > MAX_LEEWAY {
            return Err(ConfigError::new("leeway", "must be at most 300 seconds"));
        }
        if self.max_token_bytes < 64 {
            return Err(ConfigError::new("max_token_bytes", "must be at least 64"));
        }
        if self.keys.is_some() && self.algorithms.is_empty() {
            return Err(ConfigError::new(
                "algorithms",
                "at least one algorithm is required with a key source",
            ));
        }
        let hmac = self
            .hmac_secret
            .as_deref()
            .map(|secret| hmac_key(secret))
            .transpose()?;
        if self.keys.is_none() && hmac.is_none() {
            return Err(ConfigError::new(
                "keys",
                "a JWKS source (or an HMAC secret) is required",
            ));
        }
        let mut algorithms = self.algorithms;
        algorithms.dedup();
        Ok(JwtValidator {
            inner: Arc::new(Inner {
                issuer,
                audiences: self.audiences,
                keys: self.keys,
                algorithms,
                hmac,
                leeway: self.leeway.as_secs(),
                accept_generic_type: self.accept_generic_type,
                max_token_bytes: self.max_token_bytes,
                clock: self.clock,
                known_headers: KnownHeaders::default(),
            }),
        })
    }
}

/// Checks a shared secret and builds its key.
fn hmac_key(secret: &[u8]) -> Result<HmacKey, ConfigError> {
    if secret.len() < MIN_HMAC_SECRET_BYTES {
        return Err(ConfigError::new(
            "hmac_secret",
            "must be at least 32 bytes (RFC 7518 §3.2)",
        ));
    }
    if looks_like_public_key(secret) {
        return Err(ConfigError::new(
            "hmac_secret",
            "is a public key; an HMAC secret must be a shared secret, never an RSA or EC public key",
        ));
    }
    let mut algorithms = vec![jsonwebtoken::Algorithm::HS256];
    if secret.len() >= 48 {
        algorithms.push(jsonwebtoken::Algorithm::HS384);
    }
    if secret.len() >= 64 {
        algorithms.push(jsonwebtoken::Algorithm::HS512);
    }
    // `jsonwebtoken` picks its crypto provider from its cargo features: if
    // another crate of the build also enables its `rust_crypto` feature it
    // has none, and panics at the first HMAC token. Ours is aws-lc-rs, unless
    // the application installed one first.
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    Ok(HmacKey {
        key: DecodingKey::from_secret(secret),
        algorithms,
    })
}

/// Whether bytes are a PEM block, or a DER RSA / EC public key: the usual
/// material of the HMAC key-confusion attack.
fn looks_like_public_key(secret: &[u8]) -> bool {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ParsedPublicKey};
    let text = String::from_utf8_lossy(secret);
    text.trim_start().starts_with("-----BEGIN")
        || aws_lc_rs::rsa::PublicKey::from_der(secret).is_ok()
        || ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, secret).is_ok()
}

/// The JOSE header members this validator reads, borrowed from the decoded
/// header where they need no unescaping. A member named twice is refused
/// (serde's derived parsing), so `alg` cannot be given once for a check and
/// once for use.
#[derive(Deserialize)]
struct RawHeader<'a> {
    #[serde(borrow)]
    alg: Option<Cow<'a, str>>,
    #[serde(borrow)]
    typ: Option<Cow<'a, str>>,
    #[serde(borrow)]
    kid: Option<Cow<'a, str>>,
    crit: Option<IgnoredAny>,
}

/// How a token is to be verified.
#[derive(Debug, Clone, Copy)]
enum TokenAlg {
    Asymmetric(Algorithm),
    Hmac(jsonwebtoken::Algorithm),
}

/// Longest signature accepted, in bytes: RSA with an 8192-bit key, the
/// largest aws-lc verifies (ES256 signatures have 64 bytes, HMAC at most 64).
const MAX_SIGNATURE_BYTES: usize = 1024;
/// Decoded headers up to this size stay on the stack.
const HEADER_STACK_BYTES: usize = 256;

/// Where a token's parts are decoded: the header and signature on the
/// stack, the claims set into the one allocation a token costs, kept for
/// [`AccessClaims::raw_json`] with the claims read from it where they stand.
struct Scratch {
    header: [u8; HEADER_STACK_BYTES],
    header_heap: Vec<u8>,
    signature: [u8; MAX_SIGNATURE_BYTES],
    claims_json: String,
}

impl Scratch {
    fn new() -> Self {
        Self {
            header: [0; HEADER_STACK_BYTES],
            header_heap: Vec::new(),
            signature: [0; MAX_SIGNATURE_BYTES],
            claims_json: String::new(),
        }
    }
}

/// A token that passed the syntax and header checks, borrowing from the
/// token and from a [`Scratch`].
struct Parsed<'a> {
    /// `header.claims`, the signing input.
    signing_input: &'a [u8],
    signature: &'a [u8],
    signature_b64: &'a str,
    alg: TokenAlg,
    kid: Option<Cow<'a, str>>,
    /// The base64url header, when it was decoded and checked here rather
    /// than found among the [`KnownHeaders`].
    new_header: Option<&'a str>,
    /// The claims, borrowing from `claims_json`.
    claims: ClaimSet<'a>,
    /// The claims set's JSON text, in the [`Scratch`].
    claims_json: &'a str,
}

/// How many headers [`KnownHeaders`] keeps.
const KNOWN_HEADERS: usize = 8;

/// Headers of tokens that verified, with what their checks decided.
///
/// The tokens one key of an issuer signs share their header byte for byte,
/// and what the header checks decide (JSON object, no `crit`, `typ`, `alg`
/// allowed, the `kid`) depends only on the header's text and on this
/// validator's settings, which never change. So a token whose base64url
/// header is one of these skips decoding and checking it again; every other
/// check still runs. Only headers of tokens whose signature verified get in,
/// so forged tokens cannot fill the slots; the first [`KNOWN_HEADERS`]
/// distinct ones stay (a token with any other header is checked in full, as
/// without this). Lock-free: each slot is set once.
#[derive(Default)]
struct KnownHeaders {
    slots: [OnceLock<KnownHeader>; KNOWN_HEADERS],
}

struct KnownHeader {
    b64: Box<str>,
    alg: TokenAlg,
    kid: Option<Box<str>>,
}

impl KnownHeaders {
    fn get(&self, header_b64: &str) -> Option<&KnownHeader> {
        self.slots
            .iter()
            .map_while(OnceLock::get)
            .find(|known| *known.b64 == *header_b64)
    }

    fn insert(&self, header_b64: &str, alg: TokenAlg, kid: Option<&str>) {
        let mut entry = KnownHeader {
            b64: header_b64.into(),
            alg,
            kid: kid.map(Into::into),
        };
        for slot in &self.slots {
            if slot.get().is_none() {
                match slot.set(entry) {
                    Ok(()) => return,
                    Err(lost) => entry = lost,
                }
            }
            // Full, or set meanwhile by another request.
            if slot.get().is_some_and(|known| *known.b64 == *header_b64) {
                return;
            }
        }
    }
}

/// The outcome of trying to validate without I/O.
#[allow(
    clippy::large_enum_variant,
    reason = "`Done` is the usual outcome and is moved once; boxing it would add an allocation"
)]
enum Attempt {
    Done(Result<AccessClaims, TokenError>),
    /// The key source must fetch first; with `refresh`, the current set was
    /// seen to lack the token's key.
    Fetch {
        refresh: bool,
    },
}

/// RFC 9068 §2.1: `at+jwt`, with or without the `application/` prefix,
/// compared case-insensitively (RFC 7515 §4.1.9).
fn type_allowed(typ: Option<&str>, accept_generic: bool) -> bool {
    let Some(typ) = typ else {
        return accept_generic;
    };
    let media = typ
        .get(..12)
        .filter(|prefix| prefix.eq_ignore_ascii_case("application/"))
        .map_or(typ, |_| &typ[12..]);
    media.eq_ignore_ascii_case("at+jwt") || (accept_generic && media.eq_ignore_ascii_case("jwt"))
}

impl Inner {
    /// Syntax, header, `typ` and `alg` checks, and the claims set read (its
    /// types are judged later, after the signature): no I/O, so malformed
    /// tokens never cause a JWKS fetch.
    fn parse<'a>(
        &'a self,
        token: &'a str,
        scratch: &'a mut Scratch,
    ) -> Result<Parsed<'a>, TokenError> {
        if token.len() > self.max_token_bytes {
            return Err(TokenError::Malformed("token is larger than allowed"));
        }
        let Some((header_b64, claims_b64, signature_b64)) = jose::compact_parts(token) else {
            return Err(TokenError::Malformed(
                "expected a JWS in compact form: three dot-separated parts",
            ));
        };
        let Scratch {
            header: header_stack,
            header_heap,
            signature: signature_buf,
            claims_json,
        } = scratch;
        let (alg, kid, new_header) = if let Some(known) = self.known_headers.get(header_b64) {
            (known.alg, known.kid.as_deref().map(Cow::Borrowed), None)
        } else {
            let (alg, kid) = self.parse_header(header_b64, header_stack, header_heap)?;
            (alg, kid, Some(header_b64))
        };
        let decoded = b64::decode(claims_b64)
            .map_err(|_| TokenError::Malformed("claims are not base64url"))?;
        *claims_json = String::from_utf8(decoded)
            .map_err(|_| TokenError::Malformed("claims are not a JSON object"))?;
        let claims_json: &'a str = claims_json;
        if !is_json_object(claims_json.as_bytes()) {
            return Err(TokenError::Malformed("claims are not a JSON object"));
        }
        let claims = claim_set::parse(claims_json)
            .map_err(|_| TokenError::Malformed("claims are not a JSON object"))?;
        let signature: &[u8] = match b64::decoded_len(signature_b64.len()) {
            Some(len) if (1..=MAX_SIGNATURE_BYTES).contains(&len) => {
                let n = b64::decode_to_slice(signature_b64, signature_buf)
                    .map_err(|_| TokenError::Malformed("signature is not base64url"))?;
                &signature_buf[..n]
            }
            _ => return Err(TokenError::Malformed("signature is not base64url")),
        };
        Ok(Parsed {
            signing_input: &token.as_bytes()[..header_b64.len() + 1 + claims_b64.len()],
            signature,
            signature_b64,
            alg,
            kid,
            new_header,
            claims,
            claims_json,
        })
    }

    /// Decodes the JOSE header and checks it: JSON object, no `crit`, `typ`
    /// and `alg` allowed. Returns how to verify and the `kid`.
    fn parse_header<'a>(
        &self,
        header_b64: &str,
        stack: &'a mut [u8; HEADER_STACK_BYTES],
        heap: &'a mut Vec<u8>,
    ) -> Result<(TokenAlg, Option<Cow<'a, str>>), TokenError> {
        let header_json: &[u8] = match b64::decoded_len(header_b64.len()) {
            Some(len) if len <= HEADER_STACK_BYTES => {
                let n = b64::decode_to_slice(header_b64, stack)
                    .map_err(|_| TokenError::Malformed("header is not base64url"))?;
                &stack[..n]
            }
            _ => {
                *heap = b64::decode(header_b64)
                    .map_err(|_| TokenError::Malformed("header is not base64url"))?;
                heap
            }
        };
        if !is_json_object(header_json) {
            return Err(TokenError::Malformed("header is not a JSON object"));
        }
        let header: RawHeader<'a> = serde_json::from_slice(header_json)
            .map_err(|_| TokenError::Malformed("header is not a valid JOSE header"))?;
        if header.crit.is_some() {
            return Err(TokenError::Malformed(
                "critical header parameters (crit) are not supported",
            ));
        }
        let alg_name = header
            .alg
            .as_deref()
            .ok_or(TokenError::Malformed("header has no alg"))?;
        if !type_allowed(header.typ.as_deref(), self.accept_generic_type) {
            return Err(TokenError::WrongType);
        }
        Ok((self.token_alg(alg_name)?, header.kid))
    }

    /// Notes the header of a token whose signature verified (see
    /// [`KnownHeaders`]).
    fn verified(&self, parsed: &Parsed<'_>) {
        if let Some(header_b64) = parsed.new_header {
            self.known_headers
                .insert(header_b64, parsed.alg, parsed.kid.as_deref());
        }
    }

    /// RFC 8725 §3.1: only algorithms this resource chose.
    fn token_alg(&self, name: &str) -> Result<TokenAlg, TokenError> {
        if let Ok(alg) = name.parse::<Algorithm>() {
            return if self.keys.is_some() && self.algorithms.contains(&alg) {
                Ok(TokenAlg::Asymmetric(alg))
            } else {
                Err(TokenError::AlgorithmNotAllowed)
            };
        }
        let hmac = match name {
            "HS256" => jsonwebtoken::Algorithm::HS256,
            "HS384" => jsonwebtoken::Algorithm::HS384,
            "HS512" => jsonwebtoken::Algorithm::HS512,
            // `none` (any case) and everything else.
            _ => return Err(TokenError::AlgorithmNotAllowed),
        };
        match &self.hmac {
            Some(key) if key.algorithms.contains(&hmac) => Ok(TokenAlg::Hmac(hmac)),
            _ => Err(TokenError::AlgorithmNotAllowed),
        }
    }

    /// Verifies an HMAC token with the configured secret (never a JWKS key).
    fn verify_hmac(&self, parsed: &Parsed, alg: jsonwebtoken::Algorithm) -> Result<(), TokenError> {
        let key = self.hmac.as_ref().ok_or(TokenError::AlgorithmNotAllowed)?;
        verify_signature(parsed, &key.key, alg)
    }

    /// Validates when that needs no I/O: the key set is at hand (a static
    /// set, a file, a URL's cached set) and, if the token's key is not in
    /// it, the source can look again without fetching. Otherwise says what
    /// [`validate_fetching`](Self::validate_fetching) must do. Nothing is
    /// copied out of `token` but its claims set.
    fn validate_now(&self, token: &str) -> Attempt {
        let now = self.clock.now_unix();
        let mut scratch = Scratch::new();
        let parsed = match self.parse(token, &mut scratch) {
            Ok(parsed) => parsed,
            Err(error) => return Attempt::Done(Err(error)),
        };
        let verified = match parsed.alg {
            TokenAlg::Hmac(alg) => self.verify_hmac(&parsed, alg),
            TokenAlg::Asymmetric(alg) => {
                let Some(source) = &self.keys else {
                    return Attempt::Done(Err(TokenError::AlgorithmNotAllowed));
                };
                let keys = match source.keys_now(now, false) {
                    Some(Ok(keys)) => keys,
                    Some(Err(error)) => return Attempt::Done(Err(error)),
                    None => return Attempt::Fetch { refresh: false },
                };
                let keys = if has_key(&keys, &parsed, alg) {
                    keys
                } else {
                    log_refresh(&parsed);
                    match source.keys_now(now, true) {
                        Some(Ok(keys)) => keys,
                        Some(Err(error)) => return Attempt::Done(Err(error)),
                        None => return Attempt::Fetch { refresh: true },
                    }
                };
                verify_asymmetric(&keys, &parsed, alg)
            }
        };
        if verified.is_ok() {
            self.verified(&parsed);
        }
        let accepted = verified.and_then(|()| self.accept(parsed, now));
        Attempt::Done(accepted.map(|claims| claims.with_text(scratch.claims_json)))
    }

    /// Validates with the key source's I/O: a JWKS fetch that is due, or a
    /// refresh for an unknown `kid` (`refresh`: the set at hand was already
    /// seen to lack the key).
    async fn validate_fetching(
        &self,
        token: &str,
        refresh: bool,
    ) -> Result<AccessClaims, TokenError> {
        let now = self.clock.now_unix();
        let mut scratch = Scratch::new();
        let parsed = self.parse(token, &mut scratch)?;
        match parsed.alg {
            TokenAlg::Hmac(alg) => self.verify_hmac(&parsed, alg)?,
            TokenAlg::Asymmetric(alg) => {
                let source = self.keys.as_ref().ok_or(TokenError::AlgorithmNotAllowed)?;
                let keys = if refresh {
                    source.keys(now, true).await?
                } else {
                    let keys = source.keys(now, false).await?;
                    if has_key(&keys, &parsed, alg) {
                        keys
                    } else {
                        log_refresh(&parsed);
                        source.keys(now, true).await?
                    }
                };
                verify_asymmetric(&keys, &parsed, alg)?;
            }
        }
        self.verified(&parsed);
        let claims = self.accept(parsed, now)?;
        Ok(claims.with_text(scratch.claims_json))
    }

    /// After the signature: the claim checks, then the claims to hand on,
    /// which [`JwtClaims::with_text`] gives the claims set's text.
    fn accept(&self, parsed: Parsed<'_>, now: u64) -> Result<JwtClaims, TokenError> {
        self.check_claims(&parsed.claims, now)?;
        Ok(JwtClaims::new(parsed.claims, parsed.claims_json))
    }

    /// The claim checks of RFC 9068 §4 items 3 to 9, after the signature.
    fn check_claims(&self, claims: &ClaimSet, now: u64) -> Result<(), TokenError> {
        // Item 3: the issuer, exactly.
        match &claims.iss {
            Claim::Valid(iss) if *iss == self.issuer => {}
            Claim::Valid(_) => return Err(TokenError::WrongIssuer),
            Claim::Absent | Claim::Invalid => return Err(TokenError::InvalidClaim("iss")),
        }
        // Item 4 and RFC 8707: the audience (a string or an array of
        // strings) must name this resource.
        let Claim::Valid(audience) = &claims.aud else {
            return Err(TokenError::InvalidClaim("aud"));
        };
        if !audience
            .iter(|aud| &**aud)
            .any(|aud| self.audiences.iter().any(|a| a == aud))
        {
            return Err(TokenError::WrongAudience);
        }
        // Item 7 (RFC 7519 §4.1.4): now must be before exp.
        let Claim::Valid(exp) = claims.exp else {
            return Err(TokenError::InvalidClaim("exp"));
        };
        if now >= exp.saturating_add(self.leeway) {
            return Err(TokenError::Expired);
        }
        // RFC 7519 §4.1.5: now must be at or after nbf; iat not ahead.
        for (claim, name) in [(&claims.nbf, "nbf"), (&claims.iat, "iat")] {
            match *claim {
                Claim::Invalid => return Err(TokenError::InvalidClaim(name)),
                Claim::Valid(at) if at > now.saturating_add(self.leeway) => {
                    return Err(TokenError::NotYetValid);
                }
                Claim::Absent | Claim::Valid(_) => {}
            }
        }
        if claims.sub == Claim::Invalid {
            return Err(TokenError::InvalidClaim("sub"));
        }
        if claims.client_id == Claim::Invalid {
            return Err(TokenError::InvalidClaim("client_id"));
        }
        if claims.scope == Claim::Invalid {
            return Err(TokenError::InvalidClaim("scope"));
        }
        // RFC 7800 / RFC 9449 §6: a confirmation this resource can check.
        if claims.cnf_jkt == Claim::Invalid {
            return Err(TokenError::InvalidClaim("cnf"));
        }
        Ok(())
    }
}

/// Whether `keys` has a key for the token, or at least one its `kid` names
/// (then the mismatch is the token's fault, not a stale set).
fn has_key(keys: &KeySet, parsed: &Parsed, alg: Algorithm) -> bool {
    !matches!(keys.select(parsed.kid.as_deref(), alg), Selection::NotFound)
}

fn log_refresh(parsed: &Parsed) {
    tracing::debug!(target: "mcp_tower::token", kid = parsed.kid.as_deref(), "no key for the token; asking the key source for a refresh");
}

/// Finds the token's key in `keys` and verifies the signature.
fn verify_asymmetric(keys: &KeySet, parsed: &Parsed, alg: Algorithm) -> Result<(), TokenError> {
    let kid = parsed.kid.as_deref();
    let key: &VerificationKey = match keys.select(kid, alg) {
        Selection::Found(key) => key,
        Selection::NotFound => return Err(TokenError::UnknownKey),
        Selection::AlgMismatch => {
            tracing::debug!(target: "mcp_tower::token", kid, %alg, "token alg does not fit its key");
            return Err(TokenError::AlgorithmNotAllowed);
        }
        Selection::Ambiguous => {
            tracing::debug!(target: "mcp_tower::token", %alg, "token has no kid and several keys fit");
            return Err(TokenError::UnknownKey);
        }
    };
    // The key was parsed once when the set was loaded (aws-lc), so the
    // signature check does not rebuild it.
    let prepared = key.prepared(alg).ok_or(TokenError::AlgorithmNotAllowed)?;
    prepared
        .verify(parsed.signing_input, parsed.signature)
        .map_err(|_| TokenError::InvalidSignature)
}

fn verify_signature(
    parsed: &Parsed,
    key: &DecodingKey,
    alg: jsonwebtoken::Algorithm,
) -> Result<(), TokenError> {
    match jsonwebtoken::crypto::verify(parsed.signature_b64, parsed.signing_input, key, alg) {
        Ok(true) => Ok(()),
        Ok(false) => Err(TokenError::InvalidSignature),
        Err(error) => {
            // A key that does not fit the algorithm: prevented by the key
            // selection, so this is a defect rather than an attack.
            tracing::debug!(target: "mcp_tower::token", %error, "signature check failed");
            Err(TokenError::InvalidSignature)
        }
    }
}

impl TokenValidator for JwtValidator {
    fn validate(&self, token: &str) -> ValidationFuture {
        self.validate_eager(token).into_future()
    }

    fn validate_eager(&self, token: &str) -> Validation {
        match self.inner.validate_now(token) {
            // No I/O was needed: answered at once.
            Attempt::Done(result) => Validation::Ready(log_outcome(result)),
            Attempt::Fetch { refresh } => {
                let inner = Arc::clone(&self.inner);
                let token: Box<str> = token.into();
                Validation::Pending(Box::pin(async move {
                    log_outcome(inner.validate_fetching(&token, refresh).await)
                }))
            }
        }
    }
}

fn log_outcome(result: Result<AccessClaims, TokenError>) -> Result<AccessClaims, TokenError> {
    if let Err(error) = &result {
        tracing::debug!(target: "mcp_tower::token", reason = error.reason(), "JWT access token refused");
    }
    result
}

impl fmt::Debug for JwtValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("JwtValidator")
            .field("issuer", &inner.issuer)
            .field("audiences", &inner.audiences)
            .field("keys", &inner.keys)
            .field("algorithms", &inner.algorithms)
            .field("hmac", &inner.hmac.is_some())
            .field("leeway", &inner.leeway)
            .field("accept_generic_type", &inner.accept_generic_type)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for JwtValidatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtValidatorBuilder")
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("keys", &self.keys)
            .field("algorithms", &self.algorithms)
            .field(
                "hmac_secret",
                &self.hmac_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("leeway", &self.leeway)
            .field("accept_generic_type", &self.accept_generic_type)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use serde_json::{Value, json};

    use super::*;
    use crate::clock::ManualClock;
    use crate::keys::DpopKey;

    const NOW: u64 = 1_700_000_000;
    const ISS: &str = "https://as.example";
    const AUD: &str = "https://mcp.example/mcp";
    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn es() -> &'static DpopKey {
        static KEY: OnceLock<DpopKey> = OnceLock::new();
        KEY.get_or_init(|| DpopKey::generate(Algorithm::ES256).unwrap())
    }

    fn rs() -> &'static DpopKey {
        static KEY: OnceLock<DpopKey> = OnceLock::new();
        KEY.get_or_init(|| DpopKey::generate(Algorithm::RS256).unwrap())
    }

    fn source() -> JwksSource {
        JwksSource::from_keys([
            VerificationKey::new(es().jwk().clone())
                .unwrap()
                .with_kid("ec"),
            VerificationKey::new(rs().jwk().clone())
                .unwrap()
                .with_kid("rsa"),
        ])
        .unwrap()
    }

    fn builder() -> JwtValidatorBuilder {
        JwtValidator::builder()
            .issuer(ISS)
            .audience(AUD)
            .keys(source())
            .clock(Arc::new(ManualClock::new(NOW)))
    }

    fn validator() -> JwtValidator {
        builder().build().unwrap()
    }

    fn claims() -> Value {
        json!({
            "iss": ISS, "aud": AUD, "sub": "alice", "client_id": "app",
            "scope": "read write", "iat": NOW, "exp": NOW + 300, "jti": "t1"
        })
    }

    fn b64_json(value: &Value) -> String {
        b64::encode(serde_json::to_vec(value).unwrap())
    }

    /// Signs `header.claims` with a test key (our own signer, aws-lc-rs).
    fn mint(key: &DpopKey, header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", b64_json(header), b64_json(claims));
        let sig = key.sign(input.as_bytes()).unwrap();
        format!("{input}.{}", b64::encode(sig))
    }

    fn es_token(claims: &Value) -> String {
        mint(
            es(),
            &json!({"alg": "ES256", "typ": "at+jwt", "kid": "ec"}),
            claims,
        )
    }

    async fn check(v: &JwtValidator, token: &str) -> Result<AccessClaims, TokenError> {
        v.validate(token).await
    }

    #[tokio::test]
    async fn accepts_a_token_minted_by_jsonwebtoken() {
        let pkcs8 = es().to_pkcs8().unwrap();
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.typ = Some("at+jwt".into());
        header.kid = Some("ec".into());
        let mut body = claims();
        body["cnf"] = json!({"jkt": "thumb"});
        let token = jsonwebtoken::encode(
            &header,
            &body,
            &jsonwebtoken::EncodingKey::from_ec_der(&pkcs8),
        )
        .unwrap();
        let c = check(&validator(), &token).await.unwrap();
        assert_eq!(c.subject(), Some("alice"));
        assert_eq!(c.client_id(), Some("app"));
        assert!(c.scopes().eq(["read", "write"]));
        assert!(c.audience().eq([AUD]));
        assert_eq!(c.issuer(), Some(ISS));
        assert_eq!(c.expires_at(), Some(NOW + 300));
        assert_eq!(c.cnf_jkt(), Some("thumb"));
    }

    #[tokio::test]
    async fn accepts_rs256_and_ps256_with_the_same_rsa_key() {
        let v = validator();
        let rs256 = mint(
            rs(),
            &json!({"alg": "RS256", "typ": "at+jwt", "kid": "rsa"}),
            &claims(),
        );
        assert!(check(&v, &rs256).await.is_ok());
        let ps = DpopKey::from_pkcs8(Algorithm::PS256, &rs().to_pkcs8().unwrap()).unwrap();
        let ps256 = mint(
            &ps,
            &json!({"alg": "PS256", "typ": "at+jwt", "kid": "rsa"}),
            &claims(),
        );
        assert!(check(&v, &ps256).await.is_ok());
        // The key's alg restricts it.
        let restricted = JwtValidator::builder()
            .issuer(ISS)
            .audience(AUD)
            .keys(
                JwksSource::from_keys([VerificationKey::new(rs().jwk().clone())
                    .unwrap()
                    .with_kid("rsa")
                    .with_alg(Algorithm::RS256)])
                .unwrap(),
            )
            .clock(Arc::new(ManualClock::new(NOW)))
            .build()
            .unwrap();
        assert!(check(&restricted, &rs256).await.is_ok());
        assert_eq!(
            check(&restricted, &ps256).await,
            Err(TokenError::AlgorithmNotAllowed)
        );
    }

    #[test]
    fn typ_rules() {
        assert!(type_allowed(Some("at+jwt"), false));
        assert!(type_allowed(Some("AT+JWT"), false));
        assert!(type_allowed(Some("application/at+jwt"), false));
        assert!(type_allowed(Some("Application/At+Jwt"), false));
        assert!(!type_allowed(Some("JWT"), false));
        assert!(!type_allowed(None, false));
        assert!(!type_allowed(Some("dpop+jwt"), false));
        assert!(!type_allowed(Some("application/"), false));
        assert!(type_allowed(Some("JWT"), true));
        assert!(type_allowed(Some("application/jwt"), true));
        assert!(type_allowed(None, true));
        assert!(!type_allowed(Some("dpop+jwt"), true));
        assert!(!type_allowed(Some("é"), true));
    }

    #[tokio::test]
    async fn typ_jwt_only_when_allowed() {
        let jwt = mint(
            es(),
            &json!({"alg": "ES256", "typ": "JWT", "kid": "ec"}),
            &claims(),
        );
        let untyped = mint(es(), &json!({"alg": "ES256", "kid": "ec"}), &claims());
        let v = validator();
        assert_eq!(check(&v, &jwt).await, Err(TokenError::WrongType));
        assert_eq!(check(&v, &untyped).await, Err(TokenError::WrongType));
        let lenient = builder().accept_generic_jwt_type(true).build().unwrap();
        assert!(check(&lenient, &jwt).await.is_ok());
        assert!(check(&lenient, &untyped).await.is_ok());
    }

    #[tokio::test]
    async fn algorithm_policy() {
        let v = validator();
        for alg in [
            "none", "None", "NONE", "HS256", "HS512", "ES384", "EdDSA", "",
        ] {
            let token = format!(
                "{}.{}.c2ln",
                b64_json(&json!({"alg": alg, "typ": "at+jwt", "kid": "ec"})),
                b64_json(&claims())
            );
            assert_eq!(
                check(&v, &token).await,
                Err(TokenError::AlgorithmNotAllowed),
                "{alg}"
            );
        }
        // Out of the allowlist.
        let es_only = builder().algorithms([Algorithm::ES256]).build().unwrap();
        let rs256 = mint(
            rs(),
            &json!({"alg": "RS256", "typ": "at+jwt", "kid": "rsa"}),
            &claims(),
        );
        assert_eq!(
            check(&es_only, &rs256).await,
            Err(TokenError::AlgorithmNotAllowed)
        );
        // A kid naming a key of another type.
        let confused = mint(
            rs(),
            &json!({"alg": "RS256", "typ": "at+jwt", "kid": "ec"}),
            &claims(),
        );
        assert_eq!(
            check(&v, &confused).await,
            Err(TokenError::AlgorithmNotAllowed)
        );
    }

    #[tokio::test]
    async fn kid_lookup() {
        let v = validator();
        let unknown = mint(
            es(),
            &json!({"alg": "ES256", "typ": "at+jwt", "kid": "other"}),
            &claims(),
        );
        assert_eq!(check(&v, &unknown).await, Err(TokenError::UnknownKey));
        // No kid: the only key that fits ES256 is used.
        let no_kid = mint(es(), &json!({"alg": "ES256", "typ": "at+jwt"}), &claims());
        assert!(check(&v, &no_kid).await.is_ok());
        // Signed by another EC key under a known kid.
        let other = DpopKey::generate(Algorithm::ES256).unwrap();
        let forged = mint(
            &other,
            &json!({"alg": "ES256", "typ": "at+jwt", "kid": "ec"}),
            &claims(),
        );
        assert_eq!(check(&v, &forged).await, Err(TokenError::InvalidSignature));
    }

    #[tokio::test]
    async fn hmac_only_with_a_configured_secret() {
        let hs = |alg: jsonwebtoken::Algorithm, secret: &[u8]| {
            let mut header = jsonwebtoken::Header::new(alg);
            header.typ = Some("at+jwt".into());
            jsonwebtoken::encode(
                &header,
                &claims(),
                &jsonwebtoken::EncodingKey::from_secret(secret),
            )
            .unwrap()
        };
        let token = hs(jsonwebtoken::Algorithm::HS256, SECRET);
        assert_eq!(
            check(&validator(), &token).await,
            Err(TokenError::AlgorithmNotAllowed)
        );
        let v = builder().hmac_secret(SECRET).build().unwrap();
        assert!(check(&v, &token).await.is_ok());
        // HS512 needs a 64-byte secret.
        let hs512 = hs(jsonwebtoken::Algorithm::HS512, SECRET);
        assert_eq!(
            check(&v, &hs512).await,
            Err(TokenError::AlgorithmNotAllowed)
        );
        let wrong = hs(
            jsonwebtoken::Algorithm::HS256,
            b"another secret of thirty-two bytes!",
        );
        assert_eq!(check(&v, &wrong).await, Err(TokenError::InvalidSignature));
        // HMAC only: asymmetric tokens have no keys.
        let only = JwtValidator::builder()
            .issuer(ISS)
            .audience(AUD)
            .hmac_secret(SECRET)
            .clock(Arc::new(ManualClock::new(NOW)))
            .build()
            .unwrap();
        assert!(check(&only, &token).await.is_ok());
        assert_eq!(
            check(&only, &es_token(&claims())).await,
            Err(TokenError::AlgorithmNotAllowed)
        );
    }

    #[test]
    fn settings_are_checked() {
        let base = || JwtValidator::builder().keys(source());
        assert_eq!(
            base().audience(AUD).build().unwrap_err().setting(),
            "issuer"
        );
        assert_eq!(
            base().issuer(ISS).build().unwrap_err().setting(),
            "audience"
        );
        assert_eq!(
            base()
                .issuer(ISS)
                .audience("")
                .build()
                .unwrap_err()
                .setting(),
            "audience"
        );
        assert_eq!(
            JwtValidator::builder()
                .issuer(ISS)
                .audience(AUD)
                .build()
                .unwrap_err()
                .setting(),
            "keys"
        );
        assert_eq!(
            builder()
                .leeway(Duration::from_secs(301))
                .build()
                .unwrap_err()
                .setting(),
            "leeway"
        );
        assert_eq!(
            builder().algorithms([]).build().unwrap_err().setting(),
            "algorithms"
        );
        assert_eq!(
            builder()
                .hmac_secret(*b"short")
                .build()
                .unwrap_err()
                .setting(),
            "hmac_secret"
        );
        let pem = b"-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo\n-----END PUBLIC KEY-----\n";
        assert_eq!(
            builder()
                .hmac_secret(pem.to_vec())
                .build()
                .unwrap_err()
                .setting(),
            "hmac_secret"
        );
        let rsa = aws_lc_rs::signature::RsaKeyPair::from_pkcs8(&rs().to_pkcs8().unwrap()).unwrap();
        let pkcs1 = aws_lc_rs::signature::KeyPair::public_key(&rsa)
            .as_ref()
            .to_vec();
        assert_eq!(
            builder().hmac_secret(pkcs1).build().unwrap_err().setting(),
            "hmac_secret"
        );
        let sec1 = match es().jwk() {
            crate::jose::PublicJwk::Ec(k) => k.sec1().to_vec(),
            _ => unreachable!(),
        };
        assert_eq!(
            builder().hmac_secret(sec1).build().unwrap_err().setting(),
            "hmac_secret"
        );
        let v = validator();
        assert_eq!(v.issuer(), ISS);
        assert_eq!(v.audiences(), [AUD]);
        let dbg = format!("{:?}", builder().hmac_secret(SECRET));
        assert!(!dbg.contains("0123456789"));
    }

    #[tokio::test]
    async fn malformed_tokens() {
        let v = validator();
        let good = es_token(&claims());
        let (header, rest) = good.split_once('.').unwrap();
        let array_header = b64::encode(br#"["ES256","at+jwt"]"#);
        let dup_header = b64::encode(br#"{"alg":"ES256","alg":"none","typ":"at+jwt"}"#);
        let crit = b64_json(&json!({"alg": "ES256", "typ": "at+jwt", "crit": ["exp"], "exp": 1}));
        let no_alg = b64_json(&json!({"typ": "at+jwt"}));
        let cases = [
            String::new(),
            "abc".into(),
            "a.b".into(),
            format!("{good}.x"),
            format!("{header}.{rest}=="),
            format!("{header}."),
            format!("{array_header}.{rest}"),
            format!("{dup_header}.{rest}"),
            format!("{crit}.{rest}"),
            format!("{no_alg}.{rest}"),
            format!("{header}.{}.c2ln", b64::encode(b"[1]")),
            format!("{header}.{}.c2ln", b64::encode(b"not json")),
            format!("{header}.***.c2ln"),
            format!("{good}{}", "A".repeat(DEFAULT_MAX_TOKEN_BYTES)),
        ];
        for token in cases {
            let result = check(&v, &token).await;
            assert!(
                matches!(result, Err(TokenError::Malformed(_))),
                "{} bytes: {result:?}",
                token.len()
            );
            // The token never appears in the error.
            if token.len() > 8 {
                assert!(!result.unwrap_err().to_string().contains(&token));
            }
        }
        assert!(check(&v, &good).await.is_ok());
    }

    #[tokio::test]
    async fn tampered_claims_fail_the_signature() {
        let good = es_token(&claims());
        let mut parts: Vec<&str> = good.split('.').collect();
        let mut c = claims();
        c["scope"] = json!("admin");
        let forged = b64_json(&c);
        parts[1] = &forged;
        assert_eq!(
            check(&validator(), &parts.join(".")).await,
            Err(TokenError::InvalidSignature)
        );
    }

    #[tokio::test]
    async fn claim_rules() {
        let v = validator();
        let with = |name: &str, value: Value| {
            let mut c = claims();
            c[name] = value;
            es_token(&c)
        };
        let without = |name: &str| {
            let mut c = claims();
            c.as_object_mut().unwrap().remove(name);
            es_token(&c)
        };
        assert_eq!(
            check(&v, &without("iss")).await,
            Err(TokenError::InvalidClaim("iss"))
        );
        assert_eq!(
            check(&v, &with("iss", json!(ISS.to_uppercase()))).await,
            Err(TokenError::WrongIssuer)
        );
        assert_eq!(
            check(&v, &with("iss", json!(format!("{ISS}/")))).await,
            Err(TokenError::WrongIssuer)
        );
        assert_eq!(
            check(&v, &without("aud")).await,
            Err(TokenError::InvalidClaim("aud"))
        );
        assert_eq!(
            check(&v, &with("aud", json!(5))).await,
            Err(TokenError::InvalidClaim("aud"))
        );
        assert_eq!(
            check(&v, &with("aud", json!([AUD, 5]))).await,
            Err(TokenError::InvalidClaim("aud"))
        );
        assert_eq!(
            check(&v, &with("aud", json!([]))).await,
            Err(TokenError::WrongAudience)
        );
        assert_eq!(
            check(&v, &with("aud", json!("https://mcp.example"))).await,
            Err(TokenError::WrongAudience)
        );
        assert!(
            check(&v, &with("aud", json!(["https://other", AUD])))
                .await
                .is_ok()
        );
        assert_eq!(
            check(&v, &without("exp")).await,
            Err(TokenError::InvalidClaim("exp"))
        );
        assert_eq!(
            check(&v, &with("exp", json!("9999999999"))).await,
            Err(TokenError::InvalidClaim("exp"))
        );
        assert_eq!(
            check(&v, &with("exp", json!(-1))).await,
            Err(TokenError::InvalidClaim("exp"))
        );
        assert!(
            check(&v, &with("exp", json!(1_700_000_010.5)))
                .await
                .is_ok()
        );
        assert_eq!(
            check(&v, &with("nbf", json!(null))).await,
            Err(TokenError::InvalidClaim("nbf"))
        );
        assert_eq!(
            check(&v, &with("iat", json!(NOW + 61))).await,
            Err(TokenError::NotYetValid)
        );
        assert!(check(&v, &with("iat", json!(NOW + 60))).await.is_ok());
        assert_eq!(
            check(&v, &with("sub", json!(42))).await,
            Err(TokenError::InvalidClaim("sub"))
        );
        assert_eq!(
            check(&v, &with("client_id", json!(["a"]))).await,
            Err(TokenError::InvalidClaim("client_id"))
        );
        assert_eq!(
            check(&v, &with("scope", json!(["read"]))).await,
            Err(TokenError::InvalidClaim("scope"))
        );
        assert_eq!(
            check(&v, &with("cnf", json!({"x5t#S256": "abc"}))).await,
            Err(TokenError::InvalidClaim("cnf"))
        );
        assert_eq!(
            check(&v, &with("cnf", json!({"jkt": 1}))).await,
            Err(TokenError::InvalidClaim("cnf"))
        );
        assert_eq!(
            check(&v, &with("cnf", json!("jkt"))).await,
            Err(TokenError::InvalidClaim("cnf"))
        );
    }

    #[tokio::test]
    async fn known_headers_come_from_verified_tokens_and_skip_only_the_header() {
        let v = validator();
        let known = |token: &str| {
            let header = token.split('.').next().unwrap();
            v.inner.known_headers.get(header).is_some()
        };
        let header = json!({"alg": "ES256", "typ": "at+jwt", "kid": "ec"});
        let other = DpopKey::generate(Algorithm::ES256).unwrap();
        let forged = mint(&other, &header, &claims());
        assert_eq!(check(&v, &forged).await, Err(TokenError::InvalidSignature));
        assert!(!known(&forged), "a forged token's header is not kept");
        let good = mint(es(), &header, &claims());
        assert!(check(&v, &good).await.is_ok());
        assert!(known(&good));
        // With the header known, everything else is still checked.
        assert!(check(&v, &good).await.is_ok());
        assert_eq!(check(&v, &forged).await, Err(TokenError::InvalidSignature));
        let mut late = claims();
        late["exp"] = json!(NOW - 120);
        assert_eq!(
            check(&v, &mint(es(), &header, &late)).await,
            Err(TokenError::Expired)
        );
        let (h, rest) = good.split_once('.').unwrap();
        let (_, sig) = rest.rsplit_once('.').unwrap();
        assert!(matches!(
            check(&v, &format!("{h}.{}.{sig}", b64::encode(b"[1]"))).await,
            Err(TokenError::Malformed(_))
        ));
        // More distinct headers than slots: the first ones stay, the others
        // are checked in full every time.
        let mut tokens = Vec::new();
        for i in 0..KNOWN_HEADERS + 3 {
            let header = json!({"alg": "ES256", "typ": "at+jwt", "kid": "ec", "n": i});
            tokens.push(mint(es(), &header, &claims()));
        }
        for token in &tokens {
            assert!(check(&v, token).await.is_ok());
            assert!(check(&v, token).await.is_ok());
        }
        let kept = tokens.iter().filter(|t| known(t)).count();
        assert_eq!(kept, KNOWN_HEADERS - 1);
        assert!(known(&good));
        // A header refused stays refused, whatever is known.
        let jwt = mint(
            es(),
            &json!({"alg": "ES256", "typ": "JWT", "kid": "ec"}),
            &claims(),
        );
        assert_eq!(check(&v, &jwt).await, Err(TokenError::WrongType));
        assert!(!known(&jwt));
    }

    #[tokio::test]
    async fn time_rules_use_the_clock_and_leeway() {
        let clock = ManualClock::new(NOW);
        let v = builder()
            .clock(Arc::new(clock.clone()))
            .leeway(Duration::from_secs(10))
            .build()
            .unwrap();
        let mut c = claims();
        c["exp"] = json!(NOW + 100);
        c["nbf"] = json!(NOW);
        let token = es_token(&c);
        clock.set(NOW + 109);
        assert!(check(&v, &token).await.is_ok());
        clock.set(NOW + 110);
        assert_eq!(check(&v, &token).await, Err(TokenError::Expired));
        clock.set(NOW - 10);
        assert!(check(&v, &token).await.is_ok());
        clock.set(NOW - 11);
        assert_eq!(check(&v, &token).await, Err(TokenError::NotYetValid));
    }
}
