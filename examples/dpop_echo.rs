//! A DPoP-protected echo server.
//!
//! ```text
//! cargo run --example dpop_echo -- --listen 127.0.0.1:0 [--public-url URL] [--nonce] [--algs ES256,PS256,RS256]
//! ```
//!
//! Prints `listening on http://HOST:PORT` as its first line, then serves every
//! path: a request must carry a valid DPoP proof, and with
//! `Authorization: DPoP <token>` its `ath` must match the token. Success is
//! 200 with JSON `{"jkt","htm","htu","jti"}`; failures are the standard
//! rejections (401 with a `DPoP` challenge, 400, 503).

#[path = "support/cli.rs"]
mod cli;
#[path = "support/echo.rs"]
mod echo;
#[path = "support/serve_http.rs"]
mod serve_http;

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use mcp_tower::jose::alg;
use mcp_tower::prelude::*;

struct Options {
    listen: String,
    public_url: Option<String>,
    nonce: bool,
    algs: Vec<Algorithm>,
}

const USAGE: &str =
    "usage: dpop_echo --listen ADDR [--public-url URL] [--nonce] [--algs ES256,PS256,RS256]";

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        listen: String::new(),
        public_url: None,
        nonce: false,
        algs: Algorithm::ALL.to_vec(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--listen" => options.listen = value("--listen")?,
            "--public-url" => options.public_url = Some(value("--public-url")?),
            "--nonce" => options.nonce = true,
            "--algs" => {
                options.algs =
                    alg::parse_list(&value("--algs")?).map_err(|e| format!("--algs: {e}"))?;
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if options.listen.is_empty() {
        return Err("--listen is required".into());
    }
    Ok(options)
}

fn layer(options: &Options, https_default: bool) -> Result<DpopLayer, String> {
    let target = match &options.public_url {
        Some(url) => RequestTarget::public_base_url(url).map_err(|e| e.to_string())?,
        None => RequestTarget::from_request(https_default),
    };
    let mut builder = DpopLayer::builder()
        .mode(DpopMode::ProofRequired)
        .target(target)
        .algorithms(options.algs.iter().copied());
    if options.nonce {
        builder = builder.nonce(Arc::new(NonceIssuer::random().map_err(|e| e.to_string())?));
    }
    builder.build().map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    cli::init_tracing();
    let options = match cli::parse_or_usage(parse_args, USAGE) {
        Ok(options) => options,
        Err(code) => return code,
    };
    let layer = match layer(&options, false) {
        Ok(layer) => layer,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let (listener, addr) = match echo::bind(&options.listen).await {
        Ok(bound) => bound,
        Err(error) => {
            eprintln!("error: cannot listen on {}: {error}", options.listen);
            return ExitCode::FAILURE;
        }
    };
    println!("listening on http://{addr}");
    let _ = std::io::stdout().flush();
    echo::serve(listener, layer).await;
    ExitCode::SUCCESS
}
