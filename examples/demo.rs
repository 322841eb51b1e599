//! One process, both ends of DPoP (RFC 9449): a hyper server behind
//! `DpopLayer` (nonces required, replay cache on) on 127.0.0.1:0, and a
//! reqwest client behind `DpopSigningLayer` (steps 1-5); then the full
//! story (step 6): an MCP server behind Bearer, DPoP, JWT and scope layers
//! over Streamable HTTP, and our `McpClient` with `DpopSigningLayer` on its
//! HTTP client calling its tools with a DPoP-bound access token. Prints a
//! transcript and exits 0 when every step behaved as expected.
//!
//! ```text
//! cargo run --release --example demo
//! ```

#[path = "support/echo.rs"]
mod echo;
#[path = "support/issuer.rs"]
mod issuer;
#[path = "support/mcp_example.rs"]
mod mcp_example;
#[path = "support/serve_http.rs"]
mod serve_http;

use std::process::ExitCode;
use std::sync::Arc;

use mcp_tower::client::{ProofRequest, sign_proof};
use mcp_tower::clock::{Clock, SystemClock};
use mcp_tower::prelude::*;
use tower::{Service, ServiceBuilder, ServiceExt};

const TOKEN: &str = "demo-access-token";

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Reply {
    status: u16,
    challenge: String,
    nonce: Option<String>,
    body: String,
}

async fn send(client: &reqwest::Client, url: &str, proof: &str) -> Result<Reply, Error> {
    let response = client
        .post(url)
        .header("authorization", format!("DPoP {TOKEN}"))
        .header("dpop", proof)
        .send()
        .await?;
    reply(response).await
}

async fn reply(response: reqwest::Response) -> Result<Reply, Error> {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Ok(Reply {
        status: response.status().as_u16(),
        challenge: header("www-authenticate").unwrap_or_default(),
        nonce: header("dpop-nonce"),
        body: response.text().await?,
    })
}

/// A proof for a POST to `url` with the access token `token`, made now.
fn proof(key: &DpopKey, url: &str, token: &str, nonce: Option<&str>) -> Result<String, Error> {
    let request = ProofRequest {
        method: "POST",
        url,
        access_token: Some(token),
        nonce,
        iat: SystemClock.now_unix(),
    };
    Ok(sign_proof(key, &request)?)
}

fn check(ok: bool, what: &str) -> Result<(), Error> {
    if ok {
        println!("   ok: {what}");
        Ok(())
    } else {
        Err(format!("unexpected: {what} did not hold").into())
    }
}

async fn run() -> Result<(), Error> {
    println!("mcp-tower demo: DPoP between a reqwest client and a hyper server\n");
    let nonces = Arc::new(NonceIssuer::random()?);
    let layer = DpopLayer::builder()
        .mode(DpopMode::ResourceServer)
        .nonce(Arc::clone(&nonces))
        .build()?;
    let (listener, addr) = echo::bind("127.0.0.1:0").await?;
    let server = tokio::spawn(echo::serve(listener, layer));
    let url = format!("http://{addr}/mcp");
    println!("server: listening on http://{addr} (DPoP required, server nonces, replay cache)");

    let keys = Arc::new(MemoryKeyStore::generate(
        Algorithm::ES256,
        RotationPolicy::default(),
    )?);
    let key = keys.current()?;
    println!("client: ES256 key, thumbprint (jkt) {}\n", key.thumbprint());
    let http = reqwest::Client::new();

    println!("1. A proof without the server's nonce");
    let signed = proof(&key, &url, TOKEN, None)?;
    let first = send(&http, &url, &signed).await?;
    println!("   <- {} {}", first.status, first.challenge);
    check(
        first.status == 401 && first.challenge.contains("use_dpop_nonce"),
        "401 use_dpop_nonce",
    )?;
    let nonce = first.nonce.ok_or("no DPoP-Nonce header")?;
    check(true, "server sent a DPoP-Nonce header")?;

    println!(
        "\n2. The same call through DpopSigningLayer, which answers the nonce challenge itself"
    );
    let mut signing = ServiceBuilder::new()
        .layer(DpopSigningLayer::new(keys.clone()))
        .service(http.clone());
    let request = http
        .post(&url)
        .header("authorization", format!("DPoP {TOKEN}"))
        .body("{}")
        .build()?;
    let response = signing.ready().await?.call(request).await?;
    let second = reply(response).await?;
    println!("   <- {} {}", second.status, second.body);
    check(
        second.status == 200,
        "200 after one nonce round trip (the layer started with no nonce)",
    )?;

    println!("\n3. One proof sent twice");
    let signed = proof(&key, &url, TOKEN, Some(&nonce))?;
    let once = send(&http, &url, &signed).await?;
    println!("   <- {} {}", once.status, once.body);
    check(once.status == 200, "first use accepted")?;
    let twice = send(&http, &url, &signed).await?;
    println!("   <- {} {}", twice.status, twice.challenge);
    check(
        twice.status == 401 && twice.challenge.contains("already used"),
        "replay refused",
    )?;

    println!("\n4. A proof made for another URL");
    let other = format!("http://{addr}/admin");
    let signed = proof(&key, &other, TOKEN, Some(&nonce))?;
    let wrong = send(&http, &url, &signed).await?;
    println!("   <- {} {}", wrong.status, wrong.challenge);
    check(
        wrong.status == 401 && wrong.challenge.contains("htu does not match"),
        "wrong URL refused",
    )?;

    println!("\n5. A proof for another access token (ath mismatch)");
    let signed = proof(&key, &url, "stolen-elsewhere", Some(&nonce))?;
    let stolen = send(&http, &url, &signed).await?;
    println!("   <- {} {}", stolen.status, stolen.challenge);
    check(
        stolen.status == 401 && stolen.challenge.contains("ath does not match"),
        "token/proof mismatch refused",
    )?;

    server.abort();

    mcp_over_http(&keys).await?;
    println!("\nall steps behaved as expected");
    Ok(())
}

/// Arguments of `whoami`: none.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct NoArguments {}

/// Step 6: an MCP server behind Bearer → DPoP (with nonces) → JWT validation
/// → scopes, over Streamable HTTP; our `McpClient` with `DpopSigningLayer`
/// on its HTTP client calls its tools with a DPoP-bound access token.
async fn mcp_over_http(keys: &Arc<MemoryKeyStore>) -> Result<(), Error> {
    use mcp_tower::services::client::McpClient;
    use mcp_tower::services::protocol::{CallToolResult, ContentBlock};
    use mcp_tower::services::transport::http_client::{StreamableHttpClient, hyper_client};

    println!(
        "\n6. MCP over Streamable HTTP: a DPoP-signing client calls tools on a protected server"
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let resource = format!("{base}/mcp");
    let issuer = issuer::DemoIssuer::new("http://127.0.0.1/demo-issuer")?;
    let server = serve_protected_mcp(listener, &base, &resource, &issuer)?;
    println!("   server: {resource} (Bearer → DPoP + nonces → JWT → scope mcp:tools → MCP)");

    let jkt = keys.current()?.thumbprint().to_owned();
    let token = issuer.mint("alice", &resource, "mcp:tools", Some(&jkt))?;
    let http = ServiceBuilder::new()
        .layer(DpopSigningLayer::new(Arc::clone(keys) as Arc<dyn KeyStore>))
        .service(hyper_client());
    let transport = StreamableHttpClient::builder(&resource)
        .header("authorization", format!("DPoP {token}"))
        .build(http)?;
    let client = McpClient::builder()
        .name("demo-client")
        .connect(transport)
        .await?;
    let server_info = client.initialize().await?;
    println!(
        "   -> initialize: {} speaks {}",
        server_info.server_info.name, server_info.protocol_version
    );
    let text = |result: &CallToolResult| match result.content.first() {
        Some(ContentBlock::Text(text)) => text.text.clone(),
        _ => String::new(),
    };
    let sum = client
        .call_tool("add", serde_json::json!({"a": 40, "b": 2}))
        .await?;
    println!("   -> tools/call add(40, 2) = {}", text(&sum));
    check(
        text(&sum) == "42",
        "the tool answered through the whole stack",
    )?;
    let who = client.call_tool("whoami", serde_json::json!({})).await?;
    println!("   -> tools/call whoami = {}", text(&who));
    check(
        text(&who) == format!("alice (DPoP key {jkt})"),
        "the tool saw the token's subject and the proof's key",
    )?;
    client.close().await?;
    server.abort();
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("demo failed: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Serves the example MCP server (plus `whoami`) on `listener` behind
/// Bearer → DPoP (with nonces) → JWT validation → scope `mcp:tools`.
fn serve_protected_mcp(
    listener: tokio::net::TcpListener,
    base: &str,
    resource: &str,
    issuer: &issuer::DemoIssuer,
) -> Result<tokio::task::JoinHandle<()>, Error> {
    use mcp_tower::services::protocol::CallToolResult;
    use mcp_tower::services::server::{McpServer, ToolContext, ToolError};
    use mcp_tower::services::transport::http::{StreamableHttpConfig, StreamableHttpService};
    use mcp_tower::sessions::session_owner;
    use mcp_tower::token::{JwksSource, JwtValidator};

    let validator = JwtValidator::builder()
        .issuer(issuer.issuer.as_str())
        .audience(resource)
        .keys(JwksSource::from_json(&issuer.jwks())?)
        .build()?;
    let mcp = McpServer::builder().name("demo-protected-mcp").tool(
        "whoami",
        "Who the access token says the caller is",
        |ctx: ToolContext, _: NoArguments| async move {
            let principal = ctx
                .extensions
                .get::<Principal>()
                .cloned()
                .unwrap_or_default();
            let jkt = ctx.extensions.get::<VerifiedDpop>().map(|v| v.jkt.clone());
            Ok::<_, ToolError>(CallToolResult::text(format!(
                "{} (DPoP key {})",
                principal.subject(),
                jkt.unwrap_or_default()
            )))
        },
    );
    let mcp = mcp_example::add_examples(mcp).build()?;
    let protected = ServiceBuilder::new()
        .layer(BearerLayer::new())
        .layer(
            DpopLayer::builder()
                .mode(DpopMode::ResourceServer)
                .target(RequestTarget::public_base_url(base)?)
                .nonce(Arc::new(NonceIssuer::random()?))
                .build()?,
        )
        .layer(ValidateTokenLayer::new(validator))
        .layer(RequireScopesLayer::all_of(["mcp:tools"]))
        .service(StreamableHttpService::new(
            mcp,
            // Each MCP session belongs to the principal that opened it.
            StreamableHttpConfig::builder()
                .session_owner(session_owner())
                .build()?,
        ));
    Ok(tokio::spawn(serve_http::serve(listener, protected)))
}
