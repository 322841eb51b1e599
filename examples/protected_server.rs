//! An MCP resource server endpoint behind the full security stack.
//!
//! ```text
//! cargo run --example protected_server -- --listen ADDR --issuer URL --audience URL \
//!     (--jwks-file PATH | --jwks-url URL) [--dpop required|allowed|off] [--nonce] \
//!     [--scope SCOPE]... [--public-url URL]
//! ```
//!
//! Prints `listening on http://HOST:PORT` first. Serves the RFC 9728
//! metadata for the resource `--audience` at its well-known URL (outside the
//! auth layers), and the MCP endpoint `/mcp` (Streamable HTTP: POST, GET,
//! DELETE) behind `BearerLayer` → `DpopLayer` → `ValidateTokenLayer` (JWT
//! access tokens, RFC 9068) → `RequireScopesLayer`. The MCP server is the
//! one of `stdio_server` (tools `echo` and `add`, a resource, a prompt) plus
//! the tool `whoami`, which answers with what the layers established:
//! JSON `{"sub","scopes","jkt"}`.
//!
//! `--dpop` (default `allowed`):
//! - `required`: tokens must be DPoP-bound and sent as `Authorization: DPoP`
//!   with a valid proof; only the `DPoP` scheme is challenged.
//! - `allowed`: plain `Bearer` tokens are accepted; a `DPoP` proof is verified
//!   whenever one is sent, and DPoP-bound tokens need theirs.
//! - `off`: no `DpopLayer`, and `DPoP` is neither challenged nor advertised.
//!   A stray `DPoP` header next to a `Bearer` token is ignored; a token sent
//!   with the `DPoP` scheme, or a DPoP-bound token, is refused (401
//!   `invalid_token`), since no proof can be verified (fail closed).
//!
//! `--nonce` makes the DPoP layer demand server nonces (RFC 9449 §9); it needs
//! DPoP, so `--nonce` with `--dpop off` is a usage error, as is giving both
//! `--jwks-file` and `--jwks-url` (or either twice). Usage errors exit with
//! code 2 and print the usage on stderr.

#[path = "support/cli.rs"]
mod cli;
#[path = "support/mcp_example.rs"]
mod mcp_example;
#[path = "support/protected_stack.rs"]
mod protected_stack;
#[path = "support/serve_http.rs"]
mod serve_http;

use std::convert::Infallible;
use std::io::Write as _;
use std::process::ExitCode;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use mcp_tower::fetch::HttpFetcher;
use mcp_tower::metadata::{ProtectedResourceMetadata, ProtectedResourceMetadataLayer};
use mcp_tower::prelude::*;
use mcp_tower::services::protocol::CallToolResult;
use mcp_tower::services::server::{McpServer, ToolContext, ToolError};
use mcp_tower::services::transport::http::{StreamableHttpConfig, StreamableHttpService};
use mcp_tower::sessions::session_owner;
use mcp_tower::token::JwksSource;
use protected_stack::{
    Body, BoxError, DpopSetting, Protected, StackOptions, boxed, protect, stage,
};
use tower::{ServiceBuilder, ServiceExt};

struct Options {
    listen: String,
    jwks: Option<Jwks>,
    stack: StackOptions,
}

enum Jwks {
    File(String),
    Url(String),
}

const USAGE: &str = "usage: protected_server --listen ADDR --issuer URL --audience URL (--jwks-file PATH | --jwks-url URL) [--dpop required|allowed|off] [--nonce] [--scope SCOPE]... [--public-url URL]";

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        listen: String::new(),
        jwks: None,
        stack: StackOptions {
            issuer: String::new(),
            audience: String::new(),
            dpop: DpopSetting::Allowed,
            nonce: false,
            scopes: Vec::new(),
            public_url: None,
        },
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--listen" => o.listen = value()?,
            "--issuer" => o.stack.issuer = value()?,
            "--audience" => o.stack.audience = value()?,
            "--jwks-file" | "--jwks-url" => {
                let source = value()?;
                if o.jwks.is_some() {
                    return Err(
                        "give exactly one of --jwks-file or --jwks-url, once; not both or twice"
                            .into(),
                    );
                }
                o.jwks = Some(if arg == "--jwks-file" {
                    Jwks::File(source)
                } else {
                    Jwks::Url(source)
                });
            }
            "--dpop" => {
                o.stack.dpop = match value()?.as_str() {
                    "required" => DpopSetting::Required,
                    "allowed" => DpopSetting::Allowed,
                    "off" => DpopSetting::Off,
                    other => {
                        return Err(format!(
                            "--dpop must be required, allowed or off, not {other:?}"
                        ));
                    }
                }
            }
            "--nonce" => o.stack.nonce = true,
            "--scope" => o.stack.scopes.push(value()?),
            "--public-url" => o.stack.public_url = Some(value()?),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    for (name, value) in [
        ("--listen", &o.listen),
        ("--issuer", &o.stack.issuer),
        ("--audience", &o.stack.audience),
    ] {
        if value.is_empty() {
            return Err(format!("{name} is required"));
        }
    }
    if o.jwks.is_none() {
        return Err("one of --jwks-file or --jwks-url is required".into());
    }
    if o.stack.nonce && o.stack.dpop == DpopSetting::Off {
        return Err("--nonce needs DPoP: it cannot be combined with --dpop off".into());
    }
    Ok(o)
}

/// Arguments of `whoami`: none.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct NoArguments {}

/// The MCP server: the example tools, and `whoami`, which reads what the
/// HTTP layers put in the request's extensions.
fn mcp_server() -> Result<McpServer, BoxError> {
    let builder = McpServer::builder()
        .name("mcp-tower-protected-example")
        .version(env!("CARGO_PKG_VERSION"))
        .tool(
            "whoami",
            "Who the access token says the caller is",
            |ctx: ToolContext, _: NoArguments| async move {
                let principal = ctx
                    .extensions
                    .get::<Principal>()
                    .cloned()
                    .unwrap_or_default();
                // The proof's key, when the proof is tied to this token
                // (a proof beside a Bearer token is not).
                let jkt = ctx
                    .extensions
                    .get::<VerifiedDpop>()
                    .filter(|v| v.token_bound)
                    .map(|v| v.jkt.clone());
                let body = serde_json::json!({
                    "sub": principal.subject(), "scopes": principal.scopes().collect::<Vec<_>>(), "jkt": jkt
                });
                Ok::<_, ToolError>(CallToolResult::text(body.to_string()))
            },
        );
    Ok(mcp_example::add_examples(builder).build()?)
}

/// The MCP endpoint behind the security stack.
fn protected(o: &Options, metadata: &ProtectedResourceMetadata) -> Result<Protected, BoxError> {
    let keys = match o.jwks.as_ref().ok_or("no JWKS")? {
        Jwks::File(path) => JwksSource::file(path)?,
        Jwks::Url(url) => JwksSource::url(url, HttpFetcher::new()?)?,
    };
    // Each MCP session belongs to the principal that opened it.
    let config = StreamableHttpConfig::builder()
        .session_owner(session_owner())
        .build()?;
    let mcp = StreamableHttpService::new(mcp_server()?, config);
    protect(&o.stack, keys, metadata, stage(mcp))
}

async fn route(
    protected: Protected,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    if request.uri().path() == "/mcp" {
        return protected.oneshot(request).await;
    }
    let mut response = Response::new(Full::new(Bytes::from_static(b"{\"error\":\"not_found\"}")));
    *response.status_mut() = StatusCode::NOT_FOUND;
    Ok(boxed(response))
}

async fn run(o: Options) -> Result<(), BoxError> {
    let metadata = protected_stack::metadata(&o.stack)?;
    let protected = protected(&o, &metadata)?;
    let service = ServiceBuilder::new()
        .layer(ProtectedResourceMetadataLayer::new(&metadata))
        .service_fn(move |request| route(protected.clone(), request));

    let listener = tokio::net::TcpListener::bind(&o.listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    std::io::stdout().flush()?;
    serve_http::serve(listener, service).await;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    cli::init_tracing();
    let options = match cli::parse_or_usage(parse_args, USAGE) {
        Ok(options) => options,
        Err(code) => return code,
    };
    match run(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
