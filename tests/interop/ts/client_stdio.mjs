// The official MCP TypeScript SDK client against a server started as a child
// process over stdio. Usage: node client_stdio.mjs SERVER_BINARY [ARGS...]
// Prints one JSON object with what the server answered.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const [, , command, ...args] = process.argv;
const transport = new StdioClientTransport({ command, args, stderr: "inherit" });
const client = new Client({ name: "ts-sdk-interop", version: "1.0.0" });
await client.connect(transport);

const out = { server: client.getServerVersion(), capabilities: client.getServerCapabilities() };
out.tools = (await client.listTools()).tools;
out.echo = await client.callTool({ name: "echo", arguments: { text: "hello from TypeScript" } });
out.add = await client.callTool({ name: "add", arguments: { a: 20, b: 22 } });
out.badArguments = await client.callTool({ name: "add", arguments: { a: "twenty" } });
try {
  await client.callTool({ name: "no-such-tool", arguments: {} });
  out.unknownTool = null;
} catch (error) {
  out.unknownTool = { code: error.code, message: error.message };
}
out.resources = (await client.listResources()).resources;
out.about = await client.readResource({ uri: "memo://about" });
out.prompts = (await client.listPrompts()).prompts;
out.greet = await client.getPrompt({ name: "greet", arguments: { who: "Ada" } });
await client.ping();
out.ping = "ok";
await client.setLoggingLevel("warning");
out.setLevel = "ok";
console.log(JSON.stringify(out));
await client.close();
