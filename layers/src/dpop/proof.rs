//! Parsing of DPoP proof JWTs (RFC 9449 §4.2).
//!
//! [`DpopProof::parse`] checks the syntax only: compact JWS form, header
//! (`typ`, `alg`, `jwk`), and claim types. The checks that need the request,
//! the clock or a cache are in [`DpopVerifier`](super::DpopVerifier).

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::jose::jwk::RawJwk;
use crate::jose::{self, Algorithm, PublicJwk, b64, is_json_object};

use super::error::DpopError;

/// Default cap on a proof's size in bytes. An RS256 proof with a 4096-bit key
/// is about 2.4 KB; 8 KiB leaves room for extra claims.
pub const DEFAULT_MAX_PROOF_BYTES: usize = 8 * 1024;

/// A syntactically valid DPoP proof whose signature is not yet checked.
#[derive(Debug, Clone)]
pub struct DpopProof<'a> {
    alg: Algorithm,
    jwk: PublicJwk,
    claims: ProofClaims,
    signing_input: &'a str,
    signature: Vec<u8>,
}

/// The claims of a proof (RFC 9449 §4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProofClaims {
    /// Unique identifier of the proof.
    pub jti: String,
    /// HTTP method of the request.
    pub htm: String,
    /// HTTP target URI of the request, as sent.
    pub htu: String,
    /// Creation time, seconds since the epoch (fractions dropped).
    pub iat: i64,
    /// Hash of the access token, if any.
    pub ath: Option<String>,
    /// Server-provided nonce, if any.
    pub nonce: Option<String>,
}

#[derive(Deserialize)]
struct RawHeader<'a> {
    #[serde(borrow)]
    typ: Option<Cow<'a, str>>,
    #[serde(borrow)]
    alg: Option<Cow<'a, str>>,
    #[serde(borrow)]
    jwk: Option<RawJwk<'a>>,
    crit: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct RawClaims {
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    iat: Option<serde_json::Number>,
    ath: Option<String>,
    nonce: Option<String>,
}

impl<'a> DpopProof<'a> {
    /// Parses a compact JWS. `max_len` caps the input before any decoding.
    pub fn parse(compact: &'a str, max_len: usize) -> Result<Self, DpopError> {
        if compact.len() > max_len {
            return Err(DpopError::ProofTooLarge {
                len: compact.len(),
                max: max_len,
            });
        }
        let Some((header_b64, claims_b64, sig_b64)) = jose::compact_parts(compact) else {
            return Err(DpopError::Malformed("expected three dot-separated parts"));
        };
        let header_json =
            b64::decode(header_b64).map_err(|_| DpopError::Malformed("header is not base64url"))?;
        if !is_json_object(&header_json) {
            return Err(DpopError::Malformed("header is not a JSON object"));
        }
        let header: RawHeader<'_> = serde_json::from_slice(&header_json)
            .map_err(|_| DpopError::Malformed("header is not a JSON object"))?;
        if !is_dpop_type(header.typ.as_deref()) {
            return Err(DpopError::InvalidType);
        }
        let alg: Algorithm = header
            .alg
            .as_deref()
            .ok_or(DpopError::MissingAlg)?
            .parse()
            .map_err(DpopError::Alg)?;
        if header.crit.is_some() {
            return Err(DpopError::CriticalHeader);
        }
        let jwk = PublicJwk::from_raw(header.jwk.as_ref().ok_or(DpopError::MissingJwk)?)?;

        let claims = parse_claims(claims_b64)?;
        let signature =
            b64::decode(sig_b64).map_err(|_| DpopError::Malformed("signature is not base64url"))?;
        Ok(Self {
            alg,
            jwk,
            claims,
            signing_input: &compact[..header_b64.len() + 1 + claims_b64.len()],
            signature,
        })
    }

    /// The signature algorithm from the header.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The public key from the header.
    pub fn jwk(&self) -> &PublicJwk {
        &self.jwk
    }

    /// The claims.
    pub fn claims(&self) -> &ProofClaims {
        &self.claims
    }

    /// Verifies the signature with the header's key (RFC 9449 §4.3 item 6).
    pub fn verify_signature(&self) -> Result<(), DpopError> {
        self.jwk
            .verify(self.alg, self.signing_input.as_bytes(), &self.signature)
            .map_err(DpopError::from)
    }
}

/// `typ` must be `dpop+jwt`; media type names are case-insensitive and the
/// `application/` prefix may be present (RFC 7515 §4.1.9).
fn is_dpop_type(typ: Option<&str>) -> bool {
    let Some(typ) = typ else { return false };
    let typ = match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
        _ => typ,
    };
    typ.eq_ignore_ascii_case("dpop+jwt")
}

fn parse_claims(claims_b64: &str) -> Result<ProofClaims, DpopError> {
    let json =
        b64::decode(claims_b64).map_err(|_| DpopError::Malformed("payload is not base64url"))?;
    if !is_json_object(&json) {
        return Err(DpopError::Malformed("payload is not a JSON object"));
    }
    let raw: RawClaims = serde_json::from_slice(&json).map_err(|_| claim_type_error(&json))?;
    Ok(ProofClaims {
        jti: raw.jti.ok_or(DpopError::InvalidClaim("jti"))?,
        htm: raw.htm.ok_or(DpopError::InvalidClaim("htm"))?,
        htu: raw.htu.ok_or(DpopError::InvalidClaim("htu"))?,
        iat: raw
            .iat
            .as_ref()
            .and_then(numeric_date)
            .ok_or(DpopError::InvalidClaim("iat"))?,
        ath: raw.ath,
        nonce: raw.nonce,
    })
}

/// Names the claim with the wrong JSON type, after the typed parse failed
/// (only on this error path is the payload parsed a second time).
fn claim_type_error(json: &[u8]) -> DpopError {
    let Ok(map) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(json) else {
        return DpopError::Malformed("payload is not a JSON object: invalid JSON");
    };
    for name in ["jti", "htm", "htu", "ath", "nonce"] {
        if map.get(name).is_some_and(|v| !v.is_string()) {
            return DpopError::InvalidClaim(name);
        }
    }
    if map.get("iat").is_some_and(|v| !v.is_number()) {
        return DpopError::InvalidClaim("iat");
    }
    DpopError::Malformed("payload has a duplicate claim")
}

/// A JSON `NumericDate` (RFC 7519 §2): an integer or a finite number of seconds.
fn numeric_date(n: &serde_json::Number) -> Option<i64> {
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    let f = n.as_f64()?;
    // Within ±2^53 a float's integer part converts exactly.
    #[allow(clippy::cast_possible_truncation)]
    (f.is_finite() && f.abs() < 9_007_199_254_740_992.0).then(|| f.floor() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9449 §4.1, figure 3 (the signature is the RFC's and verifies).
    pub(crate) const RFC9449_PROOF: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6Ik\
VDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCR\
nMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JE\
QSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIj\
oiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwia\
WF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg\
4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";

    #[test]
    fn parses_and_verifies_rfc9449_example() {
        let proof = DpopProof::parse(RFC9449_PROOF, DEFAULT_MAX_PROOF_BYTES).unwrap();
        assert_eq!(proof.alg(), Algorithm::ES256);
        assert_eq!(proof.claims().jti, "-BwC3ESc6acc2lTc");
        assert_eq!(proof.claims().htm, "POST");
        assert_eq!(proof.claims().htu, "https://server.example.com/token");
        assert_eq!(proof.claims().iat, 1_562_262_616);
        proof.verify_signature().unwrap();
    }

    #[test]
    fn size_cap_applies_before_decoding() {
        let err = DpopProof::parse(RFC9449_PROOF, 100).unwrap_err();
        assert!(matches!(err, DpopError::ProofTooLarge { max: 100, .. }));
    }

    #[test]
    fn typ_forms() {
        assert!(is_dpop_type(Some("dpop+jwt")));
        assert!(is_dpop_type(Some("DPoP+JWT")));
        assert!(is_dpop_type(Some("application/dpop+jwt")));
        assert!(!is_dpop_type(Some("JWT")));
        assert!(!is_dpop_type(Some("at+jwt")));
        assert!(!is_dpop_type(None));
    }

    #[test]
    fn numeric_dates() {
        let n = |s: &str| numeric_date(&serde_json::from_str(s).unwrap());
        assert_eq!(n("1562262616"), Some(1_562_262_616));
        assert_eq!(n("1562262616.9"), Some(1_562_262_616));
        assert_eq!(n("1e300"), None);
    }
}
