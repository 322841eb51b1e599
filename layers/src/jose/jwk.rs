//! Public JSON Web Keys (RFC 7517, RFC 7518 §6) for EC P-256 and RSA, their
//! RFC 7638 thumbprints, and signature verification with them.
//!
//! Parsing validates the key fully (the EC point is on the curve, via `p256`;
//! the RSA modulus and exponent are sane, via `rsa`) and refuses any JWK that
//! carries private members. Verification runs on aws-lc-rs, the fastest backend
//! in the dependency tree (see `benches/dpop.rs`).

use std::borrow::Cow;
use std::fmt;

use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::alg::Algorithm;
use super::b64;

/// Smallest RSA modulus accepted, in bits (RFC 7518 §3.3 requires 2048).
pub const RSA_MIN_BITS: usize = 2048;
/// Largest RSA modulus accepted, in bits, for keys from a configured source
/// ([`PublicJwk::from_json`], [`PublicJwk::from_value`] as used for a JWKS,
/// [`RsaPublicJwk::from_components`]); bounds the cost of one verification.
pub const RSA_MAX_BITS: usize = 8192;
/// Largest RSA modulus accepted, in bits, in the `jwk` header of a DPoP
/// proof (RFC 9449 §4.2). Anyone can send a proof with a key of their
/// choosing, and verification cost grows with the square of the modulus
/// size or faster: an 8192-bit key costs about 16 times a 2048-bit one.
/// 4096 bits is the largest size in common use.
pub const DPOP_RSA_MAX_BITS: usize = 4096;

/// Why a JWK was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwkError {
    /// Not a JSON object with string members.
    #[error("jwk is not a valid JSON object")]
    Malformed,
    /// The JWK contains private key members (`d`, `p`, `q`, `dp`, `dq`, `qi`,
    /// `oth`) or a symmetric key (`k`): a DPoP proof must carry only the public
    /// key (RFC 9449 §4.3 item 7).
    #[error("jwk contains private key material; only the public key may be sent")]
    PrivateKeyMaterial,
    /// `kty` missing or not `EC`/`RSA`.
    #[error("unsupported jwk kty: expected \"EC\" or \"RSA\"")]
    UnsupportedKeyType,
    /// An EC key on a curve other than P-256.
    #[error("unsupported EC curve: expected \"P-256\"")]
    UnsupportedCurve,
    /// A required member is missing.
    #[error("jwk is missing member \"{0}\"")]
    MissingMember(&'static str),
    /// A member is not canonical base64url or has the wrong length.
    #[error("jwk member \"{0}\" is not valid unpadded base64url of the expected length")]
    BadMember(&'static str),
    /// The EC point is not on P-256.
    #[error("EC public key is not a valid P-256 point")]
    InvalidPoint,
    /// The RSA key is outside the accepted size ([`RSA_MIN_BITS`] to
    /// [`RSA_MAX_BITS`], or [`DPOP_RSA_MAX_BITS`] in a DPoP proof) or has a
    /// bad exponent.
    #[error(
        "RSA public key rejected: modulus must be 2048 to 8192 bits (at most 4096 in a DPoP proof) without leading zeros, exponent odd and > 1"
    )]
    InvalidRsaKey,
}

/// Why a signature check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The algorithm needs another key type (e.g. `ES256` with an RSA key).
    #[error("alg does not match the key type")]
    AlgKeyMismatch,
    /// The signature does not verify.
    #[error("signature does not verify")]
    Invalid,
}

/// A public EC key on P-256.
#[derive(Clone, PartialEq, Eq)]
pub struct EcPublicJwk {
    x: [u8; 32],
    y: [u8; 32],
}

/// A public RSA key.
#[derive(Clone, PartialEq, Eq)]
pub struct RsaPublicJwk {
    n: Vec<u8>,
    e: Vec<u8>,
}

/// A validated public JWK.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublicJwk {
    /// `kty: "EC"`, `crv: "P-256"`.
    Ec(EcPublicJwk),
    /// `kty: "RSA"`.
    Rsa(RsaPublicJwk),
}

/// A JWK as it appears in JSON, before validation. Deserialized by hand so
/// that only a JSON object is accepted (serde's derived structs also take
/// arrays), member strings are borrowed, duplicates are refused, and private
/// members are noticed without being kept.
#[derive(Default)]
pub(crate) struct RawJwk<'a> {
    kty: Option<Cow<'a, str>>,
    crv: Option<Cow<'a, str>>,
    x: Option<Cow<'a, str>>,
    y: Option<Cow<'a, str>>,
    n: Option<Cow<'a, str>>,
    e: Option<Cow<'a, str>>,
    private: bool,
}

/// A string borrowed from the input when it has no escapes.
struct CowStr<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for CowStr<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl<'de> Visitor<'de> for StrVisitor {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(StrVisitor)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RawJwk<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct JwkVisitor;
        impl<'de> Visitor<'de> for JwkVisitor {
            type Value = RawJwk<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JWK object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut jwk = RawJwk::default();
                while let Some(CowStr(name)) = map.next_key()? {
                    let slot = match name.as_ref() {
                        "kty" => &mut jwk.kty,
                        "crv" => &mut jwk.crv,
                        "x" => &mut jwk.x,
                        "y" => &mut jwk.y,
                        "n" => &mut jwk.n,
                        "e" => &mut jwk.e,
                        "d" | "p" | "q" | "dp" | "dq" | "qi" | "oth" | "k" => {
                            map.next_value::<IgnoredAny>()?;
                            jwk.private = true;
                            continue;
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    if slot.is_some() {
                        return Err(de::Error::custom("duplicate JWK member"));
                    }
                    *slot = Some(map.next_value::<CowStr<'de>>()?.0);
                }
                Ok(jwk)
            }
        }
        deserializer.deserialize_map(JwkVisitor)
    }
}

impl EcPublicJwk {
    /// Builds the JWK from affine coordinates, checking the point is on P-256.
    pub fn from_coordinates(x: [u8; 32], y: [u8; 32]) -> Result<Self, JwkError> {
        let key = Self { x, y };
        key.to_p256()?;
        Ok(key)
    }

    /// Builds the JWK from a `p256` public key.
    pub fn from_p256(key: &p256::PublicKey) -> Self {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        let point = key.to_encoded_point(false);
        let mut x = [0u8; 32];
        let mut y = [0u8; 32];
        // An uncompressed encoding of a non-identity point always has both
        // coordinates; `PublicKey` cannot be the identity.
        if let (Some(px), Some(py)) = (point.x(), point.y()) {
            x.copy_from_slice(px);
            y.copy_from_slice(py);
        }
        Self { x, y }
    }

    /// The key as a `p256` public key.
    pub fn to_p256(&self) -> Result<p256::PublicKey, JwkError> {
        p256::PublicKey::from_sec1_bytes(&self.sec1()).map_err(|_| JwkError::InvalidPoint)
    }

    /// The uncompressed SEC1 encoding `0x04 || x || y`.
    pub fn sec1(&self) -> [u8; 65] {
        let mut point = [0u8; 65];
        point[0] = 4;
        point[1..33].copy_from_slice(&self.x);
        point[33..].copy_from_slice(&self.y);
        point
    }
}

impl RsaPublicJwk {
    /// Builds the JWK from big-endian modulus and exponent, validating them.
    pub fn from_components(n: &[u8], e: &[u8]) -> Result<Self, JwkError> {
        let key = Self {
            n: n.to_vec(),
            e: e.to_vec(),
        };
        key.to_rsa()?;
        Ok(key)
    }

    /// Builds the JWK from an `rsa` public key.
    pub fn from_rsa(key: &rsa::RsaPublicKey) -> Self {
        use rsa::traits::PublicKeyParts;
        Self {
            n: key.n().to_bytes_be(),
            e: key.e().to_bytes_be(),
        }
    }

    /// The key as an `rsa` public key.
    pub fn to_rsa(&self) -> Result<rsa::RsaPublicKey, JwkError> {
        let bits = self.modulus_bits();
        if self.n.first() == Some(&0)
            || self.e.first() == Some(&0)
            || !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits)
        {
            return Err(JwkError::InvalidRsaKey);
        }
        rsa::RsaPublicKey::new_with_max_size(
            rsa::BigUint::from_bytes_be(&self.n),
            rsa::BigUint::from_bytes_be(&self.e),
            RSA_MAX_BITS,
        )
        .map_err(|_| JwkError::InvalidRsaKey)
    }

    /// The size of the modulus in bits.
    pub fn modulus_bits(&self) -> usize {
        bit_length(&self.n)
    }
}

/// The size in bits of a big-endian number given without leading zero
/// bytes (an upper bound when there are some; such keys are refused anyway).
fn bit_length(n: &[u8]) -> usize {
    match n.first() {
        Some(&top) => n.len() * 8 - top.leading_zeros() as usize,
        None => 0,
    }
}

impl PublicJwk {
    /// Parses and validates a JWK from its JSON text. RSA keys may have up
    /// to [`RSA_MAX_BITS`] (a DPoP proof's key is limited to
    /// [`DPOP_RSA_MAX_BITS`] by the proof parser).
    pub fn from_json(json: &str) -> Result<Self, JwkError> {
        // `RawJwk` accepts JSON objects only.
        let raw: RawJwk<'_> = serde_json::from_str(json).map_err(|_| JwkError::Malformed)?;
        Self::from_raw_with_max(&raw, RSA_MAX_BITS)
    }

    /// Parses and validates a JWK from a JSON value (as for the keys of a
    /// JWKS). RSA keys may have up to [`RSA_MAX_BITS`].
    pub fn from_value(value: &serde_json::Value) -> Result<Self, JwkError> {
        let raw = RawJwk::deserialize(value).map_err(|_| JwkError::Malformed)?;
        Self::from_raw_with_max(&raw, RSA_MAX_BITS)
    }

    /// Validates the `jwk` header of a DPoP proof: RSA keys are limited to
    /// [`DPOP_RSA_MAX_BITS`], as the sender chooses the key (RFC 9449 §11).
    pub(crate) fn from_raw(raw: &RawJwk<'_>) -> Result<Self, JwkError> {
        Self::from_raw_with_max(raw, DPOP_RSA_MAX_BITS)
    }

    /// Validates `raw`, accepting RSA moduli of at most `rsa_max_bits`
    /// (itself at most [`RSA_MAX_BITS`]).
    fn from_raw_with_max(raw: &RawJwk<'_>, rsa_max_bits: usize) -> Result<Self, JwkError> {
        if raw.private {
            return Err(JwkError::PrivateKeyMaterial);
        }
        match raw.kty.as_deref() {
            Some("EC") => {
                if raw.crv.as_deref() != Some("P-256") {
                    return Err(if raw.crv.is_none() {
                        JwkError::MissingMember("crv")
                    } else {
                        JwkError::UnsupportedCurve
                    });
                }
                let x = member(raw.x.as_deref(), "x")?;
                let y = member(raw.y.as_deref(), "y")?;
                let x = b64::decode_array::<32>(x).map_err(|_| JwkError::BadMember("x"))?;
                let y = b64::decode_array::<32>(y).map_err(|_| JwkError::BadMember("y"))?;
                Ok(PublicJwk::Ec(EcPublicJwk::from_coordinates(x, y)?))
            }
            Some("RSA") => {
                let n = member(raw.n.as_deref(), "n")?;
                let e = member(raw.e.as_deref(), "e")?;
                // Bound the work before decoding: a modulus of `rsa_max_bits`
                // is ceil(bits / 6) characters (683 for 4096, 1366 for 8192).
                if n.len() > rsa_max_bits.div_ceil(6) || e.len() > 12 {
                    return Err(JwkError::InvalidRsaKey);
                }
                let n = b64::decode(n).map_err(|_| JwkError::BadMember("n"))?;
                let e = b64::decode(e).map_err(|_| JwkError::BadMember("e"))?;
                // The exact size, before any arithmetic on the key.
                if bit_length(&n) > rsa_max_bits {
                    return Err(JwkError::InvalidRsaKey);
                }
                Ok(PublicJwk::Rsa(RsaPublicJwk::from_components(&n, &e)?))
            }
            Some("oct") => Err(JwkError::PrivateKeyMaterial),
            Some(_) => Err(JwkError::UnsupportedKeyType),
            None => Err(JwkError::MissingMember("kty")),
        }
    }

    /// Whether `alg` is usable with this key type.
    pub fn supports(&self, alg: Algorithm) -> bool {
        match self {
            PublicJwk::Ec(_) => alg == Algorithm::ES256,
            PublicJwk::Rsa(_) => alg.is_rsa(),
        }
    }

    /// The RFC 7638 thumbprint: base64url(SHA-256(canonical JSON of the
    /// required members, in lexicographic order, without whitespace)).
    pub fn thumbprint(&self) -> String {
        let canonical = self.canonical_json();
        b64::encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            canonical.as_bytes(),
        ))
    }

    /// The JSON object of the required public members, in RFC 7638 order.
    /// It is also a complete public JWK, suitable for a proof's `jwk` header.
    pub fn canonical_json(&self) -> String {
        let mut out = String::with_capacity(160);
        match self {
            PublicJwk::Ec(k) => {
                out.push_str(r#"{"crv":"P-256","kty":"EC","x":""#);
                b64::encode_into(k.x, &mut out);
                out.push_str(r#"","y":""#);
                b64::encode_into(k.y, &mut out);
            }
            PublicJwk::Rsa(k) => {
                out.push_str(r#"{"e":""#);
                b64::encode_into(&k.e, &mut out);
                out.push_str(r#"","kty":"RSA","n":""#);
                b64::encode_into(&k.n, &mut out);
            }
        }
        out.push_str("\"}");
        out
    }

    /// Verifies a JWS signature made with `alg` over `message`.
    pub fn verify(&self, alg: Algorithm, message: &[u8], sig: &[u8]) -> Result<(), SignatureError> {
        if !self.supports(alg) {
            return Err(SignatureError::AlgKeyMismatch);
        }
        let result = match self {
            PublicJwk::Ec(k) => {
                // JWS ES256 signatures are the fixed 64-byte r || s form (RFC 7518 §3.4).
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, k.sec1())
                    .verify(message, sig)
            }
            PublicJwk::Rsa(k) => RsaPublicKeyComponents {
                n: &k.n[..],
                e: &k.e[..],
            }
            .verify(rsa_params(alg), message, sig),
        };
        result.map_err(|_| SignatureError::Invalid)
    }
}

/// A public key parsed once by aws-lc for one algorithm, to verify many
/// signatures without rebuilding the key each time (for the keys of a JWKS;
/// a DPoP proof's key is used once and verified with [`PublicJwk::verify`]).
#[derive(Clone)]
pub struct PreparedKey {
    alg: Algorithm,
    key: signature::ParsedPublicKey,
}

impl PreparedKey {
    /// The algorithm the key verifies.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// Verifies a JWS signature over `message`.
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> Result<(), SignatureError> {
        self.key
            .verify_sig(message, sig)
            .map_err(|_| SignatureError::Invalid)
    }
}

impl fmt::Debug for PreparedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedKey")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl PublicJwk {
    /// Parses the key once for verifying `alg` signatures.
    pub fn prepare(&self, alg: Algorithm) -> Result<PreparedKey, SignatureError> {
        if !self.supports(alg) {
            return Err(SignatureError::AlgKeyMismatch);
        }
        let key = match self {
            PublicJwk::Ec(k) => {
                signature::ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, k.sec1())
            }
            PublicJwk::Rsa(k) => RsaPublicKeyComponents {
                n: &k.n[..],
                e: &k.e[..],
            }
            .to_parsed_public_key(rsa_params(alg)),
        };
        key.map(|key| PreparedKey { alg, key })
            .map_err(|_| SignatureError::Invalid)
    }
}

fn rsa_params(alg: Algorithm) -> &'static signature::RsaParameters {
    if alg == Algorithm::PS256 {
        &signature::RSA_PSS_2048_8192_SHA256
    } else {
        &signature::RSA_PKCS1_2048_8192_SHA256
    }
}

fn member<'a>(value: Option<&'a str>, name: &'static str) -> Result<&'a str, JwkError> {
    value.ok_or(JwkError::MissingMember(name))
}

impl fmt::Debug for PublicJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicJwk")
            .field(
                "kty",
                &match self {
                    PublicJwk::Ec(_) => "EC",
                    PublicJwk::Rsa(_) => "RSA",
                },
            )
            .field("jkt", &self.thumbprint())
            .finish()
    }
}

impl fmt::Debug for EcPublicJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EcPublicJwk")
            .field("x", &b64::encode(self.x))
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for RsaPublicJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaPublicJwk")
            .field("bits", &self.modulus_bits())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7638 §3.1: the example RSA key and its thumbprint.
    const RFC7638_JWK: &str = r#"{
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29"
    }"#;

    #[test]
    fn rfc7638_thumbprint_example() {
        let jwk = PublicJwk::from_json(RFC7638_JWK).unwrap();
        assert_eq!(
            jwk.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    /// RFC 9449 §4.1 figure 3: the example proof's EC key.
    const RFC9449_JWK: &str = r#"{"kty":"EC","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","crv":"P-256"}"#;

    #[test]
    fn parses_rfc9449_example_key() {
        let jwk = PublicJwk::from_json(RFC9449_JWK).unwrap();
        assert!(matches!(jwk, PublicJwk::Ec(_)));
        assert!(jwk.supports(Algorithm::ES256));
        assert!(!jwk.supports(Algorithm::RS256));
        // Canonical JSON re-parses to the same key.
        assert_eq!(PublicJwk::from_json(&jwk.canonical_json()).unwrap(), jwk);
    }

    #[test]
    fn refuses_private_members() {
        for m in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            let json = RFC9449_JWK.replacen('{', &format!(r#"{{"{m}":"AAAA","#), 1);
            assert_eq!(
                PublicJwk::from_json(&json),
                Err(JwkError::PrivateKeyMaterial),
                "{m}"
            );
        }
        let oth = RFC9449_JWK.replacen('{', r#"{"oth":[],"#, 1);
        assert_eq!(
            PublicJwk::from_json(&oth),
            Err(JwkError::PrivateKeyMaterial)
        );
        assert_eq!(
            PublicJwk::from_json(r#"{"kty":"oct","k":"c2VjcmV0"}"#),
            Err(JwkError::PrivateKeyMaterial)
        );
    }

    #[test]
    fn refuses_point_off_curve_and_bad_members() {
        let off = RFC9449_JWK.replace(
            "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
            &b64::encode([1u8; 32]),
        );
        assert_eq!(PublicJwk::from_json(&off), Err(JwkError::InvalidPoint));
        let short = RFC9449_JWK.replace("9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA", "9VE4");
        assert_eq!(PublicJwk::from_json(&short), Err(JwkError::BadMember("y")));
        let curve = RFC9449_JWK.replace("P-256", "P-384");
        assert_eq!(
            PublicJwk::from_json(&curve),
            Err(JwkError::UnsupportedCurve)
        );
        assert_eq!(
            PublicJwk::from_json(r#"{"kty":"OKP"}"#),
            Err(JwkError::UnsupportedKeyType)
        );
        assert_eq!(
            PublicJwk::from_json(r#"{"crv":"P-256"}"#),
            Err(JwkError::MissingMember("kty"))
        );
        assert_eq!(PublicJwk::from_json("[1,2]"), Err(JwkError::Malformed));
        assert_eq!(
            PublicJwk::from_json(r#"{"kty":5}"#),
            Err(JwkError::Malformed)
        );
    }

    #[test]
    fn refuses_small_rsa_keys() {
        let n = b64::encode([0xC5u8; 128]);
        let json = format!(r#"{{"kty":"RSA","n":"{n}","e":"AQAB"}}"#);
        assert_eq!(PublicJwk::from_json(&json), Err(JwkError::InvalidRsaKey));
        let mut lead = vec![0u8];
        lead.extend([0xC5u8; 256]);
        let json = format!(r#"{{"kty":"RSA","n":"{}","e":"AQAB"}}"#, b64::encode(lead));
        assert_eq!(PublicJwk::from_json(&json), Err(JwkError::InvalidRsaKey));
    }

    /// An RSA JWK with a random odd modulus of exactly `bits` bits (the
    /// size checks come before any arithmetic on the key).
    fn rsa_jwk_of_bits(bits: usize) -> String {
        let mut n = vec![0u8; bits.div_ceil(8)];
        aws_lc_rs::rand::fill(&mut n).unwrap();
        let top_bit = (bits - 1) % 8;
        n[0] &= u8::MAX >> (7 - top_bit);
        n[0] |= 1 << top_bit;
        *n.last_mut().unwrap() |= 1;
        format!(r#"{{"kty":"RSA","n":"{}","e":"AQAB"}}"#, b64::encode(&n))
    }

    /// What the DPoP proof parser uses.
    fn from_proof_header(json: &str) -> Result<PublicJwk, JwkError> {
        let raw: RawJwk<'_> = serde_json::from_str(json).unwrap();
        PublicJwk::from_raw(&raw)
    }

    #[test]
    fn dpop_proof_keys_are_capped_at_4096_bits() {
        for bits in [2048, 3072, 4095, 4096] {
            let json = rsa_jwk_of_bits(bits);
            let jwk = from_proof_header(&json).unwrap();
            let PublicJwk::Rsa(rsa) = &jwk else {
                panic!("not RSA")
            };
            assert_eq!(rsa.modulus_bits(), bits);
        }
        for bits in [4097, 4104, 6144, 8192] {
            let json = rsa_jwk_of_bits(bits);
            assert_eq!(
                from_proof_header(&json),
                Err(JwkError::InvalidRsaKey),
                "{bits}"
            );
        }
        // Beyond what even a JWKS key may have: refused before decoding.
        let json = rsa_jwk_of_bits(8200);
        assert_eq!(from_proof_header(&json), Err(JwkError::InvalidRsaKey));
    }

    #[test]
    fn configured_keys_may_have_8192_bits() {
        for bits in [4097, 6144, 8192] {
            let json = rsa_jwk_of_bits(bits);
            assert!(PublicJwk::from_json(&json).is_ok(), "{bits}");
            let value: serde_json::Value = serde_json::from_str(&json).unwrap();
            assert!(PublicJwk::from_value(&value).is_ok(), "{bits}");
        }
        for bits in [8193, 8200, 16384] {
            let json = rsa_jwk_of_bits(bits);
            assert_eq!(
                PublicJwk::from_json(&json),
                Err(JwkError::InvalidRsaKey),
                "{bits}"
            );
        }
    }

    #[test]
    fn debug_shows_no_key_bytes_beyond_thumbprint() {
        let jwk = PublicJwk::from_json(RFC7638_JWK).unwrap();
        let dbg = format!("{jwk:?}");
        assert!(dbg.contains("NzbLsXh8uDCcd"));
        assert!(!dbg.contains("0vx7ago"));
    }
}
