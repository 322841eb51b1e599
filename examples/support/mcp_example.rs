//! The example MCP server of `stdio_server`, `protected_server` and the
//! demo: tools `echo` and `add`, the resource `memo://about` and the prompt
//! `greet`.

use mcp_tower::services::protocol::{
    CallToolResult, ContentBlock, GetPromptResult, Prompt, PromptArgument, PromptMessage, Resource,
    ResourceContents, Role, TextResourceContents,
};
use mcp_tower::services::server::{McpServerBuilder, ToolContext, ToolError};

/// Arguments of `echo`.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Echo {
    /// The text to send back.
    text: String,
}

/// Arguments of `add`.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Add {
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
}

/// `greet`, with one required argument `who`.
fn greet_prompt() -> Prompt {
    let mut who = PromptArgument::new("who");
    who.description = Some("Whom to greet".into());
    who.required = Some(true);
    let mut prompt = Prompt::new("greet");
    prompt.description = Some("A greeting".into());
    prompt.arguments = Some(vec![who]);
    prompt
}

/// Adds the example's tools, resource and prompt to `builder`.
pub(crate) fn add_examples(builder: McpServerBuilder) -> McpServerBuilder {
    builder
        .tool(
            "echo",
            "Echoes the text back",
            |_ctx: ToolContext, args: Echo| async move {
                Ok::<_, ToolError>(CallToolResult::text(args.text))
            },
        )
        .tool(
            "add",
            "Adds two integers",
            |_ctx: ToolContext, args: Add| async move {
                args.a
                    .checked_add(args.b)
                    .map(|sum| CallToolResult::text(sum.to_string()))
                    .ok_or_else(|| ToolError::new("the sum does not fit in 64 bits"))
            },
        )
        .resource(Resource::new("memo://about", "about"), |_ctx| async move {
            let text = "An example MCP server built with mcp-tower.";
            Ok::<_, ToolError>(vec![ResourceContents::Text(TextResourceContents::new(
                "memo://about",
                text,
            ))])
        })
        .prompt(greet_prompt(), |_ctx, args| async move {
            let who = args.get("who").map_or("world", String::as_str);
            let message = PromptMessage::new(
                Role::User,
                ContentBlock::text(format!("Say hello to {who}.")),
            );
            Ok::<_, ToolError>(GetPromptResult::new(vec![message]))
        })
}
