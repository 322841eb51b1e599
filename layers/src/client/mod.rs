//! Client-side DPoP signing.
