//! The parts of request signing that do not depend on the HTTP client:
//! choosing the key, making the proof, reading nonce challenges.

use std::fmt;
use std::sync::Arc;

use http::StatusCode;
use http::header::{HeaderMap, HeaderValue, WWW_AUTHENTICATE};

use crate::authorization::{self, TokenScheme};
use crate::challenge::DPOP_NONCE;
use crate::clock::{self, SharedClock};
use crate::dpop::DPOP;
use crate::keys::{KeyError, KeyStore};

use super::BoxError;
use super::nonces::{NonceBook, origin_of};
use super::proof::{ProofRequest, sign_proof};

/// Default largest request body kept in memory so the request can be sent
/// again after a nonce challenge: 1 MiB.
pub const DEFAULT_RETRY_BODY_LIMIT: usize = 1024 * 1024;

/// Ask the signing layer to sign this request with the key of thumbprint
/// `.0` (a retained earlier key that an access token is bound to) instead of
/// the store's current key. Insert it as an `http::Request` extension
/// (reqwest does not expose request extensions, so it has no effect there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UseDpopKey(pub String);

/// Why a request could not be signed or sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SigningError {
    /// The request URI is not absolute, so there is no `htu` to sign.
    #[error("request URI must be absolute (scheme://host/path) to sign a DPoP proof")]
    RelativeUri,
    /// The key store or the signature failed.
    #[error("cannot sign DPoP proof: {0}")]
    Key(#[from] KeyError),
    /// [`UseDpopKey`] named a key the store does not hold.
    #[error("requested DPoP key is not in the key store (expired or never held)")]
    UnknownKey,
    /// The server asked for a new nonce, but the request could not be sent
    /// again. The nonce is stored: the next request will carry it.
    #[error("server requires a new DPoP nonce and the request was not retried: {reason}")]
    NotRetried {
        /// Why the request could not be repeated.
        reason: String,
    },
    /// Reading the request body failed.
    #[error("reading the request body failed: {0}")]
    Body(BoxError),
    /// The inner service failed.
    #[error(transparent)]
    Inner(BoxError),
}

/// Configuration and state shared by every clone of a signing service.
pub(crate) struct Signer {
    keys: Arc<dyn KeyStore>,
    nonces: NonceBook,
    clock: SharedClock,
    pub(crate) retry_body_limit: usize,
}

impl Signer {
    pub(crate) fn new(
        keys: Arc<dyn KeyStore>,
        clock: SharedClock,
        retry_body_limit: usize,
    ) -> Self {
        Self {
            keys,
            nonces: NonceBook::default(),
            clock,
            retry_body_limit,
        }
    }

    pub(crate) fn with_defaults(keys: Arc<dyn KeyStore>) -> Self {
        Self::new(keys, clock::system(), DEFAULT_RETRY_BODY_LIMIT)
    }

    /// Puts a fresh proof in `headers` (replacing any) and returns the nonce
    /// it carries.
    pub(crate) fn sign(
        &self,
        method: &str,
        url: &str,
        headers: &mut HeaderMap,
        key_hint: Option<&UseDpopKey>,
    ) -> Result<Option<String>, SigningError> {
        let origin = origin_of(url).ok_or(SigningError::RelativeUri)?;
        let key = match key_hint {
            Some(UseDpopKey(jkt)) => self.keys.find(jkt).ok_or(SigningError::UnknownKey)?,
            None => self.keys.current()?,
        };
        let nonce = self.nonces.get(&origin);
        let access_token = match authorization::access_token(headers) {
            Ok(Some((TokenScheme::Dpop, token))) => Some(token),
            _ => None,
        };
        let proof = sign_proof(
            &key,
            &ProofRequest {
                method,
                url,
                access_token,
                nonce: nonce.as_deref(),
                iat: self.clock.now_unix(),
            },
        )?;
        let value =
            HeaderValue::try_from(proof).map_err(|_| SigningError::Key(KeyError::Signing))?;
        headers.insert(DPOP.clone(), value);
        tracing::debug!(target: "mcp_tower::client", jkt = key.thumbprint(), %origin, with_nonce = nonce.is_some(), "signed DPoP proof");
        Ok(nonce)
    }

    /// Records a `DPoP-Nonce` from the response and says whether the request
    /// should be sent again with it: a 401 `use_dpop_nonce` challenge
    /// (RFC 9449 §9), or a 400 carrying a nonce other than the one sent
    /// (the `use_dpop_nonce` error of a token endpoint, §8).
    pub(crate) fn wants_retry(
        &self,
        url: &str,
        status: StatusCode,
        headers: &HeaderMap,
        sent_nonce: Option<&str>,
    ) -> bool {
        let Some(origin) = origin_of(url) else {
            return false;
        };
        let Some(nonce) = headers.get(&DPOP_NONCE).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        self.nonces.put(&origin, nonce);
        if sent_nonce == Some(nonce) {
            return false;
        }
        let challenged = status == StatusCode::UNAUTHORIZED
            && headers
                .get_all(WWW_AUTHENTICATE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .any(|v| v.contains("use_dpop_nonce"));
        let retry = challenged || status == StatusCode::BAD_REQUEST;
        if retry {
            tracing::debug!(target: "mcp_tower::client", %origin, "server asked for a new DPoP nonce; retrying once");
        }
        retry
    }

    pub(crate) fn too_large(&self) -> SigningError {
        SigningError::NotRetried {
            reason: format!(
                "the request body is a stream or larger than the retry buffer limit of {} bytes",
                self.retry_body_limit
            ),
        }
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("retry_body_limit", &self.retry_body_limit)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::{Debug, Write as _};
    use std::sync::Mutex;

    use tracing::field::{Field, Visit};
    use tracing::{Event, Metadata, Subscriber, span};

    use super::*;
    use crate::jose::{Algorithm, b64};
    use crate::keys::{MemoryKeyStore, RotationPolicy};

    const WITH_USERINFO: &str = "https://alice:s3cret@MCP.example.com:8443/mcp?x=1";
    const WITHOUT_USERINFO: &str = "https://mcp.example.com:8443/other";

    fn signer() -> Signer {
        let keys = MemoryKeyStore::generate(Algorithm::ES256, RotationPolicy::never()).unwrap();
        Signer::with_defaults(Arc::new(keys))
    }

    fn nonce_challenge(nonce: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(DPOP_NONCE.clone(), HeaderValue::from_static(nonce));
        headers.insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("DPoP error=\"use_dpop_nonce\""),
        );
        headers
    }

    #[test]
    fn nonce_book_key_has_no_userinfo() {
        let signer = signer();
        assert!(signer.wants_retry(
            WITH_USERINFO,
            StatusCode::UNAUTHORIZED,
            &nonce_challenge("n1"),
            None
        ));
        // Stored under the origin without user information: a URL of the same
        // origin without credentials finds it.
        let mut headers = HeaderMap::new();
        let sent = signer
            .sign("POST", WITHOUT_USERINFO, &mut headers, None)
            .unwrap();
        assert_eq!(sent.as_deref(), Some("n1"));
        assert!(signer.nonces.get("https://mcp.example.com:8443").is_some());
        assert!(
            signer
                .nonces
                .get("https://alice:s3cret@mcp.example.com:8443")
                .is_none()
        );
        // And the proof signed for the URL with credentials carries neither
        // them nor the query.
        let mut headers = HeaderMap::new();
        signer
            .sign("POST", WITH_USERINFO, &mut headers, None)
            .unwrap();
        let proof = headers.get(&DPOP).unwrap().to_str().unwrap();
        let claims = b64::decode(proof.split('.').nth(1).unwrap()).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(&claims).unwrap();
        assert_eq!(claims["htu"], "https://MCP.example.com:8443/mcp");
        assert_eq!(claims["nonce"], "n1");
    }

    /// Collects the fields of every event.
    struct Capture(Arc<Mutex<String>>);

    struct Fields<'a>(&'a mut String);

    impl Visit for Fields<'_> {
        fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
            let _ = write!(self.0, "{}={value:?} ", field.name());
        }
    }

    impl Subscriber for Capture {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
            span::Id::from_u64(1)
        }
        fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
        fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut text = self.0.lock().unwrap();
            event.record(&mut Fields(&mut text));
            text.push('\n');
        }
        fn enter(&self, _: &span::Id) {}
        fn exit(&self, _: &span::Id) {}
    }

    #[test]
    fn logs_have_no_userinfo() {
        let logs = Arc::new(Mutex::new(String::new()));
        let signer = signer();
        tracing::subscriber::with_default(Capture(Arc::clone(&logs)), || {
            tracing::callsite::rebuild_interest_cache();
            let mut headers = HeaderMap::new();
            signer
                .sign("POST", WITH_USERINFO, &mut headers, None)
                .unwrap();
            assert!(signer.wants_retry(
                WITH_USERINFO,
                StatusCode::UNAUTHORIZED,
                &nonce_challenge("n2"),
                None
            ));
        });
        let logs = logs.lock().unwrap();
        assert!(logs.contains("signed DPoP proof"), "{logs}");
        assert!(logs.contains("retrying once"), "{logs}");
        assert!(
            logs.contains("origin=https://mcp.example.com:8443"),
            "{logs}"
        );
        assert!(
            !logs.contains("alice") && !logs.contains("s3cret"),
            "{logs}"
        );
    }
}
