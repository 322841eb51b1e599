//! Parsing of the `Authorization` request header (RFC 9110 §11.6.2) for the
//! `Bearer` (RFC 6750 §2.1) and `DPoP` (RFC 9449 §7.1) schemes, shared by the
//! layers that read access tokens.

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue};

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
    let Some(found) = access_token_header(headers)? else {
        return Ok(None);
    };
    // ASCII, as checked.
    let token = std::str::from_utf8(found.token()).map_err(|_| AuthorizationError::Malformed)?;
    Ok(Some((found.scheme, token)))
}

/// An `Authorization` header holding an access token, as
/// [`access_token_header`] found it.
pub(crate) struct TokenHeader<'a> {
    pub(crate) scheme: TokenScheme,
    /// The header.
    pub(crate) value: &'a HeaderValue,
    /// Where the token starts in it; it runs to the end.
    pub(crate) start: usize,
}

impl<'a> TokenHeader<'a> {
    /// The token's bytes, `token68` and so ASCII.
    fn token(&self) -> &'a [u8] {
        self.value.as_bytes().get(self.start..).unwrap_or_default()
    }
}

/// What [`access_token`] reads, leaving the token in its header: the
/// bearer layer keeps a share of the header, and turns the token into a
/// `&str` only when it is read.
pub(crate) fn access_token_header(
    headers: &HeaderMap,
) -> Result<Option<TokenHeader<'_>>, AuthorizationError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthorizationError::Multiple);
    }
    let bytes = value.as_bytes();
    // One pass over the token: `token68` bytes are all visible ASCII, so the
    // header's own `to_str` check is only needed to tell a malformed header
    // from an unsupported scheme.
    let space = bytes
        .iter()
        .position(|&b| b == b' ')
        .ok_or(AuthorizationError::Malformed)?;
    let scheme = &bytes[..space];
    let scheme = if scheme.eq_ignore_ascii_case(b"bearer") {
        TokenScheme::Bearer
    } else if scheme.eq_ignore_ascii_case(b"dpop") {
        TokenScheme::Dpop
    } else if value.to_str().is_ok() {
        return Err(AuthorizationError::UnsupportedScheme);
    } else {
        return Err(AuthorizationError::Malformed);
    };
    let token = trim_start_spaces(&bytes[space + 1..]);
    if !is_token68_bytes(token) {
        return Err(AuthorizationError::Malformed);
    }
    Ok(Some(TokenHeader {
        scheme,
        value,
        start: bytes.len() - token.len(),
    }))
}

fn trim_start_spaces(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != b' ').unwrap_or(bytes.len());
    &bytes[start..]
}

/// `token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`
pub fn is_token68(s: &str) -> bool {
    is_token68_bytes(s.as_bytes())
}

fn is_token68_bytes(s: &[u8]) -> bool {
    let end = s
        .iter()
        .rposition(|&b| b != b'=')
        .map_or(0, |last| last + 1);
    let body = &s[..end];
    !body.is_empty() && all_token68(body)
}

/// Whether every byte is a `token68` character other than `=`. Tokens are
/// long (JWTs of ~1 KB) and this runs on every request, so whole blocks are
/// checked without a branch per byte, which the compiler turns into vector
/// instructions.
fn all_token68(bytes: &[u8]) -> bool {
    let mut blocks = bytes.chunks_exact(32);
    for block in &mut blocks {
        if !block.iter().fold(true, |ok, &b| ok & is_token68_char(b)) {
            return false;
        }
    }
    blocks.remainder().iter().all(|&b| is_token68_char(b))
}

/// `ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/"`, with comparisons
/// only (no table), so that blocks of bytes are checked in vector registers;
/// as few as possible: `+`, `-`, `.`, `/` and the digits are the range
/// 0x2B..=0x39 but for `,` (0x2C), and each range is tested with one signed
/// comparison (SSE2 has no unsigned one): shifted so that it starts at -128,
/// a byte is in it when it is below -128 plus its length.
#[inline]
#[allow(
    clippy::needless_bitwise_bool,
    clippy::cast_possible_wrap,
    reason = "no short-circuit: branch-free, so the block loop vectorizes; the casts wrap on purpose"
)]
fn is_token68_char(b: u8) -> bool {
    /// Whether `b` is in `start..start + len`.
    #[inline]
    fn in_range(b: u8, start: u8, len: i8) -> bool {
        (b.wrapping_add(128u8.wrapping_sub(start)) as i8) < i8::MIN + len
    }
    // Setting bit 5 maps exactly `A`-`Z` onto `a`-`z`.
    in_range(b | 0x20, b'a', 26) | (in_range(b, b'+', 15) & (b != b',')) | (b == b'_') | (b == b'~')
}

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
    fn token68_characters_are_exactly_the_grammar() {
        for b in 0..=255u8 {
            let expected =
                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
            assert_eq!(is_token68_char(b), expected, "{b:#04x}");
            // In a block of 32 and in the tail alike.
            let mut long = vec![b'a'; 40];
            long[5] = b;
            assert_eq!(all_token68(&long), expected, "{b:#04x} in a block");
            long[5] = b'a';
            long[37] = b;
            assert_eq!(all_token68(&long), expected, "{b:#04x} in the tail");
        }
        assert!(is_token68("abc=="));
        assert!(!is_token68("=="));
        assert!(!is_token68(""));
        assert!(!is_token68("a=b"));
    }

    #[test]
    fn malformed_values_are_not_unsupported_schemes() {
        let mut h = HeaderMap::new();
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_bytes(b"Basic \xff").unwrap(),
        );
        assert_eq!(access_token(&h), Err(AuthorizationError::Malformed));
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer \xff").unwrap(),
        );
        assert_eq!(access_token(&h), Err(AuthorizationError::Malformed));
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer\tx").unwrap(),
        );
        assert_eq!(access_token(&h), Err(AuthorizationError::Malformed));
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer   x=").unwrap(),
        );
        assert_eq!(access_token(&h), Ok(Some((TokenScheme::Bearer, "x="))));
    }

    /// Any number of bad bytes in one 32-byte block is refused: the block
    /// check must be an AND over the block, which one bad byte alone cannot
    /// tell from a parity (XOR) of it.
    #[test]
    fn several_bad_bytes_in_one_block_are_refused() {
        for bad in [b' ', b',', b'"', b'!', b'=', 0x7f] {
            for count in 1..=4 {
                let mut long = vec![b'a'; 40];
                long[3..3 + count].fill(bad);
                assert!(!all_token68(&long), "{count} x {bad:#04x} in a block");
            }
        }
        // Through the header: two commas inside the first block.
        let token = format!("ab,,{}", "c".repeat(36));
        assert_eq!(
            access_token(&headers(&[&format!("Bearer {token}")])),
            Err(AuthorizationError::Malformed)
        );
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
