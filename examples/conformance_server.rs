//! The server the MCP conformance suite tests: our `McpServer` with the
//! tools, resources and prompts of the suite's reference "everything" server,
//! over our Streamable HTTP transport.
//!
//! ```text
//! cargo run --example conformance_server -- --listen 127.0.0.1:0 [--secured]
//! ```
//!
//! Prints `listening on http://HOST:PORT/mcp` first. Requests whose `Host`
//! or `Origin` is not a loopback name are refused with 403 (DNS rebinding
//! defence). With `--secured` the endpoint sits behind our security stack:
//! a front layer adds a static test token to every request (the suite sends
//! none), then `BearerLayer` and `ValidateTokenLayer` (an API-key validator
//! that knows that token) check it, so the suite also exercises the layers.

#[path = "support/cli.rs"]
mod cli;
#[path = "support/everything.rs"]
mod everything;
#[path = "support/modern_tools.rs"]
mod modern_tools;
#[path = "support/serve_http.rs"]
mod serve_http;

use std::convert::Infallible;
use std::io::Write as _;
use std::process::ExitCode;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use mcp_tower::prelude::*;
use mcp_tower::services::transport::http::{StreamableHttpConfig, StreamableHttpService};
use mcp_tower::token::{ApiKeyGrant, ApiKeyValidator};
use tower::util::BoxCloneService;
use tower::{ServiceBuilder, ServiceExt};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Body = UnsyncBoxBody<Bytes, BoxError>;
type Endpoint = BoxCloneService<Request<Incoming>, Response<Body>, Infallible>;

const USAGE: &str = "usage: conformance_server --listen ADDR [--secured]";

/// The token `--secured` adds to every request (a test value, not a secret).
const TEST_TOKEN: &str = "conformance-test-token-0123456789";

struct Options {
    listen: String,
    secured: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        listen: String::new(),
        secured: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => options.listen = args.next().ok_or("--listen needs a value")?,
            "--secured" => options.secured = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if options.listen.is_empty() {
        return Err("--listen is required".into());
    }
    Ok(options)
}

fn boxed<B>(response: Response<B>) -> Response<Body>
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    response.map(|body| body.map_err(Into::into).boxed_unsync())
}

fn endpoint(secured: bool) -> Result<Endpoint, BoxError> {
    let config = StreamableHttpConfig::builder()
        .allow_loopback_origins()
        .allow_loopback_hosts()
        .build()?;
    let mcp = StreamableHttpService::new(everything::server()?, config);
    if !secured {
        return Ok(ServiceBuilder::new()
            .map_response(boxed)
            .service(mcp)
            .boxed_clone());
    }
    let validator = ApiKeyValidator::builder()
        .key(TEST_TOKEN, ApiKeyGrant::new("conformance-suite", ["mcp"]))
        .build()?;
    Ok(ServiceBuilder::new()
        .map_response(boxed)
        .map_request(|mut request: Request<Incoming>| {
            if !request.headers().contains_key(http::header::AUTHORIZATION) {
                request.headers_mut().insert(
                    http::header::AUTHORIZATION,
                    http::HeaderValue::from_static("Bearer conformance-test-token-0123456789"),
                );
            }
            request
        })
        .layer(BearerLayer::new())
        .layer(ValidateTokenLayer::new(validator))
        .layer(RequireScopesLayer::all_of(["mcp"]))
        .service(mcp)
        .boxed_clone())
}

async fn route(
    endpoint: Endpoint,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    if request.uri().path() == "/mcp" {
        return endpoint.oneshot(request).await;
    }
    let mut response = Response::new(Full::new(Bytes::from_static(b"not found")));
    *response.status_mut() = StatusCode::NOT_FOUND;
    Ok(boxed(response))
}

async fn run(options: Options) -> Result<(), BoxError> {
    let endpoint = endpoint(options.secured)?;
    let service = tower::service_fn(move |request| route(endpoint.clone(), request));
    let listener = tokio::net::TcpListener::bind(&options.listen).await?;
    println!("listening on http://{}/mcp", listener.local_addr()?);
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
