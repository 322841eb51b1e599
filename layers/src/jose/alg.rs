//! JWS signature algorithms we accept (RFC 7518 §3) and the ones we refuse.

use std::fmt;
use std::str::FromStr;

/// An asymmetric JWS algorithm supported for DPoP proofs and access tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Algorithm {
    /// ECDSA using P-256 and SHA-256 (RFC 7518 §3.4).
    ES256,
    /// RSASSA-PKCS1-v1_5 using SHA-256 (RFC 7518 §3.3).
    RS256,
    /// RSASSA-PSS using SHA-256 and MGF1 with SHA-256 (RFC 7518 §3.5).
    PS256,
}

impl Algorithm {
    /// Every supported algorithm, in order of preference.
    pub const ALL: [Algorithm; 3] = [Algorithm::ES256, Algorithm::PS256, Algorithm::RS256];

    /// The `alg` header value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Algorithm::ES256 => "ES256",
            Algorithm::RS256 => "RS256",
            Algorithm::PS256 => "PS256",
        }
    }

    /// Whether the algorithm uses an RSA key.
    pub const fn is_rsa(self) -> bool {
        matches!(self, Algorithm::RS256 | Algorithm::PS256)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an `alg` value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AlgError {
    /// `alg` was `none`: unsigned JWS are never accepted (RFC 9449 §4.3 item 5).
    #[error("alg \"none\" is not allowed: the JWS must be signed")]
    None,
    /// An HMAC algorithm: DPoP needs an asymmetric key (RFC 9449 §4.3 item 5).
    #[error("symmetric (HMAC) algorithms are not allowed: an asymmetric algorithm is required")]
    Symmetric,
    /// An algorithm this library does not implement.
    #[error("unsupported alg: expected one of ES256, PS256, RS256")]
    Unsupported,
}

impl FromStr for Algorithm {
    type Err = AlgError;

    fn from_str(name: &str) -> Result<Self, AlgError> {
        match name {
            "ES256" => Ok(Algorithm::ES256),
            "RS256" => Ok(Algorithm::RS256),
            "PS256" => Ok(Algorithm::PS256),
            // JWS algorithm names are case-sensitive (RFC 7515 §4.1.1), so
            // "None" or "NONE" are simply unknown names; name them anyway so the
            // error is clear.
            n if n.eq_ignore_ascii_case("none") => Err(AlgError::None),
            "HS256" | "HS384" | "HS512" => Err(AlgError::Symmetric),
            _ => Err(AlgError::Unsupported),
        }
    }
}

/// Parses a comma- or space-separated list such as `ES256,PS256`.
pub fn parse_list(list: &str) -> Result<Vec<Algorithm>, AlgError> {
    list.split([',', ' '])
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for alg in Algorithm::ALL {
            assert_eq!(alg.as_str().parse::<Algorithm>(), Ok(alg));
        }
    }

    #[test]
    fn refuses_none_hmac_and_unknown() {
        assert_eq!("none".parse::<Algorithm>(), Err(AlgError::None));
        assert_eq!("NONE".parse::<Algorithm>(), Err(AlgError::None));
        assert_eq!("HS256".parse::<Algorithm>(), Err(AlgError::Symmetric));
        assert_eq!("es256".parse::<Algorithm>(), Err(AlgError::Unsupported));
        assert_eq!("EdDSA".parse::<Algorithm>(), Err(AlgError::Unsupported));
    }

    #[test]
    fn parses_lists() {
        assert_eq!(
            parse_list("ES256, PS256").unwrap(),
            vec![Algorithm::ES256, Algorithm::PS256]
        );
        assert!(parse_list("ES256,HS256").is_err());
    }
}
