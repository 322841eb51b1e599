//! `BearerLayer` (RFC 6750 §2.1, RFC 9449 §7.1) and the opt-in
//! `FormBodyTokenLayer` (RFC 6750 §2.2): each extraction rule, broken.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_tower::bearer::{BearerLayer, BearerToken, FormBodyTokenLayer, TokenScheme};
use mcp_tower::challenge::ChallengeConfig;
use tower::{Layer, ServiceBuilder, ServiceExt};

/// Echoes the token's scheme and length (never the token) and the body.
async fn echo(request: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
    let token = request.extensions().get::<BearerToken>().cloned();
    let body = request.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::json!({
        "scheme": token.as_ref().map(|t| format!("{:?}", t.scheme())),
        "len": token.as_ref().map(|t| t.secret().len()),
        "body": String::from_utf8_lossy(&body),
    });
    Ok(Response::new(Full::new(Bytes::from(json.to_string()))))
}

struct Reply {
    status: StatusCode,
    challenge: Option<String>,
    json: serde_json::Value,
}

async fn call(request: Request<Full<Bytes>>, form: bool) -> Reply {
    let bearer = BearerLayer::with_challenges(ChallengeConfig::new().realm("mcp"));
    let service = ServiceBuilder::new().layer(bearer).service_fn(echo);
    if form {
        let service = FormBodyTokenLayer::new().limit(1024).layer(service);
        reply(service.oneshot(request).await.unwrap()).await
    } else {
        reply(service.oneshot(request).await.unwrap()).await
    }
}

async fn reply<B: hyper::body::Body>(response: Response<B>) -> Reply
where
    B::Error: std::fmt::Debug,
{
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    Reply {
        status: parts.status,
        challenge: parts
            .headers
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned()),
        json: serde_json::from_slice(&bytes).unwrap(),
    }
}

fn get(headers: &[(&str, &str)]) -> Request<Full<Bytes>> {
    let mut builder = Request::get("http://h/mcp");
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    builder.body(Full::default()).unwrap()
}

#[tokio::test]
async fn reads_both_schemes() {
    let ok = call(get(&[("authorization", "Bearer abc.def")]), false).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.json["scheme"], "Bearer");
    let dpop = call(get(&[("authorization", "dpop abc")]), false).await;
    assert_eq!(dpop.json["scheme"], "Dpop");
}

#[tokio::test]
async fn missing_token_is_401_without_error_code() {
    let reply = call(get(&[]), false).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenge.as_deref(), Some(r#"Bearer realm="mcp""#));
    assert!(reply.json.get("error").is_none());
    let basic = call(get(&[("authorization", "Basic dXNlcjpwYXNz")]), false).await;
    assert_eq!(basic.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn duplicate_and_malformed_headers_are_400() {
    for headers in [
        &[("authorization", "Bearer a"), ("authorization", "Bearer b")][..],
        &[("authorization", "Bearer")][..],
        &[("authorization", "Bearer a b")][..],
        &[("authorization", "Bearer ä")][..],
    ] {
        let mut request = get(&[]);
        for (k, v) in headers {
            request
                .headers_mut()
                .append(*k, http::HeaderValue::from_bytes(v.as_bytes()).unwrap());
        }
        let reply = call(request, false).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{headers:?}");
        assert_eq!(reply.json["error"], "invalid_request");
        assert!(
            reply
                .challenge
                .unwrap()
                .starts_with(r#"Bearer error="invalid_request""#)
        );
    }
}

#[tokio::test]
async fn token_in_query_is_400_even_with_a_header() {
    for uri in [
        "http://h/mcp?x=1&access_token=secret-in-uri",
        "http://h/mcp?access%5Ftoken=secret-in-uri",
    ] {
        let mut request = get(&[("authorization", "Bearer a")]);
        *request.uri_mut() = uri.parse().unwrap();
        let reply = call(request, false).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(reply.json["error"], "invalid_request");
        let challenge = reply.challenge.unwrap();
        assert!(
            challenge.starts_with(r#"Bearer error="invalid_request""#),
            "{challenge}"
        );
        assert!(!challenge.contains("secret-in-uri"));
        assert!(!reply.json.to_string().contains("secret-in-uri"));
    }
}

#[tokio::test]
async fn huge_token_is_carried_to_the_validator_unchanged() {
    // Size limits belong to the HTTP server and the validator; extraction
    // must neither panic nor truncate.
    let token = "a".repeat(100_000);
    let reply = call(get(&[("authorization", &format!("Bearer {token}"))]), false).await;
    assert_eq!(reply.json["len"], 100_000);
}

fn form(body: &str, headers: &[(&str, &str)]) -> Request<Full<Bytes>> {
    let mut builder =
        Request::post("http://h/token").header("content-type", "application/x-www-form-urlencoded");
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    builder
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

#[tokio::test]
async fn form_tokens_are_off_by_default() {
    let reply = call(form("access_token=abc&x=1", &[]), false).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn form_token_layer_reads_the_body_and_passes_it_on() {
    let reply = call(form("x=1&access_token=abc%2Bdef", &[]), true).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["scheme"], format!("{:?}", TokenScheme::Bearer));
    assert_eq!(reply.json["len"], 7);
    assert_eq!(reply.json["body"], "x=1&access_token=abc%2Bdef");
}

#[tokio::test]
async fn form_token_layer_refuses_two_methods_two_tokens_and_big_bodies() {
    let both = call(
        form("access_token=abc", &[("authorization", "Bearer abc")]),
        true,
    )
    .await;
    assert_eq!(both.status, StatusCode::BAD_REQUEST);
    let two = call(form("access_token=a&access_token=b", &[]), true).await;
    assert_eq!(two.status, StatusCode::BAD_REQUEST);
    let big = call(
        form(&format!("access_token=a&pad={}", "x".repeat(2000)), &[]),
        true,
    )
    .await;
    assert_eq!(big.status, StatusCode::BAD_REQUEST);
    let malformed = call(form("access_token=a%20b", &[]), true).await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    // Other content types are not read: the header token is used.
    let json = Request::post("http://h/mcp")
        .header("content-type", "application/json")
        .header("authorization", "Bearer hdr")
        .body(Full::new(Bytes::from_static(b"{\"access_token\":\"x\"}")))
        .unwrap();
    let reply = call(json, true).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["len"], 3);
}
