//! Property tests of DPoP verification: every single-byte mutation of a valid
//! proof is refused, and every proof made by [`sign_proof`] is accepted.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::sync::OnceLock;

use common::mutation::mutation;
use common::{
    NOW, ProofBuilder, TOKEN, URL, call, clock, es256, layer_builder, ps256, rs256, runtime,
    service, verifier,
};
use http::{Method, Request, StatusCode};
use mcp_tower_layers::client::{ProofRequest, sign_proof};
use mcp_tower_layers::dpop::{DpopVerifier, RequestFacts, RequestTarget, htu};
use mcp_tower_layers::keys::DpopKey;
use proptest::prelude::*;

fn keys() -> [&'static DpopKey; 3] {
    [es256(), rs256(), ps256()]
}

/// One valid proof per key (signing RSA is slow: done once).
fn proofs() -> &'static [String; 3] {
    static PROOFS: OnceLock<[String; 3]> = OnceLock::new();
    PROOFS.get_or_init(|| keys().map(|key| ProofBuilder::valid(key).build()))
}

fn shared_verifier() -> &'static DpopVerifier {
    static VERIFIER: OnceLock<DpopVerifier> = OnceLock::new();
    VERIFIER.get_or_init(verifier)
}

fn facts() -> RequestFacts<'static> {
    RequestFacts {
        method: "POST",
        uri: URL,
        access_token: Some(TOKEN),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_single_byte_mutation_is_refused(key in 0..3usize, mutation in mutation()) {
        let original = &proofs()[key];
        prop_assert!(shared_verifier().verify(original, facts()).is_ok());
        let Some(mutated) = mutation.apply_lossy(original) else {
            return Err(TestCaseError::reject("the edit changed nothing"));
        };
        let result = shared_verifier().verify(&mutated, facts());
        prop_assert!(result.is_err(), "{mutation:?} accepted: {mutated}");
    }
}

/// RFC 9110 `token` characters, for method names.
const TCHAR: &str = "[!#$%&'*+.^_`|~0-9A-Za-z-]";

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(&["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"][..])
            .prop_map(str::to_owned),
        proptest::string::string_regex(&format!("{TCHAR}{{1,12}}")).unwrap(),
    ]
}

fn url() -> impl Strategy<Value = String> {
    let scheme = proptest::sample::select(&["http", "https", "HTTPS", "Http"][..]);
    let host = prop_oneof![
        "[a-zA-Z0-9]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?(\\.[a-zA-Z0-9]{1,6}){0,3}",
        "(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}",
        Just("[::1]".to_owned()),
    ];
    let port = proptest::option::of(0u16..);
    let path = "(/([A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2}){0,8}){0,4}";
    let query = "(\\?[A-Za-z0-9=&%/?._~-]{0,12})?(#[A-Za-z0-9]{0,6})?";
    (scheme, host, port, path, query).prop_map(|(scheme, host, port, path, query)| {
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        format!("{scheme}://{host}{port}{path}{query}")
    })
}

fn token() -> impl Strategy<Value = Option<String>> {
    proptest::option::of("[A-Za-z0-9._~+/-]{1,48}=*")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn sign_proof_output_verifies(
        key in 0..3usize,
        method in method(),
        url in url(),
        token in token(),
        nonce in proptest::option::of("[A-Za-z0-9_-]{1,32}"),
        age in -60i64..=300,
    ) {
        let key = keys()[key];
        let iat = NOW.checked_add_signed(-age).unwrap();
        let request = ProofRequest {
            method: &method,
            url: &url,
            access_token: token.as_deref(),
            nonce: nonce.as_deref(),
            iat,
        };
        let proof = sign_proof(key, &request).unwrap();
        let uri = htu::normalize(&url).unwrap();
        let facts = RequestFacts { method: &method, uri: &uri, access_token: token.as_deref() };
        let checked = shared_verifier().verify(&proof, facts).unwrap();
        prop_assert_eq!(checked.verified.jkt.as_str(), key.thumbprint());
        prop_assert_eq!(checked.verified.alg, key.alg());
        prop_assert_eq!(&checked.verified.htm, &method);
        prop_assert_eq!(&checked.verified.htu, &uri);
        prop_assert_eq!(checked.verified.iat, i64::try_from(iat).unwrap());
    }

    /// The same through the layer, which takes the URI from an absolute-form
    /// request and the token from `Authorization: DPoP`.
    #[test]
    fn sign_proof_output_passes_the_layer(
        key in 0..3usize,
        method in method(),
        url in url(),
        token in "[A-Za-z0-9._~+/-]{1,48}=*",
        age in -60i64..=300,
    ) {
        let key = keys()[key];
        let iat = NOW.checked_add_signed(-age).unwrap();
        let request = ProofRequest { method: &method, url: &url, access_token: Some(&token), nonce: None, iat };
        let proof = sign_proof(key, &request).unwrap();
        // http::Uri keeps no fragment; the layer never sees one.
        let target = url.split('#').next().unwrap();
        let uri: http::Uri = target.parse().unwrap();
        let req = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(uri)
            .header("dpop", &proof)
            .header("authorization", format!("DPoP {token}"))
            .body(())
            .unwrap();
        let layer = layer_builder(&clock()).target(RequestTarget::from_request(false)).build().unwrap();
        let reply = runtime().block_on(call(&service(&layer), req));
        prop_assert_eq!(reply.status, StatusCode::OK, "{}", reply.everything());
        prop_assert_eq!(reply.body["jkt"].as_str(), Some(key.thumbprint()));
        let expected = htu::normalize(&url).unwrap();
        prop_assert_eq!(reply.body["htu"].as_str(), Some(expected.as_str()));
    }
}
