//! One process, both ends of DPoP (RFC 9449): a hyper server behind
//! `DpopLayer` (nonces required, replay cache on) on 127.0.0.1:0, and a
//! reqwest client behind `DpopSigningLayer`. Prints a transcript and exits 0
//! when every step behaved as expected.
//!
//! ```text
//! cargo run --release --example demo
//! ```

#[path = "support/echo.rs"]
mod echo;

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
    println!("\nall steps behaved as expected");
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
