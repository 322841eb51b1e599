// The official MCP TypeScript SDK's deprecated HTTP+SSE client (revision
// 2024-11-05) against a legacy SSE server. Usage: node client_sse.mjs SSE_URL
// Prints one JSON object with what the server answered.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";

const [, , url] = process.argv;
const transport = new SSEClientTransport(new URL(url));
const client = new Client({ name: "ts-sdk-sse-interop", version: "1.0.0" });
await client.connect(transport);

const out = { server: client.getServerVersion(), capabilities: client.getServerCapabilities() };
out.tools = (await client.listTools()).tools;
out.echo = await client.callTool({ name: "echo", arguments: { text: "hello over SSE" } });
out.add = await client.callTool({ name: "add", arguments: { a: 20, b: 22 } });
// Progress is not collected: this SDK version handles notifications a
// microtask after responses, so progress that arrives in the same chunk as
// the answer reaches it after the call ended ("unknown token"), with its own
// SSE server as well.
out.count = await client.callTool({ name: "count", arguments: { steps: 3 } });
try {
  await client.callTool({ name: "no-such-tool", arguments: {} });
  out.unknownTool = null;
} catch (error) {
  out.unknownTool = { code: error.code };
}
out.resources = (await client.listResources()).resources;
out.about = await client.readResource({ uri: "memo://about" });
await client.ping();
out.ping = "ok";
console.log(JSON.stringify(out));
await client.close();
