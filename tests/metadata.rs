//! RFC 9728 protected resource metadata over loopback sockets: served next to
//! a `BearerLayer`-protected route whose 401 points at it, fetched with a
//! real client, and its `signed_metadata` verified with the signing key.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use mcp_tower_layers::bearer::{BearerLayer, BearerToken};
use mcp_tower_layers::challenge::ChallengeConfig;
use mcp_tower_layers::jose::{Algorithm, PublicJwk, b64};
use mcp_tower_layers::keys::DpopKey;
use mcp_tower_layers::metadata::{
    ProtectedResourceMetadata, ProtectedResourceMetadataLayer, ProtectedResourceMetadataService,
};
use tokio::net::TcpListener;
use tower::{Service, ServiceBuilder};

struct Server {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `service` on `listener` with hyper (HTTP/1.1).
fn serve<S, B>(listener: TcpListener, service: S) -> Server
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Server { task }
}

/// The protected app: says which token it got.
async fn app(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let scheme = request
        .extensions()
        .get::<BearerToken>()
        .map(|t| format!("{:?}", t.scheme()));
    Ok(Response::new(Full::new(Bytes::from(format!(
        "app: {}",
        scheme.unwrap_or_default()
    )))))
}

/// Decodes one base64url JWS part as JSON.
fn json_part(part: &str) -> serde_json::Value {
    serde_json::from_slice(&b64::decode(part).unwrap()).unwrap()
}

/// Verifies `signed_metadata` with `jwk` and compares its claims (minus
/// `iss`) with the rest of the document.
fn check_signed_metadata(document: &serde_json::Value, jwk: &PublicJwk) {
    let jwt = document["signed_metadata"].as_str().unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header = json_part(parts[0]);
    assert_eq!(
        header,
        serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": "metadata-key"})
    );
    let alg: Algorithm = header["alg"].as_str().unwrap().parse().unwrap();
    let signing_input = format!("{}.{}", parts[0], parts[1]);
    jwk.verify(
        alg,
        signing_input.as_bytes(),
        &b64::decode(parts[2]).unwrap(),
    )
    .unwrap();
    assert!(
        jwk.verify(alg, b"something else", &b64::decode(parts[2]).unwrap())
            .is_err()
    );
    let mut claims = json_part(parts[1]);
    assert_eq!(claims["iss"], "https://as.example");
    claims.as_object_mut().unwrap().remove("iss");
    let mut unsigned = document.clone();
    unsigned.as_object_mut().unwrap().remove("signed_metadata");
    assert_eq!(claims, unsigned);
}

#[tokio::test]
async fn bearer_401_points_at_the_metadata_which_is_served_and_signed() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let resource = format!("http://{addr}/mcp");

    let key = DpopKey::generate(Algorithm::ES256).unwrap();
    let jwk = key.jwk().clone();
    let metadata = ProtectedResourceMetadata::builder(&resource)
        .authorization_server("https://as.example")
        .scopes_supported(["tools:read", "tools:call"])
        .bearer_methods_supported(["header"])
        .dpop_signing_alg_values_supported(Algorithm::ALL)
        .resource_name("metadata test")
        .sign_with(key, "https://as.example")
        .signing_key_id("metadata-key")
        .build()
        .unwrap();
    let url = metadata.url().to_owned();
    assert_eq!(
        url,
        format!("http://{addr}/.well-known/oauth-protected-resource/mcp")
    );

    // The metadata route sits outside the auth layer.
    let service = ServiceBuilder::new()
        .layer(ProtectedResourceMetadataLayer::new(&metadata))
        .layer(BearerLayer::with_challenges(
            ChallengeConfig::new().resource_metadata(metadata.url()),
        ))
        .service_fn(app);
    let _server = serve(listener, service);
    let client = reqwest::Client::new();

    // 1. The 401 from /mcp carries resource_metadata="<url>".
    let response = client.post(&resource).body("{}").send().await.unwrap();
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(
        challenge.contains(&format!(r#"resource_metadata="{url}""#)),
        "{challenge}"
    );
    // With a token the app is reached.
    let response = client
        .post(&resource)
        .header("authorization", "Bearer opaque")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "app: Bearer");

    // 2. The URL from the challenge serves the document, without a token.
    let response = client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "public, max-age=3600");
    let text = response.text().await.unwrap();
    assert_eq!(text, metadata.as_json());
    let document: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(document["resource"], resource.as_str());
    assert_eq!(
        document["authorization_servers"],
        serde_json::json!(["https://as.example"])
    );
    assert_eq!(
        document["dpop_signing_alg_values_supported"],
        serde_json::json!(["ES256", "PS256", "RS256"])
    );
    assert!(
        document.get("jwks_uri").is_none(),
        "absent members are omitted"
    );

    // HEAD: same headers, no body.
    let response = client.head(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        response.headers()["content-length"],
        text.len().to_string().as_str()
    );
    assert!(response.bytes().await.unwrap().is_empty());

    // Other methods on the well-known path: 405 with Allow.
    let response = client.post(&url).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, HEAD");

    // 3. signed_metadata verifies with the key's JWK; its claims are the
    // document's members plus iss.
    check_signed_metadata(&document, &jwk);
}

#[tokio::test]
async fn standalone_service_answers_only_its_path() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let metadata = ProtectedResourceMetadata::builder(format!("http://{addr}"))
        .authorization_server(format!("http://{addr}/as"))
        .build()
        .unwrap();
    assert_eq!(
        metadata.url(),
        format!("http://{addr}/.well-known/oauth-protected-resource")
    );
    let service = ProtectedResourceMetadataService::new(&metadata)
        .max_age(std::time::Duration::from_secs(120));
    let _server = serve(listener, service);
    let client = reqwest::Client::new();

    let response = client.get(metadata.url()).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "public, max-age=120");
    assert_eq!(response.text().await.unwrap(), metadata.as_json());

    let response = client
        .get(format!("http://{addr}/mcp"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    let response = client.delete(metadata.url()).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, HEAD");
}
