//! Which URI a request was sent to, for the `htu` check (RFC 9449 §4.3 item 9).
//!
//! Behind a proxy the URI a client used is not the one the server sees, so
//! the recommended setting is the public base URL. Otherwise it comes from the
//! request (absolute-form or HTTP/2 `:authority`, else `Host`), and forwarded
//! headers are read only when explicitly trusted.

use http::Request;
use http::header::HOST;

use crate::config::ConfigError;

use super::error::DpopError;
use super::htu;

/// How the request URI is determined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestTarget(Source);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    PublicBase { origin: String, prefix: String },
    FromRequest { https: bool, trust_forwarded: bool },
}

impl RequestTarget {
    /// The public URL this service is reached at, such as
    /// `https://mcp.example.com` or `https://example.com/api`; a request for
    /// `/mcp` then has the URI `https://example.com/api/mcp`.
    pub fn public_base_url(url: &str) -> Result<Self, ConfigError> {
        let normalized = htu::normalize(url)
            .map_err(|e| ConfigError::new("public base URL", format!("{url:?}: {e}")))?;
        if url.contains(['?', '#']) {
            return Err(ConfigError::new(
                "public base URL",
                "must not have a query or fragment",
            ));
        }
        // A normalized URI always has a path, starting at the first '/' after "://".
        let after_scheme = normalized.find("://").map_or(0, |i| i + 3);
        let path_start = normalized[after_scheme..]
            .find('/')
            .map_or(normalized.len(), |i| i + after_scheme);
        let (origin, path) = normalized.split_at(path_start);
        Ok(Self(Source::PublicBase {
            origin: origin.to_owned(),
            prefix: path.trim_end_matches('/').to_owned(),
        }))
    }

    /// Take the URI from the request; `https` says which scheme to assume
    /// when the request does not carry one (a plain HTTP/1.1 request).
    pub fn from_request(https: bool) -> Self {
        Self(Source::FromRequest {
            https,
            trust_forwarded: false,
        })
    }

    /// Also read `Forwarded` (RFC 7239) or `X-Forwarded-Proto` /
    /// `X-Forwarded-Host`. Only for a server that is reachable solely through
    /// a proxy that sets them: otherwise clients choose the URI checked.
    #[must_use]
    pub fn trust_forwarded_headers(self) -> Self {
        match self.0 {
            Source::FromRequest { https, .. } => Self(Source::FromRequest {
                https,
                trust_forwarded: true,
            }),
            public @ Source::PublicBase { .. } => Self(public),
        }
    }

    /// The normalized URI of `request`.
    pub fn resolve<B>(&self, request: &Request<B>) -> Result<String, DpopError> {
        let path = request.uri().path();
        match &self.0 {
            Source::PublicBase { origin, prefix } => {
                htu::join_path(origin, prefix, path).map_err(|_| DpopError::UnknownRequestUri)
            }
            Source::FromRequest {
                https,
                trust_forwarded,
            } => {
                let forwarded = if *trust_forwarded {
                    forwarded(request.headers())
                } else {
                    (None, None)
                };
                let scheme = forwarded
                    .0
                    .or_else(|| request.uri().scheme_str().map(str::to_owned))
                    .unwrap_or_else(|| if *https { "https" } else { "http" }.to_owned());
                let authority = match forwarded.1 {
                    Some(host) => host,
                    None => match request.uri().authority() {
                        Some(a) => a.as_str().to_owned(),
                        None => single_host(request)?.to_owned(),
                    },
                };
                htu::normalize(&format!("{scheme}://{authority}{path}"))
                    .map_err(|_| DpopError::UnknownRequestUri)
            }
        }
    }
}

fn single_host<B>(request: &Request<B>) -> Result<&str, DpopError> {
    let mut hosts = request.headers().get_all(HOST).iter();
    match (hosts.next(), hosts.next()) {
        (Some(host), None) => host.to_str().map_err(|_| DpopError::UnknownRequestUri),
        _ => Err(DpopError::UnknownRequestUri),
    }
}

/// Scheme and host from `Forwarded` (first element) or the `X-Forwarded-*` pair.
fn forwarded(headers: &http::HeaderMap) -> (Option<String>, Option<String>) {
    if let Some(value) = headers.get("forwarded").and_then(|v| v.to_str().ok()) {
        let first = value.split(',').next().unwrap_or_default();
        let mut proto = None;
        let mut host = None;
        for pair in first.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=') {
                let v = v.trim_matches('"').to_owned();
                if k.eq_ignore_ascii_case("proto") {
                    proto = Some(v);
                } else if k.eq_ignore_ascii_case("host") {
                    host = Some(v);
                }
            }
        }
        return (proto, host);
    }
    let first = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    (first("x-forwarded-proto"), first("x-forwarded-host"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(uri: &str, headers: &[(&str, &str)]) -> Request<()> {
        let mut b = Request::get(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn public_base_url_with_and_without_prefix() {
        let t = RequestTarget::public_base_url("HTTPS://Example.com:443").unwrap();
        assert_eq!(
            t.resolve(&get("/mcp?x=1", &[("host", "internal:8080")]))
                .unwrap(),
            "https://example.com/mcp"
        );
        let t = RequestTarget::public_base_url("http://example.com/api/").unwrap();
        assert_eq!(
            t.resolve(&get("/mcp", &[])).unwrap(),
            "http://example.com/api/mcp"
        );
        assert!(RequestTarget::public_base_url("example.com").is_err());
        assert!(RequestTarget::public_base_url("https://h/?q").is_err());
    }

    #[test]
    fn from_request_uses_host_and_default_scheme() {
        let t = RequestTarget::from_request(false);
        assert_eq!(
            t.resolve(&get("/a", &[("host", "Localhost:80")])).unwrap(),
            "http://localhost/a"
        );
        assert_eq!(
            t.resolve(&get("https://h:8443/a", &[])).unwrap(),
            "https://h:8443/a"
        );
        assert_eq!(
            t.resolve(&get("/a", &[])),
            Err(DpopError::UnknownRequestUri)
        );
        let mut two = get("/a", &[("host", "a")]);
        two.headers_mut().append(HOST, "b".parse().unwrap());
        assert_eq!(t.resolve(&two), Err(DpopError::UnknownRequestUri));
    }

    #[test]
    fn forwarded_headers_only_when_trusted() {
        let headers = [
            ("host", "internal"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "api.example.com"),
        ];
        let untrusted = RequestTarget::from_request(false);
        assert_eq!(
            untrusted.resolve(&get("/a", &headers)).unwrap(),
            "http://internal/a"
        );
        let trusted = untrusted.trust_forwarded_headers();
        assert_eq!(
            trusted.resolve(&get("/a", &headers)).unwrap(),
            "https://api.example.com/a"
        );
        let rfc7239 = [
            ("host", "internal"),
            (
                "forwarded",
                "for=1.2.3.4;proto=https;host=\"pub.example\", for=5.6.7.8",
            ),
        ];
        assert_eq!(
            trusted.resolve(&get("/a", &rfc7239)).unwrap(),
            "https://pub.example/a"
        );
    }
}
