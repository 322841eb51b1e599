//! Which URI a request was sent to, for the `htu` check (RFC 9449 §4.3 item 9).
//!
//! Behind a proxy the URI a client used is not the one the server sees, so
//! the recommended setting is the public base URL. Otherwise it comes from the
//! request (absolute-form or HTTP/2 `:authority`, else `Host`), and forwarded
//! headers are read only when explicitly trusted.
//!
//! Whatever the source, the authority must be a plain RFC 3986 §3.2
//! `host [ ":" port ]` and the scheme `http` or `https`; anything else
//! (user information, `/`, `?`, `#`, whitespace, an empty host, several `Host`
//! headers, a malformed forwarded header) fails closed with
//! [`DpopError::UnknownRequestUri`]. The authority is normalized on its own and
//! the request path joined to it, so no header can move characters into the
//! path of the URI checked.

use http::header::{FORWARDED, HOST, HeaderMap};
use http::{HeaderName, Request};

use crate::config::ConfigError;

use super::error::DpopError;
use super::htu;

/// How the request URI, compared with a proof's `htu`, is determined.
///
/// - [`RequestTarget::public_base_url`] (recommended for production): the
///   scheme and authority are the configured public URL; only the path comes
///   from the request.
/// - [`RequestTarget::from_request`]: everything comes from the request. The
///   authority is the absolute-form request URI (or HTTP/2 `:authority`) or
///   the `Host` header, both **chosen by the client**. It is checked to be a
///   syntactically valid `host[:port]`, but not to be one of this server's
///   names: a proof made for another host name (say, another service the same
///   client talks to) is accepted here if the access token is accepted too.
///   RFC 9449 relies on `htu` to keep a captured proof to the URI it was made
///   for (§4.3 item 9, §11.1); production servers should therefore configure
///   their public base URL, or at least check `Host` against an allowlist in
///   front of this layer.
/// - Forwarded headers ([`RequestTarget::trust_rfc7239_forwarded`],
///   [`RequestTarget::trust_x_forwarded`]) are read only when the operator
///   names the family the nearest proxy sets, and only the value that proxy
///   appended (the last one) is used.
///
/// An authority or scheme that is not valid fails closed with
/// [`DpopError::UnknownRequestUri`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestTarget(Source);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    PublicBase {
        origin: String,
        prefix: String,
    },
    FromRequest {
        https: bool,
        forwarded: Option<Trusted>,
    },
}

/// Which forwarded header family the operator trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trusted {
    /// `Forwarded` (RFC 7239) only.
    Rfc7239,
    /// `X-Forwarded-Proto` / `X-Forwarded-Host` only.
    XForwarded,
    /// The behaviour of the deprecated `trust_forwarded_headers`: `Forwarded`
    /// when the request has one, else `X-Forwarded-*`.
    Either,
}

/// Why the request URI could not be determined; for logs only (the client
/// always gets [`DpopError::UnknownRequestUri`]).
#[derive(Debug, Clone, Copy)]
struct Refused {
    /// Which part of the request was at fault.
    source: &'static str,
    /// What was wrong with it.
    reason: &'static str,
}

impl Refused {
    const fn new(source: &'static str, reason: &'static str) -> Self {
        Self { source, reason }
    }
}

impl RequestTarget {
    /// The public URL this service is reached at, such as
    /// `https://mcp.example.com` or `https://example.com/api`; a request for
    /// `/mcp` then has the URI `https://example.com/api/mcp`.
    ///
    /// The recommended setting: neither the `Host` header nor forwarded
    /// headers are read.
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
    ///
    /// The host name is the one the client chose (absolute-form URI, HTTP/2
    /// `:authority`, else the single `Host` header); see [`RequestTarget`]
    /// for what that means, and prefer [`RequestTarget::public_base_url`].
    pub fn from_request(https: bool) -> Self {
        Self(Source::FromRequest {
            https,
            forwarded: None,
        })
    }

    /// Also read the `proto` and `host` parameters of the `Forwarded` header
    /// (RFC 7239), and nothing else: `X-Forwarded-*` headers are ignored.
    ///
    /// Only the **last** element of the last `Forwarded` field line is read:
    /// a proxy appends its element (RFC 7239 §4), so earlier elements may come
    /// from the client. A parameter the element lacks falls back to the
    /// request (so `host` falls back to `Host`); a request without `Forwarded`
    /// uses the request alone. A malformed last element, a `proto` other than
    /// `http`/`https` or a `host` that is not a valid `host[:port]` fails
    /// closed.
    ///
    /// Only for a server reachable solely through one proxy that appends
    /// `Forwarded`; otherwise clients choose the URI checked. Behind several
    /// proxies the last element describes the last hop, which may not be the
    /// public URI: use [`RequestTarget::public_base_url`] then. Has no effect
    /// on a target built with [`RequestTarget::public_base_url`].
    /// Replaces any earlier choice of forwarded headers.
    #[must_use]
    pub fn trust_rfc7239_forwarded(self) -> Self {
        self.trusting(Trusted::Rfc7239)
    }

    /// Also read `X-Forwarded-Proto` and `X-Forwarded-Host`, and nothing
    /// else: a `Forwarded` header is ignored (it may be the client's own,
    /// passed through by a proxy that sets only `X-Forwarded-*`).
    ///
    /// Of each header only the **last** comma-separated value of the last
    /// field line is read (the one the nearest proxy set or appended). A
    /// missing header falls back to the request; an empty last value, a proto
    /// other than `http`/`https` or a host that is not a valid `host[:port]`
    /// fails closed.
    ///
    /// Only for a server reachable solely through a proxy that sets these
    /// headers; otherwise clients choose the URI checked. Has no effect on a
    /// target built with [`RequestTarget::public_base_url`].
    /// Replaces any earlier choice of forwarded headers.
    #[must_use]
    pub fn trust_x_forwarded(self) -> Self {
        self.trusting(Trusted::XForwarded)
    }

    /// Reads `Forwarded` (RFC 7239) when the request has one, else
    /// `X-Forwarded-Proto` / `X-Forwarded-Host`; in each case the last value,
    /// as described for [`RequestTarget::trust_rfc7239_forwarded`] and
    /// [`RequestTarget::trust_x_forwarded`].
    ///
    /// Guessing the family is unsafe unless the proxy removes the one it does
    /// not set: a proxy that sets only `X-Forwarded-*` passes a
    /// client-supplied `Forwarded` through, and that one wins here. Earlier
    /// versions also read the first (client-controlled) element of each
    /// header; it is now the last.
    #[deprecated(
        note = "name the header family your proxy sets: `trust_rfc7239_forwarded()` or `trust_x_forwarded()`"
    )]
    #[must_use]
    pub fn trust_forwarded_headers(self) -> Self {
        self.trusting(Trusted::Either)
    }

    fn trusting(self, trusted: Trusted) -> Self {
        match self.0 {
            Source::FromRequest { https, .. } => Self(Source::FromRequest {
                https,
                forwarded: Some(trusted),
            }),
            public @ Source::PublicBase { .. } => Self(public),
        }
    }

    /// The normalized URI of `request`.
    pub fn resolve<B>(&self, request: &Request<B>) -> Result<String, DpopError> {
        let path = request.uri().path();
        match &self.0 {
            Source::PublicBase { origin, prefix } => {
                htu::join_path(origin, prefix, path).map_err(|_| {
                    log(Refused::new("path", "invalid_path"));
                    DpopError::UnknownRequestUri
                })
            }
            Source::FromRequest { https, forwarded } => from_request(request, *https, *forwarded)
                .map_err(|refused| {
                    log(refused);
                    DpopError::UnknownRequestUri
                }),
        }
    }
}

fn log(refused: Refused) {
    // The offending value is not logged: it may carry user information
    // (a password) or be crafted for the logs.
    tracing::debug!(
        target: "mcp_tower::dpop",
        source = refused.source,
        reason = refused.reason,
        "cannot determine the request URI"
    );
}

/// Scheme and authority a trusted proxy reported.
#[derive(Debug, Default)]
struct Hop {
    https: Option<bool>,
    host: Option<String>,
    /// Where `host` came from, for logs.
    host_source: &'static str,
}

fn from_request<B>(
    request: &Request<B>,
    default_https: bool,
    trusted: Option<Trusted>,
) -> Result<String, Refused> {
    let hop = match trusted {
        None => Hop::default(),
        Some(Trusted::Rfc7239) => rfc7239(request.headers())?,
        Some(Trusted::XForwarded) => x_forwarded(request.headers())?,
        Some(Trusted::Either) => {
            if request.headers().contains_key(&FORWARDED) {
                rfc7239(request.headers())?
            } else {
                x_forwarded(request.headers())?
            }
        }
    };
    let https = match hop.https {
        Some(https) => https,
        None => match request.uri().scheme_str() {
            Some(scheme) => {
                parse_scheme(scheme).ok_or(Refused::new("absolute_uri", "not_http_scheme"))?
            }
            None => default_https,
        },
    };
    let owned;
    let (authority, source) = match hop.host {
        Some(host) => {
            owned = host;
            (owned.as_str(), hop.host_source)
        }
        None => match request.uri().authority() {
            Some(authority) => (authority.as_str(), "absolute_uri"),
            None => (single_host(request.headers())?, "host"),
        },
    };
    let (mut origin, default_port) = if https {
        (String::from("https://"), "443")
    } else {
        (String::from("http://"), "80")
    };
    // Checks it is a plain `host[:port]` as it normalizes it.
    htu::push_authority(authority, default_port, &mut origin)
        .map_err(|_| Refused::new(source, "invalid_authority"))?;
    // The path is joined to the normalized origin, never parsed out of one
    // string with the authority.
    htu::join_path(&origin, "", request.uri().path())
        .map_err(|_| Refused::new("path", "invalid_path"))
}

/// The single `Host` header.
fn single_host(headers: &HeaderMap) -> Result<&str, Refused> {
    let mut hosts = headers.get_all(HOST).iter();
    let host = match (hosts.next(), hosts.next()) {
        (Some(host), None) => host,
        (None, _) => return Err(Refused::new("host", "missing")),
        (Some(_), Some(_)) => return Err(Refused::new("host", "several_host_headers")),
    };
    host.to_str()
        .map_err(|_| Refused::new("host", "invalid_authority"))
}

/// `http` or `https`, in any case (RFC 3986 §3.1); `Some(true)` for https.
fn parse_scheme(scheme: &str) -> Option<bool> {
    if scheme.eq_ignore_ascii_case("https") {
        Some(true)
    } else if scheme.eq_ignore_ascii_case("http") {
        Some(false)
    } else {
        None
    }
}

static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// The last field line of `name`, if any; refused when it is not visible ASCII.
fn last_line<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
    source: &'static str,
) -> Result<Option<&'a str>, Refused> {
    match headers.get_all(name).iter().next_back() {
        Some(value) => value
            .to_str()
            .map(Some)
            .map_err(|_| Refused::new(source, "malformed")),
        None => Ok(None),
    }
}

/// `proto` and `host` of the last element of the last `Forwarded` field line.
fn rfc7239(headers: &HeaderMap) -> Result<Hop, Refused> {
    const SOURCE: &str = "forwarded";
    let Some(line) = last_line(headers, &FORWARDED, SOURCE)? else {
        return Ok(Hop::default());
    };
    let element = last_element(line).ok_or(Refused::new(SOURCE, "malformed"))?;
    if element.is_empty() {
        return Err(Refused::new(SOURCE, "empty_last_element"));
    }
    let mut hop = Hop::default();
    let mut seen_proto = false;
    let pairs = split_outside_quotes(element, b';').ok_or(Refused::new(SOURCE, "malformed"))?;
    for pair in pairs {
        let pair = pair.trim_matches([' ', '\t']);
        if pair.is_empty() {
            continue;
        }
        let (name, value) = pair
            .split_once('=')
            .ok_or(Refused::new(SOURCE, "malformed"))?;
        // A parameter name is an RFC 9110 token, as a header name is.
        if HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(Refused::new(SOURCE, "malformed"));
        }
        let value = forwarded_value(value).ok_or(Refused::new(SOURCE, "malformed"))?;
        if name.eq_ignore_ascii_case("proto") {
            // RFC 7239 §4: a parameter occurs at most once per element.
            if seen_proto {
                return Err(Refused::new(SOURCE, "duplicate_parameter"));
            }
            seen_proto = true;
            hop.https = Some(parse_scheme(&value).ok_or(Refused::new(SOURCE, "not_http_scheme"))?);
        } else if name.eq_ignore_ascii_case("host") {
            if hop.host.is_some() {
                return Err(Refused::new(SOURCE, "duplicate_parameter"));
            }
            hop.host = Some(value);
            hop.host_source = SOURCE;
        }
    }
    Ok(hop)
}

/// The text after the last comma outside quoted strings, trimmed; `None`
/// when a quoted string is not closed.
fn last_element(line: &str) -> Option<&str> {
    let elements = split_outside_quotes(line, b',')?;
    elements.last().map(|e| e.trim_matches([' ', '\t']))
}

/// Splits at `separator` outside quoted strings; `None` when a quoted
/// string is not closed.
fn split_outside_quotes(text: &str, separator: u8) -> Option<Vec<&str>> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, b) in text.bytes().enumerate() {
        if escaped {
            escaped = false;
        } else if quoted {
            match b {
                b'\\' => escaped = true,
                b'"' => quoted = false,
                _ => {}
            }
        } else if b == b'"' {
            quoted = true;
        } else if b == separator {
            parts.push(&text[start..i]);
            start = i + 1;
        }
    }
    parts.push(&text[start..]);
    (!quoted && !escaped).then_some(parts)
}

/// A `Forwarded` parameter value: a quoted-string (unescaped) or a bare
/// value. Bare values are read leniently (some proxies leave `host=h:8080`
/// unquoted, though `:` is not a token character); what they may contain is
/// checked by the caller.
fn forwarded_value(value: &str) -> Option<String> {
    if let Some(inner) = value.strip_prefix('"') {
        let inner = inner.strip_suffix('"')?;
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.push(chars.next()?),
                '"' => return None,
                c => out.push(c),
            }
        }
        Some(out)
    } else if value.is_empty() || value.contains(['"', '\\', ' ', '\t']) {
        None
    } else {
        Some(value.to_owned())
    }
}

/// The last comma-separated value of the last field line of `name`, trimmed.
fn last_list_value<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
    source: &'static str,
) -> Result<Option<&'a str>, Refused> {
    let Some(line) = last_line(headers, name, source)? else {
        return Ok(None);
    };
    let value = line
        .rsplit(',')
        .next()
        .unwrap_or_default()
        .trim_matches([' ', '\t']);
    if value.is_empty() {
        // A trailing empty value: the proxy appended nothing, the rest may be
        // the client's.
        return Err(Refused::new(source, "empty_last_value"));
    }
    Ok(Some(value))
}

/// The last values of `X-Forwarded-Proto` and `X-Forwarded-Host`.
fn x_forwarded(headers: &HeaderMap) -> Result<Hop, Refused> {
    let mut hop = Hop::default();
    if let Some(proto) = last_list_value(headers, &X_FORWARDED_PROTO, "x_forwarded_proto")? {
        hop.https =
            Some(parse_scheme(proto).ok_or(Refused::new("x_forwarded_proto", "not_http_scheme"))?);
    }
    if let Some(host) = last_list_value(headers, &X_FORWARDED_HOST, "x_forwarded_host")? {
        hop.host = Some(host.to_owned());
        hop.host_source = "x_forwarded_host";
    }
    Ok(hop)
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
        let trusted = untrusted.clone().trust_x_forwarded();
        assert_eq!(
            trusted.resolve(&get("/a", &headers)).unwrap(),
            "https://api.example.com/a"
        );
        let rfc7239 = [
            ("host", "internal"),
            (
                "forwarded",
                "for=1.2.3.4;proto=http;host=\"client.example\", for=5.6.7.8;proto=https;host=\"pub.example\"",
            ),
        ];
        let trusted = untrusted.trust_rfc7239_forwarded();
        assert_eq!(
            trusted.resolve(&get("/a", &rfc7239)).unwrap(),
            "https://pub.example/a"
        );
    }

    /// Whether `authority` passes as a plain `host[:port]`.
    fn is_valid_authority(authority: &str) -> bool {
        htu::push_authority(authority, "443", &mut String::new()).is_ok()
    }

    #[test]
    fn valid_authorities() {
        for ok in [
            "h",
            "example.com",
            "Example.COM:8080",
            "h:",
            "127.0.0.1:80",
            "[::1]",
            "[::1]:8080",
            "[2001:DB8::1]:443",
            "[::ffff:192.0.2.1]",
            "xn--bcher-kva.example",
            "a%2Eb",
            "a_b~c-d",
            "a!$&'()*+,;=b",
        ] {
            assert!(is_valid_authority(ok), "{ok}");
        }
        for bad in [
            "",
            ":80",
            "victim.example/any?",
            "victim.example/any",
            "h?x",
            "h#x",
            "user@h",
            "user:pass@h",
            "h h",
            " h",
            "h\t",
            "h:8x",
            "h:80:80",
            "a:b:c",
            "[::1",
            "[::1]x",
            "[::1]:8x",
            "[zz]",
            "[]",
            "[fe80::1%25eth0]",
            "[v1.x]",
            "::1",
            "h%2",
            "h%zz",
            "h\\x",
            "h\"",
            "h<x>",
            "h[x]",
            "é.example",
        ] {
            assert!(!is_valid_authority(bad), "{bad:?}");
        }
    }

    #[test]
    fn forwarded_parsing() {
        assert_eq!(last_element("a, b"), Some("b"));
        assert_eq!(last_element("a, host=\"x,y\""), Some("host=\"x,y\""));
        assert_eq!(last_element("a, b,"), Some(""));
        assert_eq!(last_element("host=\"x, b"), None);
        assert_eq!(last_element("host=\"x\\\", b\""), Some("host=\"x\\\", b\""));
        assert_eq!(forwarded_value("\"a\\\"b\"").as_deref(), Some("a\"b"));
        assert_eq!(
            forwarded_value("\"[::1]:8080\"").as_deref(),
            Some("[::1]:8080")
        );
        assert_eq!(forwarded_value("h:8080").as_deref(), Some("h:8080"));
        assert_eq!(forwarded_value("\"a\"b\""), None);
        assert_eq!(forwarded_value("\"a"), None);
        assert_eq!(forwarded_value(""), None);
    }
}
