//! A small HTTP(S) client for the layers that talk to authorization servers
//! (JWKS download, token introspection): hyper-util over rustls with the
//! aws-lc-rs provider, web PKI roots, a timeout and a response size cap.
//!
//! Plain `http` is accepted only for loopback hosts (tests, local
//! development); everything else must be `https`.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::config::ConfigError;

/// Default time allowed for one request, connection included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default cap on a response body.
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;

/// Why a fetch failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// No complete answer within the timeout.
    #[error("request timed out after {0:?}")]
    Timeout(Duration),
    /// Connection, TLS or protocol failure.
    #[error("request failed: {0}")]
    Transport(String),
    /// The body was larger than allowed.
    #[error("response body larger than {0} bytes")]
    TooLarge(usize),
}

/// A response read in full.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// Status code.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

/// An HTTP(S) client with a timeout and a body cap. Cheap to clone.
#[derive(Clone, Debug)]
pub struct HttpFetcher {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
    max_body: usize,
}

impl HttpFetcher {
    /// A client trusting the web PKI roots, with the default timeout and cap.
    pub fn new() -> Result<Self, ConfigError> {
        let roots = rustls::RootCertStore {
            roots: webpki_roots_store(),
        };
        let config = client_config(roots)?;
        Ok(Self::with_tls_config(config))
    }

    /// A client using this rustls configuration (for a private CA, or pinning).
    pub fn with_tls_config(config: rustls::ClientConfig) -> Self {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(config)
            .https_or_http()
            .enable_http1()
            .build();
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            timeout: DEFAULT_TIMEOUT,
            max_body: DEFAULT_MAX_BODY,
        }
    }

    /// Time allowed for one request.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Largest accepted response body.
    #[must_use]
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Sends `request` and reads the whole response within the timeout.
    pub async fn send(&self, request: Request<Full<Bytes>>) -> Result<Fetched, FetchError> {
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| FetchError::Transport(error_chain(&e)))?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, self.max_body)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        FetchError::TooLarge(self.max_body)
                    } else {
                        FetchError::Transport(e.to_string())
                    }
                })?
                .to_bytes();
            Ok(Fetched {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| FetchError::Timeout(self.timeout))?
    }

    /// GETs `uri`.
    pub async fn get(&self, uri: &Uri) -> Result<Fetched, FetchError> {
        let request = Request::get(uri.clone())
            .header(http::header::ACCEPT, "application/json")
            .body(Full::default())
            .map_err(|e| FetchError::Transport(e.to_string()))?;
        self.send(request).await
    }
}

fn webpki_roots_store() -> Vec<rustls::pki_types::TrustAnchor<'static>> {
    webpki_roots::TLS_SERVER_ROOTS.to_vec()
}

fn client_config(roots: rustls::RootCertStore) -> Result<rustls::ClientConfig, ConfigError> {
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::new("TLS client", e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// Parses an endpoint URL: `https`, or `http` on a loopback host.
pub fn endpoint(setting: &'static str, url: &str) -> Result<Uri, ConfigError> {
    let uri: Uri = url
        .parse()
        .map_err(|_| ConfigError::new(setting, format!("{url:?} is not a valid URL")))?;
    let host = uri.host().unwrap_or_default();
    match uri.scheme_str() {
        Some("https") if !host.is_empty() => Ok(uri),
        Some("http") if is_loopback(host) => Ok(uri),
        Some("http") => Err(ConfigError::new(
            setting,
            format!("{url:?} must use https (plain http is allowed only for loopback hosts)"),
        )),
        _ => Err(ConfigError::new(
            setting,
            format!("{url:?} must be an absolute https URL"),
        )),
    }
}

/// Whether `host` (as in a URL, IPv6 in brackets) is a loopback host.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_must_be_https_except_loopback() {
        assert!(endpoint("x", "https://as.example/jwks").is_ok());
        assert!(endpoint("x", "http://127.0.0.1:8080/jwks").is_ok());
        assert!(endpoint("x", "http://[::1]/jwks").is_ok());
        assert!(endpoint("x", "http://localhost/jwks").is_ok());
        assert!(endpoint("x", "http://as.example/jwks").is_err());
        assert!(endpoint("x", "ftp://as.example/jwks").is_err());
        assert!(endpoint("x", "/jwks").is_err());
    }

    #[tokio::test]
    async fn times_out_against_a_silent_server() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _hold = tokio::spawn(async move {
            let (_socket, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        let fetcher = HttpFetcher::new()
            .unwrap()
            .timeout(Duration::from_millis(200));
        let uri: Uri = format!("http://{addr}/").parse().unwrap();
        assert_eq!(
            fetcher.get(&uri).await.unwrap_err(),
            FetchError::Timeout(Duration::from_millis(200))
        );
    }
}
