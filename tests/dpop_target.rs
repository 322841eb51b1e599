//! The request URI a DPoP proof's `htu` is checked against when it comes from
//! the request ([`RequestTarget::from_request`]) or from trusted forwarded
//! headers: injections through `Host`, the absolute-form URI, `Forwarded` and
//! `X-Forwarded-*` are refused (400 `invalid_request`), well-formed hosts,
//! ports and IPv6 literals work, and only the value the nearest proxy appended
//! is read. Also the size cap on RSA keys in proofs (RFC 9449 §11).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::sync::OnceLock;

use common::{ProofBuilder, Reply, TOKEN, call_layer, clock, es256, layer_builder, logs, now};
use http::{Request, StatusCode};
use mcp_tower_layers::dpop::{DpopError, RequestFacts, RequestTarget};
use mcp_tower_layers::jose::{Algorithm, JwkError, b64};
use mcp_tower_layers::keys::DpopKey;
use serde_json::Value;

// ---------------------------------------------------------------------------
// Helpers.

/// A `POST` to `uri` with the given headers, a proof for `htu` and
/// `Authorization: DPoP` [`TOKEN`].
fn post(uri: &str, headers: &[(&str, &str)], htu: &str) -> Request<()> {
    let proof = ProofBuilder::new(es256(), "POST", htu, now(), Some(TOKEN)).build();
    let mut builder = Request::post(uri)
        .header("dpop", proof)
        .header("authorization", format!("DPoP {TOKEN}"));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap()
}

async fn send(target: RequestTarget, request: Request<()>) -> Reply {
    call_layer(layer_builder(&clock()).target(target), request).await
}

/// `POST /mcp` with `headers` and a proof for `https://mcp.example.com/mcp`.
async fn send_mcp(target: RequestTarget, headers: &[(&str, &str)]) -> Reply {
    send(target, post("/mcp", headers, "https://mcp.example.com/mcp")).await
}

/// The proof was accepted for `htu`.
fn assert_accepted(reply: &Reply, htu: &str) {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.everything());
    assert_eq!(reply.body["htu"], htu, "{}", reply.text);
}

/// Refused because the request URI could not be determined.
fn assert_unknown_uri(reply: &Reply, what: &str) {
    assert_eq!(
        reply.status,
        StatusCode::BAD_REQUEST,
        "{what}: {}",
        reply.everything()
    );
    assert_eq!(reply.body["error"], "invalid_request", "{what}");
    assert_eq!(
        reply.body["error_description"],
        DpopError::UnknownRequestUri.to_string(),
        "{what}"
    );
}

fn plain() -> RequestTarget {
    RequestTarget::from_request(false)
}

// ---------------------------------------------------------------------------
// Host and absolute-form URI.

/// The path confusion of the review: `Host: victim.example/any?` made the
/// checked URI `http://victim.example/any` whatever the path, so a proof
/// captured for `/any` passed on `/mcp`.
#[tokio::test]
async fn host_with_path_cannot_redirect_the_checked_path() {
    let reply = send(
        plain(),
        post(
            "/mcp",
            &[("host", "victim.example/any?")],
            "http://victim.example/any",
        ),
    )
    .await;
    assert_unknown_uri(&reply, "host with path");
}

#[tokio::test]
async fn host_injections_are_refused() {
    let injections = [
        "victim.example/any",
        "victim.example/any?",
        "victim.example?x",
        "victim.example#x",
        "victim.example#",
        "user@victim.example",
        "user:pass@victim.example",
        "victim.example any",
        "victim.example ",
        " victim.example",
        "victim.example\t",
        "",
        ":8080",
        "victim.example:80/x",
        "victim.example:8x",
        "victim.example:80:80",
        "victim.example\\any",
        "[::1]/x",
        "[::1",
        "[fe80::1%25eth0]",
        "[v1.future]",
        "victim\"example",
        "victim<example>",
    ];
    for host in injections {
        // A proof for what a naive concatenation would have produced.
        let htu = format!("http://{host}/mcp");
        let reply = send(plain(), post("/mcp", &[("host", host)], &htu)).await;
        assert_unknown_uri(&reply, &format!("Host {host:?}"));
    }
}

#[tokio::test]
async fn several_host_headers_are_refused() {
    let htu = "http://a.example/mcp";
    let mut request = post("/mcp", &[("host", "a.example")], htu);
    request
        .headers_mut()
        .append("host", "a.example".parse().unwrap());
    assert_unknown_uri(&send(plain(), request).await, "two equal Host");
    let mut request = post("/mcp", &[("host", "a.example")], htu);
    request
        .headers_mut()
        .append("host", "b.example".parse().unwrap());
    assert_unknown_uri(&send(plain(), request).await, "two Host");
}

#[tokio::test]
async fn absolute_form_with_userinfo_is_refused_and_not_logged() {
    let uri = "http://alice:s3cret-pw@victim.example/mcp";
    let reply = send(plain(), post(uri, &[], "http://victim.example/mcp")).await;
    assert_unknown_uri(&reply, "absolute-form with userinfo");
    let reply = send(
        plain(),
        post(
            "https://alice@victim.example:8443/mcp",
            &[("host", "victim.example:8443")],
            "https://victim.example:8443/mcp",
        ),
    )
    .await;
    assert_unknown_uri(&reply, "absolute-form with user");
    assert!(!logs().text().contains("s3cret-pw"), "{}", logs().text());
}

#[tokio::test]
async fn absolute_form_other_scheme_is_refused() {
    let reply = send(
        plain(),
        post("ftp://victim.example/mcp", &[], "http://victim.example/mcp"),
    )
    .await;
    assert_unknown_uri(&reply, "ftp absolute-form");
}

#[tokio::test]
async fn normal_hosts_ports_and_ip_literals_work() {
    let cases = [
        ("mcp.example.com", "http://mcp.example.com/mcp"),
        ("MCP.Example.COM", "http://mcp.example.com/mcp"),
        ("mcp.example.com:80", "http://mcp.example.com/mcp"),
        ("mcp.example.com:", "http://mcp.example.com/mcp"),
        ("mcp.example.com:8080", "http://mcp.example.com:8080/mcp"),
        ("localhost:3000", "http://localhost:3000/mcp"),
        ("127.0.0.1", "http://127.0.0.1/mcp"),
        ("127.0.0.1:8080", "http://127.0.0.1:8080/mcp"),
        ("[::1]", "http://[::1]/mcp"),
        ("[::1]:8080", "http://[::1]:8080/mcp"),
        ("[2001:DB8::1]:80", "http://[2001:db8::1]/mcp"),
        ("xn--bcher-kva.example", "http://xn--bcher-kva.example/mcp"),
    ];
    for (host, htu) in cases {
        let reply = send(plain(), post("/mcp?q=1", &[("host", host)], htu)).await;
        assert_accepted(&reply, htu);
    }
    // With `https` assumed.
    let reply = send(
        RequestTarget::from_request(true),
        post(
            "/mcp",
            &[("host", "mcp.example.com:443")],
            "https://mcp.example.com/mcp",
        ),
    )
    .await;
    assert_accepted(&reply, "https://mcp.example.com/mcp");
    // Absolute-form (or HTTP/2 :authority) wins over Host, as before.
    let reply = send(
        plain(),
        post(
            "https://[::1]:8443/mcp",
            &[("host", "ignored.example")],
            "https://[::1]:8443/mcp",
        ),
    )
    .await;
    assert_accepted(&reply, "https://[::1]:8443/mcp");
}

// ---------------------------------------------------------------------------
// Forwarded (RFC 7239).

fn rfc7239() -> RequestTarget {
    plain().trust_rfc7239_forwarded()
}

fn x_forwarded() -> RequestTarget {
    plain().trust_x_forwarded()
}

#[tokio::test]
async fn forwarded_first_element_from_client_is_ignored() {
    // The client sent the first element; the proxy appended the last.
    let forwarded = r#"for=6.6.6.6;proto=http;host="victim.example", for=203.0.113.7;proto=https;host=mcp.example.com"#;
    let headers = [("host", "internal:8080"), ("forwarded", forwarded)];
    let reply = send_mcp(rfc7239(), &headers).await;
    assert_accepted(&reply, "https://mcp.example.com/mcp");
    let reply = send(
        rfc7239(),
        post("/mcp", &headers, "http://victim.example/mcp"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
}

#[tokio::test]
async fn forwarded_last_field_line_is_used() {
    let mut request = post(
        "/mcp",
        &[
            ("host", "internal"),
            ("forwarded", "proto=http;host=victim.example"),
        ],
        "https://mcp.example.com/mcp",
    );
    request.headers_mut().append(
        "forwarded",
        "for=192.0.2.1;proto=https;host=mcp.example.com"
            .parse()
            .unwrap(),
    );
    assert_accepted(
        &send(rfc7239(), request).await,
        "https://mcp.example.com/mcp",
    );
}

#[tokio::test]
async fn forwarded_quoted_values_and_ipv6() {
    let cases = [
        (
            r#"for="[2001:db8::7]";proto="https";host="[::1]:8080""#,
            "https://[::1]:8080/mcp",
        ),
        (r#"host="[::1]";proto=HTTPS"#, "https://[::1]/mcp"),
        (
            r#"Host="mcp.example.com:8443";Proto="https""#,
            "https://mcp.example.com:8443/mcp",
        ),
        // Unquoted host:port, which some proxies send.
        (
            "proto=http;host=mcp.example.com:8080",
            "http://mcp.example.com:8080/mcp",
        ),
        // A quoted comma in a client element does not split the list.
        (
            r#"for=x;host="a,b", for=y;proto=https;host="mcp.example.com""#,
            "https://mcp.example.com/mcp",
        ),
        // Empty pairs and optional whitespace are tolerated.
        (
            "for=x, ;proto=https ; host=mcp.example.com;",
            "https://mcp.example.com/mcp",
        ),
    ];
    for (forwarded, htu) in cases {
        let headers = [("host", "internal"), ("forwarded", forwarded)];
        let reply = send(rfc7239(), post("/mcp", &headers, htu)).await;
        assert_accepted(&reply, htu);
    }
}

#[tokio::test]
async fn forwarded_parameters_missing_from_last_element_fall_back_to_request() {
    // `host` comes from the proxy's element only, never from a client one.
    let headers = [
        ("host", "mcp.example.com"),
        (
            "forwarded",
            "host=victim.example, for=192.0.2.1;proto=https",
        ),
    ];
    let reply = send_mcp(rfc7239(), &headers).await;
    assert_accepted(&reply, "https://mcp.example.com/mcp");
}

#[tokio::test]
async fn forwarded_injections_are_refused() {
    let injections = [
        r#"proto=https;host="victim.example/any?""#,
        r#"host="victim.example/any""#,
        r#"host="user@victim.example""#,
        r#"host="victim.example#x""#,
        r#"host="victim.example x""#,
        r#"host="""#,
        "host=victim.example/any",
        "proto=ftp;host=mcp.example.com",
        r#"proto="javascript";host=mcp.example.com"#,
        // Malformed last element: unclosed quote, no `=`, duplicate parameter.
        r#"for=x, host="mcp.example.com"#,
        "for=x, host",
        "host=mcp.example.com;host=victim.example",
        "proto=https;proto=http",
        // An empty last element: the proxy appended nothing.
        "for=x;host=victim.example,",
    ];
    for forwarded in injections {
        let headers = [("host", "mcp.example.com"), ("forwarded", forwarded)];
        let reply = send_mcp(rfc7239(), &headers).await;
        assert_unknown_uri(&reply, &format!("Forwarded {forwarded:?}"));
    }
}

#[tokio::test]
async fn forwarded_ignored_when_operator_trusts_x_forwarded() {
    // A proxy that sets only X-Forwarded-* passes the client's Forwarded on.
    let headers = [
        ("host", "internal"),
        ("forwarded", "proto=http;host=victim.example"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "mcp.example.com"),
    ];
    let reply = send_mcp(x_forwarded(), &headers).await;
    assert_accepted(&reply, "https://mcp.example.com/mcp");
    // And a malformed client Forwarded does not matter either.
    let headers = [
        ("host", "mcp.example.com"),
        ("forwarded", r#"host="victim.example/any?"#),
    ];
    let reply = send(
        x_forwarded(),
        post("/mcp", &headers, "http://mcp.example.com/mcp"),
    )
    .await;
    assert_accepted(&reply, "http://mcp.example.com/mcp");
}

#[tokio::test]
async fn x_forwarded_ignored_when_operator_trusts_forwarded() {
    let headers = [
        ("host", "mcp.example.com"),
        ("x-forwarded-proto", "http"),
        ("x-forwarded-host", "victim.example"),
        ("forwarded", "for=192.0.2.1;proto=https"),
    ];
    let reply = send_mcp(rfc7239(), &headers).await;
    assert_accepted(&reply, "https://mcp.example.com/mcp");
}

#[tokio::test]
#[allow(deprecated)]
async fn deprecated_guess_reads_last_elements() {
    let target = plain().trust_forwarded_headers();
    let headers = [
        ("host", "internal"),
        (
            "forwarded",
            "proto=http;host=victim.example, proto=https;host=mcp.example.com",
        ),
    ];
    let reply = send_mcp(target.clone(), &headers).await;
    assert_accepted(&reply, "https://mcp.example.com/mcp");
    let headers = [
        ("host", "internal"),
        ("x-forwarded-proto", "http, https"),
        ("x-forwarded-host", "victim.example, mcp.example.com"),
    ];
    let reply = send_mcp(target, &headers).await;
    assert_accepted(&reply, "https://mcp.example.com/mcp");
}

// ---------------------------------------------------------------------------
// X-Forwarded-Proto / X-Forwarded-Host.

#[tokio::test]
async fn x_forwarded_last_values_are_used() {
    let headers = [
        ("host", "internal"),
        ("x-forwarded-proto", "http,https"),
        ("x-forwarded-host", "victim.example, mcp.example.com:8443"),
    ];
    let htu = "https://mcp.example.com:8443/mcp";
    assert_accepted(&send(x_forwarded(), post("/mcp", &headers, htu)).await, htu);
    // Several field lines: the last line's last value.
    let mut request = post(
        "/mcp",
        &[
            ("host", "internal"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "victim.example"),
        ],
        "https://[::1]:8080/mcp",
    );
    request
        .headers_mut()
        .append("x-forwarded-host", "[::1]:8080".parse().unwrap());
    assert_accepted(
        &send(x_forwarded(), request).await,
        "https://[::1]:8080/mcp",
    );
}

#[tokio::test]
async fn x_forwarded_injections_are_refused() {
    let injections: [&[(&str, &str)]; 8] = [
        &[("x-forwarded-host", "victim.example/any?")],
        &[("x-forwarded-host", "mcp.example.com, victim.example/any")],
        &[("x-forwarded-host", "user:pw@victim.example")],
        &[("x-forwarded-host", "victim.example#")],
        &[("x-forwarded-host", "mcp.example.com,")],
        &[("x-forwarded-host", "")],
        &[("x-forwarded-proto", "ftp")],
        &[("x-forwarded-proto", "https,")],
    ];
    for injection in injections {
        let mut headers = vec![("host", "mcp.example.com")];
        headers.extend_from_slice(injection);
        let reply = send_mcp(x_forwarded(), &headers).await;
        assert_unknown_uri(&reply, &format!("{injection:?}"));
    }
}

#[tokio::test]
async fn forwarded_headers_ignored_unless_trusted() {
    let headers = [
        ("host", "mcp.example.com"),
        ("forwarded", "proto=https;host=victim.example"),
        ("x-forwarded-host", "victim.example"),
    ];
    let reply = send(
        plain(),
        post("/mcp", &headers, "http://mcp.example.com/mcp"),
    )
    .await;
    assert_accepted(&reply, "http://mcp.example.com/mcp");
    // Nor read with a public base URL, even when "trusted".
    let target = RequestTarget::public_base_url("https://mcp.example.com")
        .unwrap()
        .trust_rfc7239_forwarded()
        .trust_x_forwarded();
    let reply = send_mcp(target, &headers).await;
    assert_accepted(&reply, "https://mcp.example.com/mcp");
}

// ---------------------------------------------------------------------------
// RSA key size in proofs (RFC 9449 §11: the sender chooses the key).

fn rs256_4096() -> &'static DpopKey {
    static KEY: OnceLock<DpopKey> = OnceLock::new();
    KEY.get_or_init(|| DpopKey::generate_rsa(Algorithm::RS256, 4096).unwrap())
}

#[tokio::test]
async fn rsa_4096_proof_is_accepted() {
    let htu = "http://mcp.example.com/mcp";
    let proof = ProofBuilder::new(rs256_4096(), "POST", htu, now(), Some(TOKEN)).build();
    let verifier = common::verifier();
    let facts = RequestFacts {
        method: "POST",
        uri: htu,
        access_token: Some(TOKEN),
    };
    let _checked = verifier.verify(&proof, facts).unwrap();
}

#[tokio::test]
async fn rsa_proof_key_over_4096_bits_is_refused() {
    let htu = "http://mcp.example.com/mcp";
    for bits in [4097usize, 6144, 8192] {
        // A random odd modulus of exactly `bits` bits: the size is checked
        // before any arithmetic, so it need not be a real key.
        let mut n = vec![0u8; bits.div_ceil(8)];
        aws_lc_rs::rand::fill(&mut n).unwrap();
        let top = (bits - 1) % 8;
        n[0] &= u8::MAX >> (7 - top);
        n[0] |= 1 << top;
        *n.last_mut().unwrap() |= 1;
        let jwk: Value = serde_json::json!({ "kty": "RSA", "n": b64::encode(&n), "e": "AQAB" });
        let proof = ProofBuilder::new(rs256_4096(), "POST", htu, now(), Some(TOKEN))
            .header("jwk", jwk)
            .build();
        let facts = RequestFacts {
            method: "POST",
            uri: htu,
            access_token: Some(TOKEN),
        };
        assert_eq!(
            common::verifier().verify(&proof, facts).unwrap_err(),
            DpopError::InvalidJwk(JwkError::InvalidRsaKey),
            "{bits}"
        );
    }
}
