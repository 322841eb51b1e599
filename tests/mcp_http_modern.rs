//! Revision 2026-07-28 over Streamable HTTP: a modern `McpClient` (no
//! handshake, `_meta` on every request, input through `input_required`)
//! against `StreamableHttpService` on 127.0.0.1:0, which serves modern
//! requests without a session even though it keeps sessions for legacy ones.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;

use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use mcp_tower::services::client::McpClient;
use mcp_tower::services::protocol::{
    CallToolResult, ContentBlock, ElicitAction, ElicitRequestFormParams, ElicitRequestParams,
    ElicitResult, ElicitValue, ProtocolVersion, RequestedSchema,
};
use mcp_tower::services::server::{McpServer, ToolContext, ToolError};
use mcp_tower::services::transport::http::StreamableHttpService;
use mcp_tower::services::transport::http_client::StreamableHttpClient;
use serde_json::json;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Nothing {}

async fn serve() -> (String, tokio::task::JoinHandle<()>) {
    let server = McpServer::builder()
        .name("modern-http")
        .tool(
            "ask",
            "Asks the user's name",
            |ctx: ToolContext, _: Nothing| async move {
                let form =
                    ElicitRequestFormParams::new("Name?", RequestedSchema::new(BTreeMap::new()));
                let answer = ctx.elicit(&ElicitRequestParams::Form(form)).await?;
                let name = match answer.content.as_ref().and_then(|c| c.get("name")) {
                    Some(ElicitValue::String(name)) => name.clone(),
                    _ => "nobody".to_owned(),
                };
                Ok::<_, ToolError>(CallToolResult::text(name))
            },
        )
        .build()
        .unwrap();
    let service = StreamableHttpService::with_defaults(server);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, task)
}

#[tokio::test]
async fn a_modern_client_discovers_and_answers_input_requests_over_http() {
    let (url, server) = serve().await;
    let client = McpClient::builder()
        .protocol_version(ProtocolVersion::V2026_07_28)
        .on_elicitation(|_params: ElicitRequestParams| async move {
            let mut result = ElicitResult::new(ElicitAction::Accept);
            let mut content = BTreeMap::new();
            content.insert("name".to_owned(), ElicitValue::String("Ada".into()));
            result.content = Some(content);
            Ok(result)
        })
        .connect(StreamableHttpClient::hyper(&url).unwrap())
        .await
        .unwrap();
    let info = client.initialize().await.unwrap();
    assert_eq!(info.protocol_version, "2026-07-28");
    assert_eq!(info.server_info.name, "modern-http");
    let result = client.call_tool("ask", json!({})).await.unwrap();
    let Some(ContentBlock::Text(text)) = result.content.first() else {
        panic!("{result:?}");
    };
    assert_eq!(text.text, "Ada");
    client.close().await.unwrap();
    server.abort();
}

#[tokio::test]
async fn a_legacy_client_still_gets_a_session() {
    let (url, server) = serve().await;
    let client = McpClient::builder()
        .connect(StreamableHttpClient::hyper(&url).unwrap())
        .await
        .unwrap();
    let info = client.initialize().await.unwrap();
    assert_eq!(info.protocol_version, "2025-11-25");
    client.close().await.unwrap();
    server.abort();
}
