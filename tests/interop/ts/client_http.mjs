// The official MCP TypeScript SDK client against a Streamable HTTP server.
// Usage: node client_http.mjs URL
// Prints one JSON object with what the server answered.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [, , url] = process.argv;
const transport = new StreamableHTTPClientTransport(new URL(url));
const client = new Client({ name: "ts-sdk-http-interop", version: "1.0.0" });
const errors = [];
transport.onerror = (error) => errors.push(String(error));
await client.connect(transport);

const out = {
  server: client.getServerVersion(),
  capabilities: client.getServerCapabilities(),
  sessionId: transport.sessionId ?? null,
  protocolVersion: transport.protocolVersion ?? null,
};
out.tools = (await client.listTools()).tools;
out.echo = await client.callTool({ name: "echo", arguments: { text: "hello over HTTP" } });
out.add = await client.callTool({ name: "add", arguments: { a: 20, b: 22 } });
const progress = [];
out.slow = await client.callTool(
  { name: "slow", arguments: { steps: 3 } },
  undefined,
  { onprogress: (p) => progress.push(p) },
);
out.progress = progress;
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
await transport.terminateSession();
out.terminated = transport.sessionId === undefined;
await client.close();
// Errors the transport reported (a refused GET stream would show here).
out.errors = errors;
console.log(JSON.stringify(out));
