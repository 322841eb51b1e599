//! The `protected_server` example's command-line contract, run as a real
//! process on 127.0.0.1:0: metadata, the full stack in front of the MCP
//! endpoint `/mcp` (Streamable HTTP), keys from a file or a JWKS URL, the
//! three DPoP modes, required scopes, oversized `Authorization` headers,
//! usage errors (exit 2), and our `McpClient` with DPoP signing calling its
//! tools. Every wait is bounded, so a misbehaving server fails a test rather
//! than hanging it.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "support/examples.rs"]
mod examples;

use std::io::{BufRead, BufReader, Read as _};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

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
    _dir: Option<TempDir>,
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

/// The example's arguments every test gives: address, issuer, audience.
fn base_args() -> Command {
    let mut command = Command::new(example_binary("protected_server"));
    command.args([
        "--listen",
        "127.0.0.1:0",
        "--issuer",
        ISSUER,
        "--audience",
        AUDIENCE,
    ]);
    command
}

/// A fresh temporary directory holding `key`'s JWKS as `jwks.json`.
fn jwks_dir(key: &DpopKey) -> (TempDir, String) {
    let dir = std::env::temp_dir().join(format!(
        "mcp-tower-protected-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let jwks_path = dir.join("jwks.json");
    std::fs::write(&jwks_path, jwks(key)).unwrap();
    let path = jwks_path.to_str().unwrap().to_owned();
    (TempDir(dir), path)
}

/// Starts the example with `key`'s JWKS in a file and `extra` arguments.
fn start(key: &DpopKey, extra: &[&str]) -> Server {
    let (dir, jwks_path) = jwks_dir(key);
    let mut command = base_args();
    command.args(["--jwks-file", &jwks_path]).args(extra);
    launch(command, Some(dir))
}

/// Spawns `command` and waits for its first line, `listening on URL`.
fn launch(mut command: Command, dir: Option<TempDir>) -> Server {
    let mut child = command
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
        _dir: dir,
    }
}

/// Runs `command`, expecting it to refuse its arguments: the exit code and
/// stderr. A process still running after 60 s accepted them: it is killed
/// and the test fails, rather than hanging.
fn refused(mut command: Command) -> (Option<i32>, String) {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the example accepted the arguments and kept running");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status.code(), stderr)
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    h.finish()
}

/// An HTTP client whose requests give up after 30 s, so no test hangs.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// [`post`] with `Authorization: Bearer <token>` only.
async fn post_bearer(server: &Server, token: &str) -> (u16, Vec<String>, serde_json::Value) {
    post(server, &[("authorization", format!("Bearer {token}"))]).await
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
    let mut request = client()
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

    let (status, _, json) = post_bearer(&server, &token(&key, "mcp:tools", None)).await;
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

    let (status, challenges, json) = post_bearer(&server, &token(&key, "other", None)).await;
    assert_eq!(status, 403);
    assert_eq!(json["error"], "insufficient_scope");
    assert!(challenges[0].contains("scope=\"mcp:tools\""));

    let forged = issuer_key();
    let (status, _, json) = post_bearer(&server, &token(&forged, "mcp:tools", None)).await;
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

    let (status, _, json) = post_bearer(&server, &access).await;
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
    let mut command = Command::new(example_binary("protected_server"));
    command.arg("--listen");
    let (code, stderr) = refused(command);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("usage: protected_server"));
}

/// A JWKS endpoint on 127.0.0.1:0, served by hyper on a thread of its own
/// (so it answers even while a test blocks on the example's first line):
/// its URL, and how many requests it answered.
fn jwks_server(document: String) -> (String, Arc<AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let document = bytes::Bytes::from(document);
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let document = document.clone();
                let counter = Arc::clone(&counter);
                let service = hyper::service::service_fn(move |request: http::Request<_>| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let found = request.uri().path() == "/jwks.json";
                    let document = document.clone();
                    async move {
                        let mut response =
                            http::Response::new(http_body_util::Full::new(if found {
                                document
                            } else {
                                bytes::Bytes::new()
                            }));
                        if found {
                            response.headers_mut().insert(
                                "content-type",
                                http::HeaderValue::from_static("application/json"),
                            );
                        } else {
                            *response.status_mut() = http::StatusCode::NOT_FOUND;
                        }
                        Ok::<_, std::convert::Infallible>(response)
                    }
                });
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    (url, hits)
}

#[tokio::test]
async fn jwks_url_fetches_the_issuer_keys() {
    let key = issuer_key();
    let (url, hits) = jwks_server(jwks(&key));
    let mut command = base_args();
    command.args(["--jwks-url", &url]);
    let server = launch(command, None);

    let (status, _, json) = post_bearer(&server, &token(&key, "mcp:tools", None)).await;
    assert_eq!(status, 200, "{json}");
    assert!(
        hits.load(Ordering::SeqCst) >= 1,
        "the keys came from the URL"
    );

    let forged = issuer_key();
    let (status, _, json) = post_bearer(&server, &token(&forged, "mcp:tools", None)).await;
    assert_eq!(status, 401, "a key not in the served JWKS is refused");
    assert_eq!(json["error"], "invalid_token");
}

#[tokio::test]
async fn dpop_off_accepts_bearer_and_refuses_the_dpop_scheme() {
    let key = issuer_key();
    let server = start(&key, &["--dpop", "off"]);
    let client_key = DpopKey::generate(Algorithm::ES256).unwrap();
    let url = format!("{}/mcp", server.base);

    let metadata: serde_json::Value = client()
        .get(format!(
            "{}/.well-known/oauth-protected-resource/mcp",
            server.base
        ))
        .send()
        .await
        .unwrap()
        .json_or_panic()
        .await;
    assert!(
        metadata.get("dpop_signing_alg_values_supported").is_none(),
        "{metadata}"
    );

    let (status, challenges, _) = post(&server, &[]).await;
    assert_eq!(status, 401);
    assert_eq!(challenges.len(), 1, "Bearer only: {challenges:?}");
    assert!(challenges[0].starts_with("Bearer "), "{challenges:?}");

    let plain = token(&key, "mcp:tools", None);
    let (status, _, json) = post_bearer(&server, &plain).await;
    assert_eq!(status, 200, "{json}");

    // A DPoP header next to a Bearer token is not looked at.
    let (status, _, json) = post(
        &server,
        &[
            ("authorization", format!("Bearer {plain}")),
            ("dpop", "not-a-proof".to_owned()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{json}");
    let who = whoami(&server, &format!("Bearer {plain}"), None).await;
    assert!(who["jkt"].is_null());

    // Without a DPoP layer no proof can be verified: the DPoP scheme fails closed.
    let bound = token(&key, "mcp:tools", Some(client_key.thumbprint()));
    for access in [&bound, &plain] {
        let request = ProofRequest {
            method: "POST",
            url: &url,
            access_token: Some(access),
            nonce: None,
            iat: SystemClock.now_unix(),
        };
        let proof = sign_proof(&client_key, &request).unwrap();
        let (status, _, json) = post(
            &server,
            &[("authorization", format!("DPoP {access}")), ("dpop", proof)],
        )
        .await;
        assert_eq!(status, 401, "{json}");
        assert_eq!(json["error"], "invalid_token");
    }
    let (status, _, json) = post_bearer(&server, &bound).await;
    assert_eq!(status, 401, "a DPoP-bound token as Bearer: {json}");
    assert_eq!(json["error"], "invalid_token");
}

#[tokio::test]
async fn dpop_allowed_accepts_bearer_and_verified_proofs() {
    let key = issuer_key();
    let server = start(&key, &["--dpop", "allowed"]);
    let store =
        Arc::new(MemoryKeyStore::generate(Algorithm::ES256, RotationPolicy::default()).unwrap());
    let client_key = store.current().unwrap();
    let url = format!("{}/mcp", server.base);
    let proof = |signer: &DpopKey, access: &str| {
        let request = ProofRequest {
            method: "POST",
            url: &url,
            access_token: Some(access),
            nonce: None,
            iat: SystemClock.now_unix(),
        };
        sign_proof(signer, &request).unwrap()
    };

    let (status, challenges, _) = post(&server, &[]).await;
    assert_eq!(status, 401);
    assert_eq!(challenges.len(), 2, "{challenges:?}");
    assert!(challenges[0].starts_with("Bearer "), "{challenges:?}");
    assert!(challenges[1].starts_with("DPoP "), "{challenges:?}");

    let plain = token(&key, "mcp:tools", None);
    let (status, _, json) = post_bearer(&server, &plain).await;
    assert_eq!(status, 200, "{json}");
    let who = whoami(&server, &format!("Bearer {plain}"), None).await;
    assert!(who["jkt"].is_null());
    // A proof beside a Bearer token is verified but not tied to the token:
    // whoami does not report its key.
    let keys: Arc<dyn KeyStore> = store.clone();
    let who = whoami(&server, &format!("Bearer {plain}"), Some(keys)).await;
    assert!(who["jkt"].is_null(), "{who}");

    let bound = token(&key, "mcp:tools", Some(client_key.thumbprint()));
    let (status, _, json) = post(
        &server,
        &[
            ("authorization", format!("DPoP {bound}")),
            ("dpop", proof(&client_key, &bound)),
        ],
    )
    .await;
    assert_eq!(status, 200, "{json}");
    let keys: Arc<dyn KeyStore> = store.clone();
    let who = whoami(&server, &format!("DPoP {bound}"), Some(keys)).await;
    assert_eq!(who["jkt"], client_key.thumbprint());

    // A proof, when sent, is verified: one from another key does not match.
    let thief = DpopKey::generate(Algorithm::ES256).unwrap();
    let (status, _, json) = post(
        &server,
        &[
            ("authorization", format!("DPoP {bound}")),
            ("dpop", proof(&thief, &bound)),
        ],
    )
    .await;
    assert_eq!(status, 401, "{json}");
    assert_eq!(json["error"], "invalid_token");
    let (status, _, json) = post(
        &server,
        &[
            ("authorization", format!("Bearer {plain}")),
            ("dpop", "not-a-proof".to_owned()),
        ],
    )
    .await;
    assert_eq!(status, 401, "{json}");
    assert_eq!(json["error"], "invalid_dpop_proof");
}

#[tokio::test]
async fn repeated_scopes_are_all_required() {
    let key = issuer_key();
    let server = start(&key, &["--scope", "a", "--scope", "b"]);

    let (status, challenges, json) = post_bearer(&server, &token(&key, "a", None)).await;
    assert_eq!(status, 403, "{json}");
    assert_eq!(json["error"], "insufficient_scope");
    assert!(challenges[0].contains("scope=\"a b\""), "{challenges:?}");

    let (status, _, json) = post_bearer(&server, &token(&key, "b a", None)).await;
    assert_eq!(status, 200, "{json}");
}

#[tokio::test]
async fn both_jwks_sources_exit_2_with_usage() {
    let key = issuer_key();
    let (_dir, jwks_path) = jwks_dir(&key);
    for order in [
        [
            "--jwks-file",
            &jwks_path,
            "--jwks-url",
            "http://127.0.0.1:9/jwks",
        ],
        [
            "--jwks-url",
            "http://127.0.0.1:9/jwks",
            "--jwks-file",
            &jwks_path,
        ],
        ["--jwks-file", &jwks_path, "--jwks-file", &jwks_path],
    ] {
        let mut command = base_args();
        command.args(order);
        let (code, stderr) = refused(command);
        assert_eq!(code, Some(2), "{order:?}: {stderr}");
        assert!(stderr.contains("--jwks-file or --jwks-url"), "{stderr}");
        assert!(stderr.contains("usage: protected_server"), "{stderr}");
    }
}

#[tokio::test]
async fn nonce_without_dpop_exits_2_with_usage() {
    let key = issuer_key();
    let (_dir, jwks_path) = jwks_dir(&key);
    for order in [["--nonce", "--dpop", "off"], ["--dpop", "off", "--nonce"]] {
        let mut command = base_args();
        command.args(["--jwks-file", &jwks_path]).args(order);
        let (code, stderr) = refused(command);
        assert_eq!(code, Some(2), "{order:?}: {stderr}");
        assert!(stderr.contains("--nonce"), "{stderr}");
        assert!(stderr.contains("usage: protected_server"), "{stderr}");
    }
}

#[tokio::test]
async fn oversized_authorization_headers_are_refused_without_hanging() {
    let key = issuer_key();
    let server = start(&key, &[]);

    // Above the JWT validator's 16 KiB cap, well under hyper's header limit:
    // the validator refuses it, and the answer does not echo it.
    let huge = "a".repeat(20 * 1024);
    let (status, challenges, json) = post_bearer(&server, &huge).await;
    assert_eq!(status, 401, "{json}");
    assert_eq!(json["error"], "invalid_token");
    assert!(
        challenges[0].starts_with("Bearer error=\"invalid_token\""),
        "{challenges:?}"
    );
    assert!(!json.to_string().contains(&huge[..64]));
    assert!(challenges.iter().all(|c| !c.contains(&huge[..64])));

    // Far above hyper's limit (about 400 KiB): 431 or a closed connection,
    // within the timeout.
    let addr = server.base.strip_prefix("http://").unwrap().to_owned();
    let answer = tokio::time::timeout(Duration::from_secs(30), async {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let (mut read, mut write) = stream.into_split();
        let head = format!(
            "POST /mcp HTTP/1.1\r\nhost: {addr}\r\ncontent-length: 0\r\nauthorization: Bearer {}\r\n\r\n",
            "a".repeat(1024 * 1024)
        );
        // The server may stop reading and close: a failed write is fine.
        let writer = tokio::spawn(async move {
            let _ = write.write_all(head.as_bytes()).await;
            let _ = write.shutdown().await;
        });
        let mut answer = Vec::new();
        // A reset connection counts as closed.
        let _ = read.read_to_end(&mut answer).await;
        writer.abort();
        answer
    })
    .await
    .expect("the server answered or closed the connection in time");
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{}",
        &answer[..answer.len().min(200)]
    );

    // The server is still serving.
    let (status, _, _) = post(&server, &[]).await;
    assert_eq!(status, 401);
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
