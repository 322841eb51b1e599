//! The DPoP echo server shared by the `demo` and `dpop_echo` examples.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use mcp_tower::prelude::*;
use tokio::net::TcpListener;

/// Answers 200 with what the DPoP layer verified.
async fn echo(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = match request.extensions().get::<VerifiedDpop>() {
        Some(v) => serde_json::json!({ "jkt": v.jkt, "htm": v.htm, "htu": v.htu, "jti": v.jti }),
        None => serde_json::json!({ "dpop": null }),
    };
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// Serves the echo handler behind `layer` on `listener` until the task is dropped.
pub(crate) async fn serve(listener: TcpListener, layer: DpopLayer) {
    let service = tower::ServiceBuilder::new().layer(layer).service_fn(echo);
    super::serve_http::serve(listener, service).await;
}

/// Binds `addr` and returns the listener and its real address.
pub(crate) async fn bind(addr: &str) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}
