//! JSON Web Key Sets (RFC 7517 §5) that verify JWT access tokens: a
//! [`JwksSource`] is static, a file re-read when it changes, or (feature
//! `fetch`) an authorization server's `jwks_uri` with a cache.
//!
//! Keys are parsed with the [`PublicJwk`] rules (EC P-256, RSA of 2048 to
//! 8192 bits, no private members); keys with `use` other than `sig`,
//! `key_ops` without `verify`, an `alg` this library does not implement, or
//! any other defect are skipped with a log event, so one odd key does not
//! make a whole set unusable. Each key is parsed by aws-lc once, when the set
//! is loaded, for every algorithm it may verify ([`PreparedKey`]).
//!
//! A URL source (feature `fetch`; settings on `UrlJwksBuilder`):
//!
//! - keeps the set for the `Cache-Control: max-age` of the response, bounded
//!   by a minimum and a maximum (default 60 s and 24 h; 5 minutes when the
//!   header is absent; `no-store` and `no-cache` mean the minimum);
//! - fetches at most once per refresh interval (default 30 s), whatever asks
//!   for it: an expired set, or a token whose `kid` is unknown, so tokens
//!   with invented key ids cannot make it hammer the endpoint;
//! - runs one fetch at a time; concurrent requests wait for it and share its
//!   result. The fetch runs in its own task, so a request that goes away
//!   does not abort it;
//! - keeps the last good set while the endpoint fails (a `tracing` warning
//!   per failed fetch), for at most `max_stale` past its freshness
//!   (default 24 h), and refuses tokens with [`TokenError::Unavailable`]
//!   when it never had one or that time is over (a `tracing` error).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use serde_json::Value;

use crate::config::ConfigError;
use crate::jose::{Algorithm, JwkError, PreparedKey, PublicJwk, is_json_object};

use super::validator::TokenError;

#[cfg(feature = "fetch")]
pub use self::url::UrlJwksBuilder;

/// Most keys read from one set; the rest are ignored (bounds the work an
/// oversized set can cause).
pub const MAX_KEYS: usize = 64;

/// How often (seconds) a file source looks at the file's modification time.
pub const FILE_CHECK_INTERVAL_SECS: u64 = 1;

/// Why a key set could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// Not a JSON object with a `keys` array.
    #[error("JWKS is not a JSON object with a \"keys\" array")]
    Malformed,
    /// No key in the set can verify tokens.
    #[error(
        "JWKS has no usable key: expected EC P-256 or RSA (2048 to 8192 bits) public keys with \"use\":\"sig\" or no \"use\""
    )]
    NoUsableKeys,
    /// A key given to [`VerificationKey::new`] was refused.
    #[error("JWKS key refused: {0}")]
    Key(#[from] JwkError),
    /// The file could not be read.
    #[error("cannot read JWKS file: {0}")]
    Io(String),
    /// The HTTP request failed.
    #[cfg(feature = "fetch")]
    #[error("JWKS request failed: {0}")]
    Fetch(#[from] crate::fetch::FetchError),
    /// The endpoint answered with another status than 200.
    #[error("JWKS endpoint answered HTTP {0}, expected 200")]
    Status(u16),
}

/// A public key that verifies tokens, with its key id and permitted
/// algorithm. `Debug` shows the thumbprint, never key bytes.
#[derive(Clone)]
pub struct VerificationKey {
    kid: Option<String>,
    alg: Option<Algorithm>,
    jwk: PublicJwk,
    thumbprint: String,
    prepared: Vec<PreparedKey>,
}

impl VerificationKey {
    /// A key without `kid` or `alg`, usable with every algorithm of its type.
    pub fn new(jwk: PublicJwk) -> Result<Self, JwksError> {
        let prepared: Vec<PreparedKey> = Algorithm::ALL
            .into_iter()
            .filter(|alg| jwk.supports(*alg))
            .map(|alg| jwk.prepare(alg))
            .collect::<Result<_, _>>()
            .map_err(|_| JwksError::Key(JwkError::Malformed))?;
        Ok(Self {
            kid: None,
            alg: None,
            thumbprint: jwk.thumbprint(),
            jwk,
            prepared,
        })
    }

    /// Sets the key id (`kid`) tokens name it by.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Restricts the key to one algorithm (the JWK `alg` member).
    #[must_use]
    pub fn with_alg(mut self, alg: Algorithm) -> Self {
        self.alg = Some(alg);
        self
    }

    /// The key id.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The only algorithm the key may be used with, if restricted.
    pub fn alg(&self) -> Option<Algorithm> {
        self.alg
    }

    /// The public key.
    pub fn jwk(&self) -> &PublicJwk {
        &self.jwk
    }

    /// The RFC 7638 thumbprint of the key.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// Whether a token signed with `alg` may be verified with this key: the
    /// key type fits (`kty` EC for ES256, RSA for RS256/PS256) and the key's
    /// `alg`, when it has one, is `alg` (RFC 7517 §4.4).
    pub fn supports(&self, alg: Algorithm) -> bool {
        self.jwk.supports(alg) && self.alg.is_none_or(|own| own == alg)
    }

    /// The key parsed for `alg`, when the key may verify it.
    pub(crate) fn prepared(&self, alg: Algorithm) -> Option<&PreparedKey> {
        if !self.supports(alg) {
            return None;
        }
        self.prepared.iter().find(|key| key.alg() == alg)
    }
}

impl fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("jkt", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

/// The outcome of looking a token's key up in a set.
#[derive(Debug)]
pub(crate) enum Selection<'a> {
    /// The key to verify with.
    Found(&'a VerificationKey),
    /// No key has the token's `kid` (or, without `kid`, none fits the alg).
    NotFound,
    /// The `kid` names keys, but none may be used with the token's `alg`.
    AlgMismatch,
    /// No `kid`, and several keys fit the alg.
    Ambiguous,
}

/// A loaded set of keys.
#[derive(Debug, Default)]
pub(crate) struct KeySet {
    keys: Vec<VerificationKey>,
}

impl KeySet {
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// Finds the key for a token with `kid` and `alg`: the key with that
    /// `kid` that fits `alg`; without `kid`, the only key that fits `alg`.
    pub(crate) fn select(&self, kid: Option<&str>, alg: Algorithm) -> Selection<'_> {
        if let Some(kid) = kid {
            let mut named = self.keys.iter().filter(|k| k.kid() == Some(kid)).peekable();
            if named.peek().is_none() {
                return Selection::NotFound;
            }
            return named
                .find(|k| k.supports(alg))
                .map_or(Selection::AlgMismatch, Selection::Found);
        }
        let mut fitting = self.keys.iter().filter(|k| k.supports(alg));
        match (fitting.next(), fitting.next()) {
            (Some(key), None) => Selection::Found(key),
            (None, _) => Selection::NotFound,
            (Some(_), Some(_)) => Selection::Ambiguous,
        }
    }

    /// Parses a JWKS document, skipping keys that cannot verify tokens.
    pub(crate) fn parse(json: &[u8]) -> Result<Self, JwksError> {
        if !is_json_object(json) {
            return Err(JwksError::Malformed);
        }
        let document: serde_json::Map<String, Value> =
            serde_json::from_slice(json).map_err(|_| JwksError::Malformed)?;
        let Some(Value::Array(entries)) = document.get("keys") else {
            return Err(JwksError::Malformed);
        };
        if entries.len() > MAX_KEYS {
            tracing::warn!(target: "mcp_tower::token", keys = entries.len(), max = MAX_KEYS, "JWKS has too many keys; ignoring the rest");
        }
        let keys: Vec<VerificationKey> = entries
            .iter()
            .take(MAX_KEYS)
            .enumerate()
            .filter_map(|(index, entry)| match parse_key(entry) {
                Ok(key) => Some(key),
                Err(reason) => {
                    tracing::debug!(target: "mcp_tower::token", index, reason, "JWKS key skipped");
                    None
                }
            })
            .collect();
        if keys.is_empty() {
            return Err(JwksError::NoUsableKeys);
        }
        Ok(Self { keys })
    }
}

/// One JWKS entry, or why it is skipped.
fn parse_key(entry: &Value) -> Result<VerificationKey, &'static str> {
    let Value::Object(members) = entry else {
        return Err("not a JSON object");
    };
    // RFC 7517 §4.2: only signature keys.
    match members.get("use") {
        None => {}
        Some(Value::String(u)) if u == "sig" => {}
        Some(_) => return Err("\"use\" is not \"sig\""),
    }
    // RFC 7517 §4.3.
    match members.get("key_ops") {
        None => {}
        Some(Value::Array(ops)) if ops.iter().any(|op| op == "verify") => {}
        Some(_) => return Err("\"key_ops\" does not include \"verify\""),
    }
    let alg = match members.get("alg") {
        None => None,
        Some(Value::String(alg)) => Some(
            alg.parse::<Algorithm>()
                .map_err(|_| "\"alg\" is not ES256, RS256 or PS256")?,
        ),
        Some(_) => return Err("\"alg\" is not a string"),
    };
    let kid = match members.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err("\"kid\" is not a string"),
    };
    let jwk = PublicJwk::from_value(entry).map_err(|e| match e {
        JwkError::PrivateKeyMaterial => "contains private key material",
        JwkError::UnsupportedKeyType => "unsupported kty",
        JwkError::UnsupportedCurve => "unsupported curve",
        JwkError::InvalidRsaKey => "RSA key too small, too large or invalid",
        JwkError::InvalidPoint => "EC point not on P-256",
        _ => "invalid key members",
    })?;
    if let Some(alg) = alg
        && !jwk.supports(alg)
    {
        return Err("\"alg\" does not fit the key type");
    }
    let mut key = VerificationKey::new(jwk).map_err(|_| "invalid key members")?;
    key.kid = kid;
    key.alg = alg;
    Ok(key)
}

/// Where the keys that verify tokens come from. Cheap to clone; clones share
/// their cache.
#[derive(Clone)]
pub struct JwksSource {
    kind: Arc<Kind>,
}

enum Kind {
    Static(Arc<KeySet>),
    File(FileSource),
    #[cfg(feature = "fetch")]
    Url(Arc<url::UrlSource>),
}

impl JwksSource {
    /// A fixed set, from the text of a JWKS document.
    pub fn from_json(json: &str) -> Result<Self, ConfigError> {
        let set =
            KeySet::parse(json.as_bytes()).map_err(|e| ConfigError::new("jwks", e.to_string()))?;
        Ok(Self::from_set(set))
    }

    /// A fixed set of keys.
    pub fn from_keys(keys: impl IntoIterator<Item = VerificationKey>) -> Result<Self, ConfigError> {
        let keys: Vec<VerificationKey> = keys.into_iter().collect();
        if keys.is_empty() {
            return Err(ConfigError::new("jwks", "at least one key is required"));
        }
        Ok(Self::from_set(KeySet { keys }))
    }

    fn from_set(set: KeySet) -> Self {
        Self {
            kind: Arc::new(Kind::Static(Arc::new(set))),
        }
    }

    /// A JWKS file, read now (so a missing or broken file is found at start)
    /// and read again when its modification time or size changes (looked at
    /// at most once per [`FILE_CHECK_INTERVAL_SECS`], and when a token names
    /// an unknown `kid`). A change that does not parse keeps the previous
    /// keys and logs a warning.
    pub fn file(path: impl Into<PathBuf>) -> Result<Self, ConfigError> {
        let path = path.into();
        let stamp = FileStamp::of(&path).map_err(|e| ConfigError::new("jwks file", e))?;
        let set = read_file(&path).map_err(|e| ConfigError::new("jwks file", e.to_string()))?;
        Ok(Self {
            kind: Arc::new(Kind::File(FileSource {
                path,
                state: Mutex::new(FileState {
                    keys: Arc::new(set),
                    stamp,
                    failed: None,
                    checked_at: None,
                    missing: false,
                }),
            })),
        })
    }

    /// An authorization server's `jwks_uri` with the default cache policy;
    /// see [`UrlJwksBuilder`] for the settings. The URL must be `https`
    /// (plain `http` only for loopback hosts).
    #[cfg(feature = "fetch")]
    pub fn url(url: &str, fetcher: crate::fetch::HttpFetcher) -> Result<Self, ConfigError> {
        Self::url_builder(url, fetcher).build()
    }

    /// A builder for a `jwks_uri` source.
    #[cfg(feature = "fetch")]
    pub fn url_builder(url: &str, fetcher: crate::fetch::HttpFetcher) -> UrlJwksBuilder {
        UrlJwksBuilder::new(url, fetcher)
    }

    /// The keys to verify a token with at `now` (Unix seconds). With
    /// `refresh`, the token named a `kid` the current set lacks: a file is
    /// looked at at once, and a URL is fetched again if the refresh interval
    /// allows.
    #[cfg_attr(not(feature = "fetch"), allow(clippy::unused_async))]
    pub(crate) async fn keys(&self, now: u64, refresh: bool) -> Result<Arc<KeySet>, TokenError> {
        match &*self.kind {
            Kind::Static(set) => Ok(Arc::clone(set)),
            Kind::File(file) => Ok(file.keys(now, refresh)),
            #[cfg(feature = "fetch")]
            Kind::Url(source) => source.keys(now, refresh).await,
        }
    }

    /// [`keys`](Self::keys) when it needs no I/O: always for a static set and
    /// a file (read synchronously, as `keys` does); for a URL, when its
    /// cached set is fresh or no fetch is allowed yet. `None`: call `keys`.
    pub(crate) fn keys_now(
        &self,
        now: u64,
        refresh: bool,
    ) -> Option<Result<Arc<KeySet>, TokenError>> {
        match &*self.kind {
            Kind::Static(set) => Some(Ok(Arc::clone(set))),
            Kind::File(file) => Some(Ok(file.keys(now, refresh))),
            #[cfg(feature = "fetch")]
            Kind::Url(source) => source.keys_now(now, refresh),
        }
    }
}

impl fmt::Debug for JwksSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.kind {
            Kind::Static(set) => f
                .debug_struct("JwksSource::Static")
                .field("keys", &set.keys)
                .finish(),
            Kind::File(file) => f
                .debug_struct("JwksSource::File")
                .field("path", &file.path)
                .finish_non_exhaustive(),
            #[cfg(feature = "fetch")]
            Kind::Url(source) => f
                .debug_struct("JwksSource::Url")
                .field("uri", &source.display_uri())
                .finish_non_exhaustive(),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded state stays consistent even if a holder panicked: every
    // update is a plain assignment.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------------------
// File source.

/// What identifies a version of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
}

impl FileStamp {
    fn of(path: &Path) -> Result<Self, String> {
        let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
        Ok(Self {
            modified: meta.modified().ok(),
            len: meta.len(),
        })
    }
}

fn read_file(path: &Path) -> Result<KeySet, JwksError> {
    let bytes = std::fs::read(path).map_err(|e| JwksError::Io(e.to_string()))?;
    KeySet::parse(&bytes)
}

struct FileSource {
    path: PathBuf,
    state: Mutex<FileState>,
}

struct FileState {
    keys: Arc<KeySet>,
    /// The version the keys were read from.
    stamp: FileStamp,
    /// A version that failed to parse: not tried again until it changes.
    failed: Option<FileStamp>,
    checked_at: Option<u64>,
    /// The file was missing at the last look (logged once).
    missing: bool,
}

impl FileSource {
    /// The current keys, re-read first if the file changed. The file is
    /// small and local: it is read synchronously under the lock.
    fn keys(&self, now: u64, force: bool) -> Arc<KeySet> {
        let mut state = lock(&self.state);
        let due = state
            .checked_at
            .is_none_or(|at| force || now < at || now >= at + FILE_CHECK_INTERVAL_SECS);
        if due {
            state.checked_at = Some(now);
            self.check(&mut state);
        }
        Arc::clone(&state.keys)
    }

    fn check(&self, state: &mut FileState) {
        let stamp = match FileStamp::of(&self.path) {
            Ok(stamp) => stamp,
            Err(error) => {
                if !state.missing {
                    tracing::warn!(target: "mcp_tower::token", path = %self.path.display(), %error, "JWKS file cannot be read; keeping the previous keys");
                    state.missing = true;
                }
                return;
            }
        };
        state.missing = false;
        if stamp == state.stamp || Some(stamp) == state.failed {
            return;
        }
        match read_file(&self.path) {
            Ok(set) => {
                tracing::info!(target: "mcp_tower::token", path = %self.path.display(), keys = set.len(), "JWKS file reloaded");
                state.keys = Arc::new(set);
                state.stamp = stamp;
                state.failed = None;
            }
            Err(error) => {
                tracing::warn!(target: "mcp_tower::token", path = %self.path.display(), %error, "changed JWKS file is not usable; keeping the previous keys");
                state.failed = Some(stamp);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// URL source.

#[cfg(feature = "fetch")]
mod url {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use http::{HeaderMap, StatusCode, Uri};

    use crate::config::ConfigError;
    use crate::fetch::{self, HttpFetcher};
    use crate::token::validator::TokenError;

    use super::{JwksError, JwksSource, KeySet, Kind, lock};

    /// Default lower bound on how long a fetched set is used.
    pub const DEFAULT_MIN_TTL: Duration = Duration::from_secs(60);
    /// Default upper bound on how long a fetched set is used.
    pub const DEFAULT_MAX_TTL: Duration = Duration::from_secs(24 * 60 * 60);
    /// Default lifetime of a fetched set without `Cache-Control: max-age`.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(5 * 60);
    /// Default least time between two fetches.
    pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(30);
    /// Default longest time a set is still used, after it expired, while
    /// the endpoint cannot be fetched.
    pub const DEFAULT_MAX_STALE: Duration = Duration::from_secs(24 * 60 * 60);

    /// Builder for a `jwks_uri` [`JwksSource`]; see the
    /// [module docs](super) for the cache behaviour.
    #[derive(Debug)]
    pub struct UrlJwksBuilder {
        url: String,
        fetcher: HttpFetcher,
        min_ttl: Duration,
        max_ttl: Duration,
        default_ttl: Duration,
        refresh_interval: Duration,
        max_stale: Duration,
    }

    impl UrlJwksBuilder {
        pub(super) fn new(url: &str, fetcher: HttpFetcher) -> Self {
            Self {
                url: url.to_owned(),
                fetcher,
                min_ttl: DEFAULT_MIN_TTL,
                max_ttl: DEFAULT_MAX_TTL,
                default_ttl: DEFAULT_TTL,
                refresh_interval: DEFAULT_REFRESH_INTERVAL,
                max_stale: DEFAULT_MAX_STALE,
            }
        }

        /// Shortest time a fetched set is used, whatever `Cache-Control`
        /// says (default 60 s, at least 1 s).
        #[must_use]
        pub fn min_ttl(mut self, ttl: Duration) -> Self {
            self.min_ttl = ttl;
            self
        }

        /// Longest time a fetched set is used (default 24 h).
        #[must_use]
        pub fn max_ttl(mut self, ttl: Duration) -> Self {
            self.max_ttl = ttl;
            self
        }

        /// Lifetime of a set whose response has no `max-age` (default 5
        /// minutes; kept within the bounds).
        #[must_use]
        pub fn default_ttl(mut self, ttl: Duration) -> Self {
            self.default_ttl = ttl;
            self
        }

        /// Least time between two fetches, for whatever reason (an unknown
        /// `kid`, an expired set, a retry after a failure). Default 30 s,
        /// at least 1 s.
        #[must_use]
        pub fn refresh_interval(mut self, interval: Duration) -> Self {
            self.refresh_interval = interval;
            self
        }

        /// Longest time an expired set is still used while the endpoint
        /// cannot be fetched (default 24 h; zero: never). Past it the keys
        /// are dropped and tokens refused (401, an error logged) until a
        /// fetch succeeds: a key the authorization server has withdrawn is
        /// not trusted for ever because its `jwks_uri` is unreachable.
        #[must_use]
        pub fn max_stale(mut self, max_stale: Duration) -> Self {
            self.max_stale = max_stale;
            self
        }

        /// Checks the settings and builds the source. Nothing is fetched
        /// until the first token needs a key.
        pub fn build(self) -> Result<JwksSource, ConfigError> {
            let uri = fetch::endpoint("jwks_uri", &self.url)?;
            let min_ttl = self.min_ttl.as_secs();
            let max_ttl = self.max_ttl.as_secs();
            if min_ttl < 1 {
                return Err(ConfigError::new(
                    "jwks min_ttl",
                    "must be at least 1 second",
                ));
            }
            if max_ttl < min_ttl {
                return Err(ConfigError::new(
                    "jwks max_ttl",
                    "must not be shorter than min_ttl",
                ));
            }
            let refresh_interval = self.refresh_interval.as_secs();
            if refresh_interval < 1 {
                return Err(ConfigError::new(
                    "jwks refresh_interval",
                    "must be at least 1 second",
                ));
            }
            Ok(JwksSource {
                kind: Arc::new(Kind::Url(Arc::new(UrlSource {
                    uri,
                    fetcher: self.fetcher,
                    policy: Policy {
                        min_ttl,
                        max_ttl,
                        default_ttl: self.default_ttl.as_secs().clamp(min_ttl, max_ttl),
                        refresh_interval,
                        max_stale: self.max_stale.as_secs(),
                    },
                    state: Mutex::new(State::default()),
                    flight: Arc::new(tokio::sync::Mutex::new(())),
                }))),
            })
        }
    }

    #[derive(Debug, Clone, Copy)]
    pub(super) struct Policy {
        min_ttl: u64,
        max_ttl: u64,
        default_ttl: u64,
        refresh_interval: u64,
        max_stale: u64,
    }

    impl Policy {
        /// How long to use a response: its `max-age` within the bounds; the
        /// minimum for `no-store`/`no-cache`; the default without either.
        pub(super) fn ttl(&self, headers: &HeaderMap) -> u64 {
            let mut max_age: Option<u64> = None;
            let mut no_store = false;
            for value in headers.get_all(http::header::CACHE_CONTROL) {
                let Ok(value) = value.to_str() else { continue };
                for directive in value.split(',') {
                    let (name, argument) = directive
                        .split_once('=')
                        .map_or((directive, None), |(n, a)| (n, Some(a)));
                    let name = name.trim();
                    if name.eq_ignore_ascii_case("no-store")
                        || name.eq_ignore_ascii_case("no-cache")
                    {
                        no_store = true;
                    } else if name.eq_ignore_ascii_case("max-age")
                        && let Some(seconds) = argument.and_then(delta_seconds)
                    {
                        // Several max-age directives: the shortest wins.
                        max_age = Some(max_age.map_or(seconds, |m| m.min(seconds)));
                    }
                }
            }
            let ttl = if no_store {
                self.min_ttl
            } else {
                max_age.unwrap_or(self.default_ttl)
            };
            ttl.clamp(self.min_ttl, self.max_ttl)
        }
    }

    /// RFC 9111 §1.2.2 delta-seconds (quotes tolerated); too large a value
    /// saturates.
    fn delta_seconds(argument: &str) -> Option<u64> {
        let digits = argument.trim().trim_matches('"');
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(digits.parse().unwrap_or(u64::MAX))
    }

    #[derive(Default)]
    struct State {
        keys: Option<Arc<KeySet>>,
        fresh_until: u64,
        last_attempt: Option<u64>,
        /// Completed fetches; tells a waiter whether one ran while it waited.
        generation: u64,
    }

    impl State {
        fn may_fetch(&self, now: u64, interval: u64) -> bool {
            self.last_attempt
                .is_none_or(|at| now < at || now >= at.saturating_add(interval))
        }

        /// The keys, unless there are none or they are more than
        /// `max_stale` seconds past their freshness.
        fn current(&self, now: u64, max_stale: u64) -> Result<Arc<KeySet>, TokenError> {
            match &self.keys {
                Some(keys) if now < self.fresh_until.saturating_add(max_stale) => {
                    Ok(Arc::clone(keys))
                }
                Some(_) => {
                    tracing::error!(target: "mcp_tower::token", stale_for = now.saturating_sub(self.fresh_until), max_stale, "the JWKS could not be refreshed for longer than max_stale; access tokens are refused");
                    Err(unavailable())
                }
                None => Err(unavailable()),
            }
        }
    }

    fn unavailable() -> TokenError {
        TokenError::Unavailable("no verification keys are available".into())
    }

    pub(super) struct UrlSource {
        uri: Uri,
        fetcher: HttpFetcher,
        policy: Policy,
        state: Mutex<State>,
        /// Held by the one running fetch.
        flight: Arc<tokio::sync::Mutex<()>>,
    }

    impl UrlSource {
        /// The URI without its query, for logs.
        pub(super) fn display_uri(&self) -> String {
            format!(
                "{}://{}{}",
                self.uri.scheme_str().unwrap_or_default(),
                self.uri
                    .authority()
                    .map(http::uri::Authority::as_str)
                    .unwrap_or_default(),
                self.uri.path()
            )
        }

        /// What [`keys`](Self::keys) answers without fetching: the cached
        /// set while fresh (unless `refresh`), or what is there while the
        /// next fetch is not due. `None`: a fetch is due.
        pub(super) fn keys_now(
            &self,
            now: u64,
            refresh: bool,
        ) -> Option<Result<Arc<KeySet>, TokenError>> {
            Self::cached(&lock(&self.state), now, refresh, self.policy)
        }

        fn cached(
            state: &State,
            now: u64,
            refresh: bool,
            policy: Policy,
        ) -> Option<Result<Arc<KeySet>, TokenError>> {
            if !refresh
                && now < state.fresh_until
                && let Some(keys) = &state.keys
            {
                return Some(Ok(Arc::clone(keys)));
            }
            if !state.may_fetch(now, policy.refresh_interval) {
                // Rate-limited: what we have, fresh or stale.
                if state.keys.is_none() {
                    tracing::debug!(target: "mcp_tower::token", "no JWKS keys and the next fetch is not due yet; refusing");
                }
                return Some(state.current(now, policy.max_stale));
            }
            None
        }

        pub(super) async fn keys(
            self: &Arc<Self>,
            now: u64,
            refresh: bool,
        ) -> Result<Arc<KeySet>, TokenError> {
            let generation = {
                let state = lock(&self.state);
                if let Some(answer) = Self::cached(&state, now, refresh, self.policy) {
                    return answer;
                }
                state.generation
            };
            let guard = Arc::clone(&self.flight).lock_owned().await;
            {
                let state = lock(&self.state);
                if state.generation != generation {
                    // Another request fetched while this one waited.
                    return state.current(now, self.policy.max_stale);
                }
            }
            let this = Arc::clone(self);
            // A task of its own: the fetch completes (and updates the cache)
            // even if the request that started it goes away. The `fetch`
            // feature's hyper-util client needs the tokio runtime anyway.
            let task = tokio::spawn(async move {
                let _guard = guard;
                this.fetch_and_store(now).await
            });
            match task.await {
                Ok(result) => result,
                Err(error) => {
                    tracing::error!(target: "mcp_tower::token", %error, "JWKS fetch task failed");
                    lock(&self.state).current(now, self.policy.max_stale)
                }
            }
        }

        async fn fetch_and_store(&self, now: u64) -> Result<Arc<KeySet>, TokenError> {
            let result = self.fetch().await;
            let mut state = lock(&self.state);
            state.generation += 1;
            state.last_attempt = Some(now);
            match result {
                Ok((set, ttl)) => {
                    tracing::debug!(target: "mcp_tower::token", jwks_uri = %self.display_uri(), keys = set.len(), ttl, "JWKS fetched");
                    let set = Arc::new(set);
                    state.keys = Some(Arc::clone(&set));
                    state.fresh_until = now.saturating_add(ttl);
                    Ok(set)
                }
                Err(error) => {
                    if state.keys.is_some() {
                        tracing::warn!(target: "mcp_tower::token", jwks_uri = %self.display_uri(), %error, retry_in = self.policy.refresh_interval, "JWKS fetch failed; using the cached (stale) keys");
                    } else {
                        tracing::error!(target: "mcp_tower::token", jwks_uri = %self.display_uri(), %error, retry_in = self.policy.refresh_interval, "JWKS fetch failed and no keys are cached: access tokens are refused");
                    }
                    state.current(now, self.policy.max_stale)
                }
            }
        }

        async fn fetch(&self) -> Result<(KeySet, u64), JwksError> {
            let response = self.fetcher.get(&self.uri).await?;
            if response.status != StatusCode::OK {
                return Err(JwksError::Status(response.status.as_u16()));
            }
            let set = KeySet::parse(&response.body)?;
            Ok((set, self.policy.ttl(&response.headers)))
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use http::HeaderValue;

        fn policy() -> Policy {
            Policy {
                min_ttl: 60,
                max_ttl: 86_400,
                default_ttl: 300,
                refresh_interval: 30,
                max_stale: 86_400,
            }
        }

        fn ttl(values: &[&str]) -> u64 {
            let mut headers = HeaderMap::new();
            for v in values {
                headers.append(
                    http::header::CACHE_CONTROL,
                    HeaderValue::from_str(v).unwrap(),
                );
            }
            policy().ttl(&headers)
        }

        #[test]
        fn cache_control_is_honoured_within_bounds() {
            assert_eq!(ttl(&[]), 300);
            assert_eq!(ttl(&["public, max-age=600"]), 600);
            assert_eq!(ttl(&["MAX-AGE=\"900\""]), 900);
            assert_eq!(ttl(&["max-age=5"]), 60);
            assert_eq!(ttl(&["max-age=99999999999999999999999"]), 86_400);
            assert_eq!(ttl(&["max-age=600", "max-age=120"]), 120);
            assert_eq!(ttl(&["no-store"]), 60);
            assert_eq!(ttl(&["max-age=600, no-cache"]), 60);
            assert_eq!(ttl(&["max-age=abc"]), 300);
            assert_eq!(ttl(&["max-age=-5"]), 300);
        }

        #[test]
        fn settings_are_checked() {
            let fetcher = HttpFetcher::new().unwrap();
            let url = "https://as.example/jwks";
            assert!(UrlJwksBuilder::new(url, fetcher.clone()).build().is_ok());
            assert!(
                UrlJwksBuilder::new("http://as.example/jwks", fetcher.clone())
                    .build()
                    .is_err()
            );
            assert!(
                UrlJwksBuilder::new(url, fetcher.clone())
                    .min_ttl(Duration::ZERO)
                    .build()
                    .is_err()
            );
            assert!(
                UrlJwksBuilder::new(url, fetcher.clone())
                    .min_ttl(Duration::from_secs(100))
                    .max_ttl(Duration::from_secs(10))
                    .build()
                    .is_err()
            );
            assert!(
                UrlJwksBuilder::new(url, fetcher)
                    .refresh_interval(Duration::from_millis(10))
                    .build()
                    .is_err()
            );
        }
    }
}

#[cfg(feature = "fetch")]
pub use self::url::{
    DEFAULT_MAX_STALE, DEFAULT_MAX_TTL, DEFAULT_MIN_TTL, DEFAULT_REFRESH_INTERVAL, DEFAULT_TTL,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::DpopKey;

    fn jwk_value(key: &DpopKey) -> serde_json::Map<String, Value> {
        match serde_json::from_str(&key.jwk().canonical_json()).unwrap() {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    fn set_json(entries: &[Value]) -> String {
        serde_json::json!({ "keys": entries }).to_string()
    }

    fn ec() -> DpopKey {
        DpopKey::generate(Algorithm::ES256).unwrap()
    }

    #[test]
    fn parses_keys_and_skips_unusable_ones() {
        let a = ec();
        let b = ec();
        let mut good = jwk_value(&a);
        good.insert("kid".into(), "a".into());
        good.insert("use".into(), "sig".into());
        good.insert("alg".into(), "ES256".into());
        let mut enc = jwk_value(&b);
        enc.insert("kid".into(), "enc".into());
        enc.insert("use".into(), "enc".into());
        let mut ops = jwk_value(&b);
        ops.insert("kid".into(), "ops".into());
        ops.insert("key_ops".into(), serde_json::json!(["encrypt"]));
        let mut odd_alg = jwk_value(&b);
        odd_alg.insert("kid".into(), "odd".into());
        odd_alg.insert("alg".into(), "RS256".into());
        let mut es384 = jwk_value(&b);
        es384.insert("kid".into(), "es384".into());
        es384.insert("alg".into(), "ES384".into());
        let oct = serde_json::json!({"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"});
        let okp = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA", "kid": "ed"});
        let json = set_json(&[
            Value::Object(good),
            Value::Object(enc),
            Value::Object(ops),
            Value::Object(odd_alg),
            Value::Object(es384),
            oct,
            okp,
            Value::String("junk".into()),
        ]);
        let set = KeySet::parse(json.as_bytes()).unwrap();
        assert_eq!(set.len(), 1);
        assert!(
            matches!(set.select(Some("a"), Algorithm::ES256), Selection::Found(k) if k.thumbprint() == a.thumbprint())
        );
        assert!(matches!(
            set.select(Some("enc"), Algorithm::ES256),
            Selection::NotFound
        ));
        assert!(matches!(
            set.select(Some("a"), Algorithm::RS256),
            Selection::AlgMismatch
        ));
        assert!(matches!(
            set.select(None, Algorithm::ES256),
            Selection::Found(_)
        ));
        assert!(matches!(
            set.select(None, Algorithm::PS256),
            Selection::NotFound
        ));
    }

    #[test]
    fn refuses_sets_that_are_not_objects_or_have_no_usable_key() {
        assert_eq!(KeySet::parse(b"[]").unwrap_err(), JwksError::Malformed);
        assert_eq!(
            KeySet::parse(br#"{"keys": {}}"#).unwrap_err(),
            JwksError::Malformed
        );
        assert_eq!(KeySet::parse(b"{}").unwrap_err(), JwksError::Malformed);
        assert_eq!(
            KeySet::parse(br#"{"keys": []}"#).unwrap_err(),
            JwksError::NoUsableKeys
        );
        assert!(JwksSource::from_json(r#"{"keys": []}"#).is_err());
        assert!(JwksSource::from_keys([]).is_err());
    }

    #[test]
    fn without_kid_several_fitting_keys_are_ambiguous() {
        let a = VerificationKey::new(ec().jwk().clone()).unwrap();
        let b = VerificationKey::new(ec().jwk().clone()).unwrap();
        let set = KeySet { keys: vec![a, b] };
        assert!(matches!(
            set.select(None, Algorithm::ES256),
            Selection::Ambiguous
        ));
    }

    #[test]
    fn key_alg_restricts_use() {
        let rsa = DpopKey::generate(Algorithm::RS256).unwrap();
        let key = VerificationKey::new(rsa.jwk().clone())
            .unwrap()
            .with_alg(Algorithm::PS256);
        assert!(key.supports(Algorithm::PS256));
        assert!(!key.supports(Algorithm::RS256));
        assert!(!key.supports(Algorithm::ES256));
        let dbg = format!("{key:?}");
        assert!(dbg.contains(key.thumbprint()));
    }

    #[tokio::test]
    async fn file_source_reloads_when_the_file_changes() {
        let dir =
            std::env::temp_dir().join(format!("mcp-tower-jwks-{}-{}", std::process::id(), line!()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("jwks.json");
        let a = ec();
        let mut first = jwk_value(&a);
        first.insert("kid".into(), "one".into());
        std::fs::write(&path, set_json(&[Value::Object(first)])).unwrap();
        let source = JwksSource::file(&path).unwrap();
        let keys = source.keys(100, false).await.unwrap();
        assert!(matches!(
            keys.select(Some("one"), Algorithm::ES256),
            Selection::Found(_)
        ));

        // A new version (longer, so the stamp differs even on coarse mtimes).
        let mut second = jwk_value(&ec());
        second.insert("kid".into(), "two-with-a-longer-kid".into());
        std::fs::write(&path, set_json(&[Value::Object(second)])).unwrap();
        // Not looked at again within the check interval...
        let keys = source.keys(100, false).await.unwrap();
        assert!(matches!(
            keys.select(Some("one"), Algorithm::ES256),
            Selection::Found(_)
        ));
        // ...but at once for an unknown kid, and after the interval.
        let keys = source.keys(100, true).await.unwrap();
        assert!(matches!(
            keys.select(Some("two-with-a-longer-kid"), Algorithm::ES256),
            Selection::Found(_)
        ));

        // A broken version keeps the previous keys.
        std::fs::write(
            &path,
            "{ not json, and longer than before ........................",
        )
        .unwrap();
        let keys = source.keys(102, false).await.unwrap();
        assert!(matches!(
            keys.select(Some("two-with-a-longer-kid"), Algorithm::ES256),
            Selection::Found(_)
        ));
        // So does a deleted file.
        std::fs::remove_file(&path).unwrap();
        let keys = source.keys(104, false).await.unwrap();
        assert_eq!(keys.len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();

        assert!(JwksSource::file(dir.join("missing.json")).is_err());
    }
}
