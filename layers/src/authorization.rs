//! Parsing of the `Authorization` request header (RFC 9110 §11.6.2) for the
//! `Bearer` (RFC 6750 §2.1) and `DPoP` (RFC 9449 §7.1) schemes, shared by the
//! layers that read access tokens.

use http::HeaderMap;
use http::header::AUTHORIZATION;

/// The scheme an access token was presented with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenScheme {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// `Authorization: DPoP <token>`.
    Dpop,
}

/// Why the `Authorization` header was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorizationError {
    /// More than one `Authorization` header.
    #[error("more than one Authorization header")]
    Multiple,
    /// Not `<scheme> <token68>` with a supported scheme and valid token syntax.
    #[error(
        "Authorization header must be \"Bearer <token>\" or \"DPoP <token>\" with token68 syntax"
    )]
    Malformed,
    /// A scheme other than `Bearer` or `DPoP`.
    #[error("unsupported authorization scheme: expected Bearer or DPoP")]
    UnsupportedScheme,
}

/// Reads the access token from the `Authorization` header, if there is one.
///
/// Scheme names are case-insensitive; the token must be RFC 9110 `token68`.
pub fn access_token(
    headers: &HeaderMap,
) -> Result<Option<(TokenScheme, &str)>, AuthorizationError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthorizationError::Multiple);
    }
    let value = value.to_str().map_err(|_| AuthorizationError::Malformed)?;
    let (scheme, token) = value.split_once(' ').ok_or(AuthorizationError::Malformed)?;
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        TokenScheme::Bearer
    } else if scheme.eq_ignore_ascii_case("dpop") {
        TokenScheme::Dpop
    } else {
        return Err(AuthorizationError::UnsupportedScheme);
    };
    let token = token.trim_start_matches(' ');
    if !is_token68(token) {
        return Err(AuthorizationError::Malformed);
    }
    Ok(Some((scheme, token)))
}

/// `token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`
pub fn is_token68(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    // A table lookup per byte: tokens are long (JWTs of ~1 KB) and this runs
    // on every request.
    !body.is_empty() && body.bytes().all(|b| TOKEN68[usize::from(b)])
}

const TOKEN68: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        #[allow(clippy::cast_possible_truncation)] // i < 256
        let c = i as u8;
        table[i] =
            c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        i += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn reads_both_schemes_case_insensitively() {
        assert_eq!(
            access_token(&headers(&["DPoP abc.def-_~+/=="])).unwrap(),
            Some((TokenScheme::Dpop, "abc.def-_~+/=="))
        );
        assert_eq!(
            access_token(&headers(&["bearer x"])).unwrap(),
            Some((TokenScheme::Bearer, "x"))
        );
        assert_eq!(access_token(&headers(&[])).unwrap(), None);
    }

    #[test]
    fn refuses_bad_headers() {
        assert_eq!(
            access_token(&headers(&["DPoP a", "DPoP b"])),
            Err(AuthorizationError::Multiple)
        );
        assert_eq!(
            access_token(&headers(&["DPoP"])),
            Err(AuthorizationError::Malformed)
        );
        assert_eq!(
            access_token(&headers(&["DPoP "])),
            Err(AuthorizationError::Malformed)
        );
        assert_eq!(
            access_token(&headers(&["DPoP a b"])),
            Err(AuthorizationError::Malformed)
        );
        assert_eq!(
            access_token(&headers(&["DPoP ==="])),
            Err(AuthorizationError::Malformed)
        );
        assert_eq!(
            access_token(&headers(&["Basic dXNlcjpwYXNz"])),
            Err(AuthorizationError::UnsupportedScheme)
        );
    }
}
