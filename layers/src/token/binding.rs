//! DPoP binding of access tokens (RFC 9449 §6 and §7): a token whose claims
//! carry `cnf.jkt` is only good with the `DPoP` scheme and a verified proof
//! made with that very key.

use crate::authorization::TokenScheme;
use crate::dpop::VerifiedDpop;

/// A binding rule that a request broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BindingError {
    /// A DPoP-bound token sent with `Bearer`: a downgrade (RFC 9449 §7.2).
    #[error("this access token is DPoP-bound: send it as Authorization: DPoP with a proof")]
    BoundTokenAsBearer,
    /// `DPoP` scheme, but no verified proof reached this layer.
    #[error("no verified DPoP proof for a DPoP-scheme token")]
    MissingProof,
    /// The proof was made with another key than the token is bound to.
    #[error("the DPoP proof key does not match the key the access token is bound to")]
    KeyMismatch,
    /// An unbound token sent with `DPoP`, which this resource refuses.
    #[error("this access token is not DPoP-bound; send it as Authorization: Bearer")]
    UnboundTokenAsDpop,
}

/// Checks the binding between a token's `cnf.jkt`, the scheme it came with
/// and the proof [`DpopLayer`](crate::dpop::DpopLayer) verified.
pub fn check(
    scheme: TokenScheme,
    cnf_jkt: Option<&str>,
    proof: Option<&VerifiedDpop>,
    allow_unbound_dpop: bool,
) -> Result<(), BindingError> {
    match (cnf_jkt, scheme) {
        (Some(_), TokenScheme::Bearer) => Err(BindingError::BoundTokenAsBearer),
        (Some(jkt), _) => match proof {
            None => Err(BindingError::MissingProof),
            // Thumbprints are public values: a plain comparison is fine.
            Some(proof) if proof.jkt == jkt => Ok(()),
            Some(_) => Err(BindingError::KeyMismatch),
        },
        (None, TokenScheme::Bearer) => Ok(()),
        (None, _) if !allow_unbound_dpop => Err(BindingError::UnboundTokenAsDpop),
        (None, _) => proof.map(|_| ()).ok_or(BindingError::MissingProof),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::Algorithm;

    fn proof(jkt: &str) -> VerifiedDpop {
        VerifiedDpop {
            jkt: jkt.into(),
            alg: Algorithm::ES256,
            htm: "POST".into(),
            htu: "https://r/mcp".into(),
            iat: 0,
            jti: "j".into(),
            token_bound: true,
        }
    }

    #[test]
    fn rules() {
        use BindingError::*;
        use TokenScheme::{Bearer, Dpop};
        let p = proof("k1");
        assert_eq!(check(Dpop, Some("k1"), Some(&p), false), Ok(()));
        assert_eq!(
            check(Bearer, Some("k1"), Some(&p), false),
            Err(BoundTokenAsBearer)
        );
        assert_eq!(check(Dpop, Some("k2"), Some(&p), false), Err(KeyMismatch));
        assert_eq!(check(Dpop, Some("k1"), None, false), Err(MissingProof));
        assert_eq!(check(Bearer, None, None, false), Ok(()));
        assert_eq!(check(Dpop, None, Some(&p), false), Err(UnboundTokenAsDpop));
        assert_eq!(check(Dpop, None, Some(&p), true), Ok(()));
        assert_eq!(check(Dpop, None, None, true), Err(MissingProof));
    }
}
