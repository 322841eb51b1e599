//! Interoperability with the official MCP TypeScript SDK: its client starts
//! `examples/stdio_server` as a child process and talks to it over stdio.
//! `scripts/test.sh` installs the SDK (`npm ci --prefix tests/interop/ts`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "support/examples.rs"]
mod examples;

use std::path::Path;
use std::process::Command;

use examples::example_binary;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn typescript_sdk_client_uses_our_stdio_server() {
    let sdk = root().join("tests/interop/ts/node_modules/@modelcontextprotocol/sdk");
    assert!(
        sdk.is_dir(),
        "the MCP TypeScript SDK is not installed: run `npm ci --prefix tests/interop/ts` (scripts/test.sh does)"
    );
    let output = Command::new("node")
        .arg(root().join("tests/interop/ts/client_stdio.mjs"))
        .arg(example_binary("stdio_server"))
        .output()
        .expect("node must be installed (scripts/test.sh checks)");
    assert!(
        output.status.success(),
        "the TypeScript client failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(out["server"]["name"], "mcp-tower-stdio-example");
    assert!(out["capabilities"]["tools"].is_object());
    let names: Vec<&str> = out["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["echo", "add"]);
    assert_eq!(
        out["tools"][1]["inputSchema"]["properties"]["a"]["type"],
        "integer"
    );
    assert_eq!(out["echo"]["content"][0]["text"], "hello from TypeScript");
    assert_eq!(out["add"]["content"][0]["text"], "42");
    assert_eq!(out["badArguments"]["isError"], true);
    assert_eq!(out["unknownTool"]["code"], -32602);
    assert_eq!(out["resources"][0]["uri"], "memo://about");
    assert!(
        out["about"]["contents"][0]["text"]
            .as_str()
            .unwrap()
            .contains("mcp-tower")
    );
    assert_eq!(out["prompts"][0]["name"], "greet");
    assert_eq!(out["prompts"][0]["arguments"][0]["required"], true);
    assert_eq!(
        out["greet"]["messages"][0]["content"]["text"],
        "Say hello to Ada."
    );
    assert_eq!(out["ping"], "ok");
    assert_eq!(out["setLevel"], "ok");
}
