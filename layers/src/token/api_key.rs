//! API keys: [`ApiKeyValidator`] checks static keys, kept only as SHA-256
//! hashes and compared in constant time, and grants each one a subject and
//! scopes.
//!
//! Use it as a [`TokenValidator`] behind [`BearerLayer`](crate::bearer::BearerLayer)
//! and [`ValidateTokenLayer`](super::ValidateTokenLayer) for
//! `Authorization: Bearer <key>`, or with [`ApiKeyHeaderLayer`] for a
//! dedicated header such as `X-API-Key`. Either way the request carries
//! [`AccessClaims`] and [`Principal`] afterwards, so scope checks work the
//! same as for OAuth tokens. An unknown key is [`TokenError::Inactive`].

use std::fmt;
use std::sync::Arc;

use http::Request;
use http::header::HeaderName;
use serde_json::{Map, Value};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

use crate::challenge::{ChallengeConfig, ErrorCode, Rejection};
use crate::check::{CheckLayer, Checked, RequestCheck};
use crate::config::ConfigError;

use super::claims::{AccessClaims, Principal};
use super::validator::{TokenError, TokenValidator, ValidationFuture};

/// Shortest plaintext key accepted by [`ApiKeyValidatorBuilder::key`]: short
/// keys can be guessed.
pub const MIN_KEY_BYTES: usize = 16;

/// What an API key grants.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApiKeyGrant {
    /// The subject requests with this key act as (`sub`).
    pub subject: String,
    /// The scopes the key grants.
    pub scopes: Vec<String>,
}

impl ApiKeyGrant {
    /// A grant of `scopes` to `subject`.
    pub fn new<I, S>(subject: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            subject: subject.into(),
            scopes: scopes.into_iter().map(Into::into).collect(),
        }
    }

    fn into_claims(self) -> AccessClaims {
        let mut raw = Map::new();
        raw.insert("sub".into(), Value::String(self.subject));
        raw.insert("scope".into(), Value::String(self.scopes.join(" ")));
        AccessClaims::from_claims(raw)
    }
}

struct StoredKey {
    hash: [u8; 32],
    claims: AccessClaims,
}

/// A [`TokenValidator`] for static API keys; see the [module docs](self).
/// Cheap to clone.
#[derive(Clone)]
pub struct ApiKeyValidator {
    keys: Arc<[StoredKey]>,
}

/// Builder for [`ApiKeyValidator`].
pub struct ApiKeyValidatorBuilder {
    keys: Vec<StoredKey>,
    error: Option<ConfigError>,
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// 32 raw bytes, or 64 hexadecimal digits.
fn parse_hash(hash: &[u8]) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    match hash.len() {
        32 => out.copy_from_slice(hash),
        64 => {
            for (byte, pair) in out.iter_mut().zip(hash.chunks_exact(2)) {
                *byte = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
            }
        }
        _ => return None,
    }
    Some(out)
}

impl ApiKeyValidator {
    /// A builder with no keys.
    pub fn builder() -> ApiKeyValidatorBuilder {
        ApiKeyValidatorBuilder {
            keys: Vec::new(),
            error: None,
        }
    }

    /// The lowercase hexadecimal SHA-256 of `key`: what to store in the
    /// configuration instead of the key (see [`ApiKeyValidatorBuilder::key_hash`]).
    pub fn hash_hex(key: &str) -> String {
        use std::fmt::Write as _;
        sha256(key.as_bytes())
            .iter()
            .fold(String::with_capacity(64), |mut out, b| {
                let _ = write!(out, "{b:02x}");
                out
            })
    }

    /// Looks `key` up: its claims, or [`TokenError::Inactive`] when no key
    /// matches. Synchronous; [`TokenValidator::validate`] wraps it.
    pub fn check(&self, key: &str) -> Result<AccessClaims, TokenError> {
        // Constant time with respect to the secret: the presented key is
        // hashed, and its hash is compared with `ct_eq` against *every*
        // stored hash without an early exit; the index of a match is picked
        // with `conditional_assign`, not a branch. The work done depends only
        // on the number of configured keys (public) and the length of the
        // presented key (the caller's own input), never on how much of a
        // stored key it matches or which key it is. Even a leak in the
        // comparison would only concern SHA-256 outputs, which reveal
        // nothing usable about the keys.
        let presented = sha256(key.as_bytes());
        let mut found = Choice::from(0);
        let mut index = 0u64;
        for (i, stored) in (0u64..).zip(self.keys.iter()) {
            let equal = stored.hash.ct_eq(&presented);
            index.conditional_assign(&i, equal);
            found |= equal;
        }
        if bool::from(found) {
            usize::try_from(index)
                .ok()
                .and_then(|i| self.keys.get(i))
                .map(|stored| stored.claims.clone())
                .ok_or(TokenError::Inactive)
        } else {
            Err(TokenError::Inactive)
        }
    }

    /// How many keys are configured.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is configured (never true for a built validator).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl ApiKeyValidatorBuilder {
    /// Accepts the key whose SHA-256 is `hash`: 32 raw bytes or 64
    /// hexadecimal digits (as printed by [`ApiKeyValidator::hash_hex`] or
    /// `sha256sum`). Anything else makes [`build`](Self::build) fail.
    #[must_use]
    pub fn key_hash(mut self, hash: impl AsRef<[u8]>, grant: ApiKeyGrant) -> Self {
        match parse_hash(hash.as_ref()) {
            Some(hash) => self.push(hash, grant),
            None => self.fail(ConfigError::new(
                "API key hash",
                "expected a SHA-256 hash: 32 bytes or 64 hexadecimal digits",
            )),
        }
        self
    }

    /// Accepts `key`, given in plaintext: it is hashed at once and the
    /// plaintext zeroized. Keys shorter than [`MIN_KEY_BYTES`] make
    /// [`build`](Self::build) fail.
    #[must_use]
    pub fn key(mut self, key: impl Into<String>, grant: ApiKeyGrant) -> Self {
        let key = Zeroizing::new(key.into());
        if key.len() < MIN_KEY_BYTES {
            self.fail(ConfigError::new(
                "API key",
                format!("keys must be at least {MIN_KEY_BYTES} bytes long"),
            ));
        } else {
            self.push(sha256(key.as_bytes()), grant);
        }
        self
    }

    fn push(&mut self, hash: [u8; 32], grant: ApiKeyGrant) {
        if grant.subject.is_empty() {
            self.fail(ConfigError::new(
                "API key grant",
                "the subject must not be empty",
            ));
        } else if self.keys.iter().any(|k| k.hash == hash) {
            self.fail(ConfigError::new(
                "API key",
                format!(
                    "the same key is configured twice (second time for subject {:?})",
                    grant.subject
                ),
            ));
        } else {
            self.keys.push(StoredKey {
                hash,
                claims: grant.into_claims(),
            });
        }
    }

    fn fail(&mut self, error: ConfigError) {
        self.error.get_or_insert(error);
    }

    /// Checks the configuration and builds the validator.
    pub fn build(self) -> Result<ApiKeyValidator, ConfigError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        if self.keys.is_empty() {
            return Err(ConfigError::new("API keys", "no key is configured"));
        }
        Ok(ApiKeyValidator {
            keys: self.keys.into(),
        })
    }
}

impl TokenValidator for ApiKeyValidator {
    fn validate(&self, token: &str) -> ValidationFuture {
        Box::pin(std::future::ready(self.check(token)))
    }
}

impl fmt::Debug for ApiKeyValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyValidator")
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl fmt::Debug for ApiKeyValidatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyValidatorBuilder")
            .field("keys", &self.keys.len())
            .field("error", &self.error)
            .finish()
    }
}

/// The default header read by [`ApiKeyHeaderLayer`].
pub static X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");

#[derive(Debug)]
/// What [`ApiKeyHeaderLayer`] checks: the API key header.
pub struct ApiKeyHeaderCheck {
    validator: ApiKeyValidator,
    header: HeaderName,
    challenges: ChallengeConfig,
    missing: String,
    duplicate: String,
    malformed: String,
}

impl ApiKeyHeaderCheck {
    fn new(validator: ApiKeyValidator, header: HeaderName, challenges: ChallengeConfig) -> Self {
        Self {
            missing: format!("an API key is required: send the {header} header"),
            duplicate: format!("more than one {header} header"),
            malformed: format!("malformed {header} header"),
            validator,
            header,
            challenges,
        }
    }

    fn claims<B>(&self, request: &Request<B>) -> Result<AccessClaims, Rejection> {
        let refuse = |description: &String, reason: &'static str| {
            tracing::info!(target: "mcp_tower::api_key", reason, "request refused");
            self.challenges.apply(Rejection::bad_request(
                ErrorCode::InvalidRequest,
                description.clone(),
            ))
        };
        let mut values = request.headers().get_all(&self.header).iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            if request.headers().contains_key(&self.header) {
                return Err(refuse(&self.duplicate, "multiple_api_keys"));
            }
            tracing::debug!(target: "mcp_tower::api_key", reason = "no_api_key", "request refused");
            return Err(self
                .challenges
                .apply(Rejection::unauthorized(None, self.missing.clone())));
        };
        let key = match value.to_str() {
            Ok(key) if !key.is_empty() => key,
            _ => return Err(refuse(&self.malformed, "malformed_api_key")),
        };
        self.validator.check(key).map_err(|error| {
            tracing::info!(target: "mcp_tower::api_key", reason = error.reason(), "API key refused");
            self.challenges.apply(Rejection::unauthorized(
                Some(ErrorCode::InvalidToken),
                "the API key is not valid",
            ))
        })
    }
}

/// A [`Layer`](tower_layer::Layer) authenticating requests by an API key header (by default
/// `X-API-Key`, exactly one): inserts [`AccessClaims`] and [`Principal`], or
/// refuses with 401 (`invalid_token` for an unknown key, no error code when
/// the header is missing) or 400 `invalid_request` (several headers, a value
/// that is not visible ASCII).
pub type ApiKeyHeaderLayer = CheckLayer<ApiKeyHeaderCheck>;

/// The service made by [`ApiKeyHeaderLayer`].
pub type ApiKeyHeader<S> = Checked<S, ApiKeyHeaderCheck>;

impl ApiKeyHeaderLayer {
    /// Reads `X-API-Key` and answers with a plain `Bearer` challenge.
    pub fn new(validator: ApiKeyValidator) -> Self {
        Self::from_check(ApiKeyHeaderCheck::new(
            validator,
            X_API_KEY.clone(),
            ChallengeConfig::new(),
        ))
    }

    /// Reads this header instead.
    #[must_use]
    pub fn header(self, name: HeaderName) -> Self {
        Self::from_check(ApiKeyHeaderCheck::new(
            self.check.validator.clone(),
            name,
            self.check.challenges.clone(),
        ))
    }

    /// How rejections introduce the resource.
    #[must_use]
    pub fn with_challenges(self, challenges: ChallengeConfig) -> Self {
        Self::from_check(ApiKeyHeaderCheck::new(
            self.check.validator.clone(),
            self.check.header.clone(),
            challenges,
        ))
    }
}

impl RequestCheck for ApiKeyHeaderCheck {
    fn check<B>(&self, request: &mut Request<B>) -> Result<(), Rejection> {
        let claims = self.claims(request)?;
        tracing::debug!(target: "mcp_tower::api_key", subject = claims.subject(), "API key accepted");
        let principal: Principal = claims.principal();
        request.extensions_mut().insert(principal);
        request.extensions_mut().insert(claims);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "mcp_live_0123456789abcdef";

    fn validator() -> ApiKeyValidator {
        ApiKeyValidator::builder()
            .key(KEY, ApiKeyGrant::new("svc-a", ["tools:call", "read"]))
            .key_hash(
                ApiKeyValidator::hash_hex("mcp_live_other_key_9876"),
                ApiKeyGrant::new("svc-b", ["read"]),
            )
            .build()
            .unwrap()
    }

    #[test]
    fn finds_each_key_and_its_grant() {
        let v = validator();
        let a = v.check(KEY).unwrap();
        assert_eq!(a.subject(), Some("svc-a"));
        assert!(a.scopes().eq(["tools:call", "read"]));
        assert_eq!(a.principal().subject(), "svc-a");
        let b = v.check("mcp_live_other_key_9876").unwrap();
        assert_eq!(b.subject(), Some("svc-b"));
        assert_eq!(
            v.check("mcp_live_0123456789abcdeF"),
            Err(TokenError::Inactive)
        );
        assert_eq!(v.check(""), Err(TokenError::Inactive));
        assert_eq!(v.len(), 2);
    }

    #[test]
    fn hashes_parse_as_hex_or_raw_bytes() {
        let hex = ApiKeyValidator::hash_hex("abc");
        assert_eq!(
            hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(parse_hash(hex.as_bytes()), Some(sha256(b"abc")));
        assert_eq!(
            parse_hash(hex.to_uppercase().as_bytes()),
            Some(sha256(b"abc"))
        );
        assert_eq!(parse_hash(&sha256(b"abc")), Some(sha256(b"abc")));
        assert_eq!(parse_hash(b"zz"), None);
        let mut bad = hex.into_bytes();
        bad[10] = b'g';
        assert_eq!(parse_hash(&bad), None);
    }

    #[test]
    fn configuration_is_checked() {
        let grant = || ApiKeyGrant::new("s", ["x"]);
        assert!(ApiKeyValidator::builder().build().is_err());
        assert!(
            ApiKeyValidator::builder()
                .key("short", grant())
                .build()
                .is_err()
        );
        assert!(
            ApiKeyValidator::builder()
                .key_hash("nothex", grant())
                .build()
                .is_err()
        );
        assert!(
            ApiKeyValidator::builder()
                .key(KEY, ApiKeyGrant::new("", ["x"]))
                .build()
                .is_err()
        );
        let twice = ApiKeyValidator::builder()
            .key(KEY, grant())
            .key_hash(ApiKeyValidator::hash_hex(KEY), grant())
            .build()
            .unwrap_err();
        assert!(twice.to_string().contains("twice"), "{twice}");
    }

    #[test]
    fn debug_shows_no_keys_or_hashes() {
        let v = validator();
        let text = format!("{v:?}");
        assert!(!text.contains(KEY));
        assert!(!text.contains(&ApiKeyValidator::hash_hex(KEY)[..16]));
        assert_eq!(text, "ApiKeyValidator { keys: 2 }");
    }
}
