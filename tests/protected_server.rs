//! The `protected_server` example's command-line contract, run as a real
//! process on 127.0.0.1:0: metadata, the full stack in front of the MCP
//! endpoint `/mcp` (Streamable HTTP), DPoP modes, and our `McpClient` with
//! DPoP signing calling its tools.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "support/examples.rs"]
mod examples;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use std::sync::Arc;

use examples::example_binary;
use mcp_tower::client::{ProofRequest, sign_proof};
use mcp_tower::clock::{Clock, SystemClock};
use mcp_tower::prelude::*;
use mcp_tower::services::client::McpClient;
use mcp_tower::services::protocol::ContentBlock;
use mcp_tower::services::transport::http_client::{StreamableHttpClient, hyper_client};

const ISSUER: &str = "https://as.example.com";
const AUDIENCE: &str = "https://mcp.example.com/mcp";

struct Server {
    child: Child,
    base: String,
    _dir: TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A temporary directory removed on drop.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn issuer_key() -> DpopKey {
    DpopKey::generate(Algorithm::ES256).unwrap()
}

fn jwks(key: &DpopKey) -> String {
    let jwk = key.jwk().canonical_json();
    format!(r#"{{"keys":[{{"kid":"k1","alg":"ES256",{}]}}"#, &jwk[1..])
}

fn token(key: &DpopKey, scope: &str, cnf: Option<&str>) -> String {
    let now = SystemClock.now_unix();
    let mut claims = serde_json::json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "scope": scope, "iat": now, "exp": now + 600});
    if let Some(jkt) = cnf {
        claims["cnf"] = serde_json::json!({ "jkt": jkt });
    }
    key.sign_compact(
        br#"{"alg":"ES256","typ":"at+jwt","kid":"k1"}"#,
        claims.to_string().as_bytes(),
    )
    .unwrap()
}

fn start(key: &DpopKey, extra: &[&str]) -> Server {
    let dir = std::env::temp_dir().join(format!(
        "mcp-tower-protected-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let jwks_path = dir.join("jwks.json");
    std::fs::write(&jwks_path, jwks(key)).unwrap();
    let mut child = Command::new(example_binary("protected_server"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--issuer",
            ISSUER,
            "--audience",
            AUDIENCE,
        ])
        .args(["--jwks-file", jwks_path.to_str().unwrap()])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .expect("first line names the address")
        .to_owned();
    Server {
        child,
        base,
        _dir: TempDir(dir),
    }
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    h.finish()
}

/// POSTs an MCP `initialize` to `/mcp` with `headers`.
async fn post(
    server: &Server,
    headers: &[(&str, String)],
) -> (u16, Vec<String>, serde_json::Value) {
    let initialize = serde_json::json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "test", "version": "1"}}
    });
    let mut request = reqwest::Client::new()
        .post(format!("{}/mcp", server.base))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(initialize.to_string());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let challenges = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let json = serde_json::from_str(&response.text().await.unwrap()).unwrap_or_default();
    (status, challenges, json)
}

#[tokio::test]
async fn serves_metadata_and_protects_mcp_with_bearer_tokens() {
    let key = issuer_key();
    let server = start(&key, &["--scope", "mcp:tools"]);

    let metadata: serde_json::Value = reqwest::get(format!(
        "{}/.well-known/oauth-protected-resource/mcp",
        server.base
    ))
    .await
    .unwrap()
    .json_or_panic()
    .await;
    assert_eq!(metadata["resource"], AUDIENCE);
    assert_eq!(metadata["authorization_servers"][0], ISSUER);
    assert_eq!(metadata["scopes_supported"][0], "mcp:tools");

    let (status, challenges, _) = post(&server, &[]).await;
    assert_eq!(status, 401);
    assert!(
        challenges[0].contains(
            "resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\""
        ),
        "{challenges:?}"
    );

    let (status, _, json) = post(
        &server,
        &[(
            "authorization",
            format!("Bearer {}", token(&key, "mcp:tools", None)),
        )],
    )
    .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(
        json["result"]["serverInfo"]["name"],
        "mcp-tower-protected-example"
    );
    let who = whoami(
        &server,
        &format!("Bearer {}", token(&key, "mcp:tools", None)),
        None,
    )
    .await;
    assert_eq!(who["sub"], "alice");
    assert_eq!(who["scopes"][0], "mcp:tools");
    assert!(who["jkt"].is_null());

    let (status, challenges, json) = post(
        &server,
        &[(
            "authorization",
            format!("Bearer {}", token(&key, "other", None)),
        )],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(json["error"], "insufficient_scope");
    assert!(challenges[0].contains("scope=\"mcp:tools\""));

    let forged = issuer_key();
    let (status, _, json) = post(
        &server,
        &[(
            "authorization",
            format!("Bearer {}", token(&forged, "mcp:tools", None)),
        )],
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(json["error"], "invalid_token");
}

#[tokio::test]
async fn dpop_required_with_nonce() {
    let key = issuer_key();
    let server = start(&key, &["--dpop", "required", "--nonce"]);
    let store =
        Arc::new(MemoryKeyStore::generate(Algorithm::ES256, RotationPolicy::default()).unwrap());
    let client_key = store.current().unwrap();
    let access = token(&key, "mcp:tools", Some(client_key.thumbprint()));
    let url = format!("{}/mcp", server.base);
    let proof = |nonce: Option<&str>| {
        let request = ProofRequest {
            method: "POST",
            url: &url,
            access_token: Some(&access),
            nonce,
            iat: SystemClock.now_unix(),
        };
        sign_proof(&client_key, &request).unwrap()
    };

    let (status, _, json) = post(&server, &[("authorization", format!("Bearer {access}"))]).await;
    assert_eq!(status, 401, "a bound token as Bearer is refused");
    assert_eq!(json["error"], "invalid_token");

    let response = reqwest::Client::new()
        .post(&url)
        .header("authorization", format!("DPoP {access}"))
        .header("dpop", proof(None))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let nonce = response.headers()["dpop-nonce"]
        .to_str()
        .unwrap()
        .to_owned();

    let (status, _, json) = post(
        &server,
        &[
            ("authorization", format!("DPoP {access}")),
            ("dpop", proof(Some(&nonce))),
        ],
    )
    .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["result"]["protocolVersion"], "2025-11-25");

    // Our client, signing every request (and answering nonce challenges).
    let keys: Arc<dyn KeyStore> = store;
    let who = whoami(&server, &format!("DPoP {access}"), Some(keys)).await;
    assert_eq!(who["sub"], "alice");
    assert_eq!(who["jkt"], client_key.thumbprint());
}

/// Calls the `whoami` tool with our `McpClient` over Streamable HTTP,
/// sending `authorization` and, with `keys`, signing DPoP proofs.
async fn whoami(
    server: &Server,
    authorization: &str,
    keys: Option<Arc<dyn KeyStore>>,
) -> serde_json::Value {
    let url = format!("{}/mcp", server.base);
    let builder = StreamableHttpClient::builder(&url).header("authorization", authorization);
    let client = match keys {
        Some(keys) => {
            let http = tower::ServiceBuilder::new()
                .layer(DpopSigningLayer::new(keys))
                .service(hyper_client());
            McpClient::builder()
                .connect(builder.build(http).unwrap())
                .await
        }
        None => {
            McpClient::builder()
                .connect(builder.build_hyper().unwrap())
                .await
        }
    }
    .unwrap();
    client.initialize().await.unwrap();
    let result = client
        .call_tool("whoami", serde_json::json!({}))
        .await
        .unwrap();
    let Some(ContentBlock::Text(text)) = result.content.first() else {
        panic!("whoami answered {result:?}");
    };
    client.close().await.unwrap();
    serde_json::from_str(&text.text).unwrap()
}

#[tokio::test]
async fn bad_arguments_exit_2_with_usage() {
    let output = Command::new(example_binary("protected_server"))
        .arg("--listen")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("usage: protected_server"));
}

trait JsonOrPanic {
    async fn json_or_panic(self) -> serde_json::Value;
}

impl JsonOrPanic for reqwest::Response {
    async fn json_or_panic(self) -> serde_json::Value {
        assert_eq!(self.status(), 200);
        serde_json::from_str(&self.text().await.unwrap()).unwrap()
    }
}
