//! Normalization of `htu` values and request URIs for comparison
//! (RFC 9449 §4.3 item 9, RFC 3986 §6.2.2 and §6.2.3).
//!
//! Both sides are reduced to `scheme://host[:port]/path`:
//! - scheme and host lower-cased, the default port (80/443) and an empty port
//!   removed, an empty path made `/` (scheme-based normalization);
//! - percent-encodings upper-cased and those of unreserved characters decoded,
//!   then dot-segments removed (syntax-based normalization);
//! - query and fragment dropped.
//!
//! Only `http` and `https` URIs are accepted; user information, control
//! characters, spaces and malformed percent-encodings are refused.

/// Why a URI could not be normalized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HtuError {
    /// Not an absolute `http`/`https` URI with an authority.
    #[error("not an absolute http or https URI")]
    NotHttpUri,
    /// User information (`user@host`) is not allowed.
    #[error("URI must not contain user information")]
    UserInfo,
    /// The host is empty or contains forbidden characters.
    #[error("URI has an invalid host")]
    InvalidHost,
    /// The port is not a number below 65536.
    #[error("URI has an invalid port")]
    InvalidPort,
    /// Characters not allowed in a URI, or a malformed percent-encoding.
    #[error("URI contains invalid characters or percent-encodings")]
    InvalidCharacters,
}

/// Normalizes an absolute `http(s)` URI, dropping query and fragment.
pub fn normalize(uri: &str) -> Result<String, HtuError> {
    let uri = uri.split(['?', '#']).next().unwrap_or_default();
    let (scheme, rest) = uri.split_once("://").ok_or(HtuError::NotHttpUri)?;
    let default_port = if scheme.eq_ignore_ascii_case("https") {
        "443"
    } else if scheme.eq_ignore_ascii_case("http") {
        "80"
    } else {
        return Err(HtuError::NotHttpUri);
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let mut out = String::with_capacity(uri.len() + 1);
    out.push_str(if default_port == "443" {
        "https://"
    } else {
        "http://"
    });
    push_authority(authority, default_port, &mut out)?;
    push_path(path, &mut out)?;
    Ok(out)
}

/// Builds the normalized URI of a request path served under `origin`
/// (`scheme://host[:port]`, normalized) and a path `prefix` (empty or starting
/// with `/`, no trailing slash). Query and fragment of `path` are dropped.
pub(crate) fn join_path(origin: &str, prefix: &str, path: &str) -> Result<String, HtuError> {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    if !path.is_empty() && !path.starts_with('/') {
        return Err(HtuError::InvalidCharacters);
    }
    let mut out = String::with_capacity(origin.len() + prefix.len() + path.len() + 1);
    out.push_str(origin);
    if prefix.is_empty() {
        push_path(path, &mut out)?;
    } else {
        // Normalize the combined path, so dot-segments are resolved exactly as
        // the client resolved them in its htu.
        push_path(&format!("{prefix}{path}"), &mut out)?;
    }
    Ok(out)
}

/// Normalizes a `host[:port]` authority into `out`.
pub(crate) fn push_authority(
    authority: &str,
    default_port: &str,
    out: &mut String,
) -> Result<(), HtuError> {
    if authority.contains('@') {
        return Err(HtuError::UserInfo);
    }
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']').ok_or(HtuError::InvalidHost)?;
        let (host, rest) = authority.split_at(end + 1);
        match rest.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if rest.is_empty() => (host, None),
            None => return Err(HtuError::InvalidHost),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(HtuError::InvalidHost);
    }
    if host.starts_with('[') {
        // An IPv6 address (RFC 3986 §3.2.2); IPvFuture literals and zone
        // identifiers are refused.
        let inner = &host[1..host.len() - 1];
        if inner.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(HtuError::InvalidHost);
        }
        out.extend(host.chars().map(|c| c.to_ascii_lowercase()));
    } else {
        let mut decoded = String::with_capacity(host.len());
        push_normalized(host, &mut decoded, |b| is_unreserved(b) || is_sub_delim(b))?;
        // Lower-case the host but keep the hex digits of percent-encodings
        // upper case (RFC 3986 §6.2.2.1).
        let mut escape = 0;
        for c in decoded.chars() {
            if escape > 0 {
                escape -= 1;
                out.push(c);
            } else if c == '%' {
                escape = 2;
                out.push(c);
            } else {
                out.push(c.to_ascii_lowercase());
            }
        }
    }
    if let Some(port) = port {
        if port.is_empty() {
            return Ok(());
        }
        if port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(HtuError::InvalidPort);
        }
        let number: u32 = port.parse().map_err(|_| HtuError::InvalidPort)?;
        if number > 65535 {
            return Err(HtuError::InvalidPort);
        }
        let number = number.to_string();
        if number != default_port {
            out.push(':');
            out.push_str(&number);
        }
    }
    Ok(())
}

/// Normalizes a path (`""` becomes `/`) into `out`.
fn push_path(path: &str, out: &mut String) -> Result<(), HtuError> {
    if path.is_empty() {
        out.push('/');
        return Ok(());
    }
    let mut decoded = String::with_capacity(path.len());
    push_normalized(path, &mut decoded, |b| {
        is_unreserved(b) || is_sub_delim(b) || matches!(b, b':' | b'@' | b'/')
    })?;
    if decoded.contains("/.") {
        remove_dot_segments(&decoded, out);
    } else {
        out.push_str(&decoded);
    }
    Ok(())
}

/// Copies `text`, upper-casing percent-encodings and decoding those of
/// unreserved characters; any byte not `allowed` and not `%` is refused.
fn push_normalized(
    text: &str,
    out: &mut String,
    allowed: impl Fn(u8) -> bool,
) -> Result<(), HtuError> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hi = bytes
                .get(i + 1)
                .copied()
                .and_then(hex)
                .ok_or(HtuError::InvalidCharacters)?;
            let lo = bytes
                .get(i + 2)
                .copied()
                .and_then(hex)
                .ok_or(HtuError::InvalidCharacters)?;
            let value = hi << 4 | lo;
            if is_unreserved(value) {
                out.push(char::from(value));
            } else {
                out.push('%');
                out.push(char::from(HEX[usize::from(hi)]));
                out.push(char::from(HEX[usize::from(lo)]));
            }
            i += 3;
        } else if allowed(b) {
            out.push(char::from(b));
            i += 1;
        } else {
            return Err(HtuError::InvalidCharacters);
        }
    }
    Ok(())
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn is_sub_delim(b: u8) -> bool {
    matches!(
        b,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
    )
}

/// RFC 3986 §5.2.4 on an absolute path.
fn remove_dot_segments(path: &str, out: &mut String) {
    let mut segments: Vec<&str> = Vec::new();
    let mut parts = path.split('/').skip(1).peekable();
    let mut trailing_slash = false;
    while let Some(segment) = parts.next() {
        let last = parts.peek().is_none();
        match segment {
            "." => trailing_slash = last,
            ".." => {
                segments.pop();
                trailing_slash = last;
            }
            s => {
                segments.push(s);
                trailing_slash = false;
            }
        }
    }
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    if trailing_slash || segments.is_empty() {
        out.push('/');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc_examples() {
        // RFC 3986 §6.2.2 / §6.2.3 equivalences.
        let same = [
            "http://example.com/",
            "http://example.com",
            "HTTP://EXAMPLE.COM/",
            "http://example.com:/",
            "http://example.com:80/",
            "http://example.com/?q=1#f",
            "http://%65xample.com/",
            "http://example.com/./",
        ];
        for uri in same {
            assert_eq!(normalize(uri).unwrap(), "http://example.com/", "{uri}");
        }
        assert_eq!(
            normalize("https://server.example.com:443/token").unwrap(),
            "https://server.example.com/token"
        );
        assert_eq!(normalize("https://h:8443/a").unwrap(), "https://h:8443/a");
        assert_eq!(
            normalize("https://h/%7euser/%2f%3A").unwrap(),
            "https://h/~user/%2F%3A"
        );
        assert_eq!(
            normalize("https://h/a/b/c/./../../g").unwrap(),
            "https://h/a/g"
        );
        assert_eq!(normalize("https://h/a/b/..").unwrap(), "https://h/a/");
        assert_eq!(normalize("https://h/a/%2E%2E/b").unwrap(), "https://h/b");
        assert_eq!(normalize("http://[::1]:80/x").unwrap(), "http://[::1]/x");
        assert_eq!(
            normalize("http://[::1]:8080").unwrap(),
            "http://[::1]:8080/"
        );
        assert_eq!(normalize("http://h:08080/").unwrap(), "http://h:8080/");
    }

    #[test]
    fn https_and_http_default_ports_differ() {
        assert_eq!(normalize("https://h:80/").unwrap(), "https://h:80/");
        assert_eq!(normalize("http://h:443/").unwrap(), "http://h:443/");
    }

    #[test]
    fn refuses_bad_uris() {
        assert_eq!(normalize("/relative"), Err(HtuError::NotHttpUri));
        assert_eq!(normalize("ftp://h/"), Err(HtuError::NotHttpUri));
        assert_eq!(normalize("https://user@h/"), Err(HtuError::UserInfo));
        assert_eq!(normalize("https:///path"), Err(HtuError::InvalidHost));
        assert_eq!(normalize("https://h:99999/"), Err(HtuError::InvalidPort));
        assert_eq!(normalize("https://h:8x/"), Err(HtuError::InvalidPort));
        assert_eq!(normalize("https://h/a b"), Err(HtuError::InvalidCharacters));
        assert_eq!(normalize("https://h/%zz"), Err(HtuError::InvalidCharacters));
        assert_eq!(normalize("https://h/%4"), Err(HtuError::InvalidCharacters));
        assert_eq!(normalize("https://h/é"), Err(HtuError::InvalidCharacters));
        assert_eq!(normalize("https://[zz]/"), Err(HtuError::InvalidHost));
    }

    #[test]
    fn joins_base_and_path() {
        assert_eq!(
            join_path("https://h", "", "/mcp?x").unwrap(),
            "https://h/mcp"
        );
        assert_eq!(join_path("https://h", "", "").unwrap(), "https://h/");
        assert_eq!(
            join_path("https://h", "/api", "/mcp").unwrap(),
            "https://h/api/mcp"
        );
        assert_eq!(
            join_path("https://h", "/api", "/%6Dcp/../x").unwrap(),
            "https://h/api/x"
        );
        assert_eq!(join_path("https://h", "/api", "").unwrap(), "https://h/api");
        assert!(join_path("https://h", "", "mcp").is_err());
    }

    proptest! {
        #[test]
        fn normalization_is_idempotent(host in "[a-zA-Z0-9.-]{1,20}", port in proptest::option::of(0u16..), path in "(/[a-zA-Z0-9%._~!$&'()*+,;=:@-]{0,8}){0,5}") {
            let uri = match port {
                Some(p) => format!("https://{host}:{p}{path}"),
                None => format!("https://{host}{path}"),
            };
            if let Ok(once) = normalize(&uri) {
                prop_assert_eq!(normalize(&once).unwrap(), once.clone());
            }
        }

        #[test]
        fn case_of_scheme_and_host_does_not_matter(host in "[a-z0-9]{1,20}", path in "(/[a-z0-9]{0,8}){0,4}") {
            let lower = normalize(&format!("https://{host}{path}")).unwrap();
            let upper = normalize(&format!("HTTPS://{}{path}", host.to_uppercase())).unwrap();
            prop_assert_eq!(lower, upper);
        }
    }
}
