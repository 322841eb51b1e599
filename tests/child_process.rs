//! The child-process transport on real processes: `McpClient` starts
//! `examples/stdio_server`, calls its tools, and leaves no process behind
//! whether it closes or is dropped; a child that ignores its closed stdin is
//! stopped after the grace period (SIGTERM, then SIGKILL).
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "support/examples.rs"]
mod examples;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use examples::example_binary;
use mcp_tower::services::client::McpClient;
use mcp_tower::services::protocol::{CallToolResult, ContentBlock};
use mcp_tower::services::transport::child::ChildProcess;
use serde_json::json;
use tokio::process::Command;

fn text(result: &CallToolResult) -> String {
    match &result.content[0] {
        ContentBlock::Text(t) => t.text.clone(),
        other => panic!("not text: {other:?}"),
    }
}

fn stdio_server() -> ChildProcess {
    let mut command = Command::new(example_binary("stdio_server"));
    command.env("RUST_LOG", "off");
    ChildProcess::new(command).stderr(Stdio::null())
}

/// Whether a process with this id still exists (as a zombie too).
fn exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[tokio::test]
async fn client_calls_tools_of_a_child_and_leaves_no_process_on_close() {
    let transport = stdio_server();
    let status = transport.status();
    let client = McpClient::builder().connect(transport).await.unwrap();
    let pid = status.pid().unwrap();
    let server = client.initialize().await.unwrap();
    assert_eq!(server.server_info.name, "mcp-tower-stdio-example");
    let echo = client
        .call_tool("echo", json!({"text": "through a pipe"}))
        .await
        .unwrap();
    assert_eq!(text(&echo), "through a pipe");
    let sum = client
        .call_tool("add", json!({"a": 20, "b": 22}))
        .await
        .unwrap();
    assert_eq!(text(&sum), "42");
    client.close().await.unwrap();
    // `close` returns once the child exited and was reaped.
    let exit = status.exit_status().expect("the child was waited for");
    assert!(exit.success(), "the server exited with {exit:?}");
    assert!(!exists(pid), "process {pid} is still there");
}

#[tokio::test]
async fn dropping_the_client_closes_stdin_and_the_child_exits() {
    let transport = stdio_server();
    let status = transport.status();
    let client = McpClient::builder().connect(transport).await.unwrap();
    let pid = status.pid().unwrap();
    client.initialize().await.unwrap();
    drop(client);
    let exit = status.exited().await.unwrap();
    assert!(exit.success(), "the server exited with {exit:?}");
    assert!(!exists(pid), "process {pid} is still there");
}

#[tokio::test]
async fn a_child_that_ignores_its_closed_stdin_gets_sigterm_after_the_grace_period() {
    // `sleep` never reads stdin nor exits by itself, but dies of SIGTERM.
    // The grace period is long enough that SIGTERM has done its work before
    // SIGKILL would be due, on any machine.
    let mut command = Command::new("sleep");
    command.arg("3600");
    let transport = ChildProcess::new(command).grace_period(Duration::from_secs(2));
    let status = transport.status();
    let client = McpClient::builder().connect(transport).await.unwrap();
    let pid = status.pid().unwrap();
    client.close().await.unwrap();
    let exit = status.exit_status().unwrap();
    assert_eq!(
        exit.signal(),
        Some(15),
        "the child was not terminated: {exit:?}"
    );
    assert!(!exists(pid), "process {pid} is still there");
}

/// The process's command name.
fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Whether the process ignores SIGTERM (bit 15 of `SigIgn` in
/// `/proc/PID/status`).
fn ignores_sigterm(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("SigIgn:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (15 - 1)) != 0)
}

#[tokio::test]
async fn a_child_that_ignores_sigterm_too_is_killed() {
    // SIGTERM ignored (kept across exec): only SIGKILL ends it. No grace at
    // all, so the test does not wait.
    let mut command = Command::new("sh");
    command.args(["-c", "trap '' TERM; exec sleep 3600"]);
    let transport = ChildProcess::new(command).grace_period(Duration::ZERO);
    let status = transport.status();
    let client = McpClient::builder().connect(transport).await.unwrap();
    let pid = status.pid().unwrap();
    // Only once `sleep` runs with SIGTERM ignored is the test meaningful
    // (a SIGTERM sent earlier would end the shell).
    while !(comm(pid) == "sleep" && ignores_sigterm(pid)) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    client.close().await.unwrap();
    let exit = status.exit_status().unwrap();
    assert_eq!(exit.signal(), Some(9), "the child was not killed: {exit:?}");
    assert!(!exists(pid), "process {pid} is still there");
}

#[tokio::test]
async fn a_command_that_cannot_start_is_an_error() {
    let transport = ChildProcess::new(Command::new("/nonexistent/mcp-server"));
    let status = transport.status();
    let error = McpClient::builder().connect(transport).await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
    assert_eq!(status.exited().await, None);
}
