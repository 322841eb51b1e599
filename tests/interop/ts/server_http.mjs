// An MCP server built with the official TypeScript SDK, for our HTTP client
// transports to talk to. Usage: node server_http.mjs (streamable|sse)
//
// streamable: StreamableHTTPServerTransport at /mcp, one transport per
//   session, resumable (an event store with ordered ids, retry 50 ms).
// sse: the deprecated SSEServerTransport, GET /sse and POST /messages.
//
// Listens on 127.0.0.1 on an ephemeral port and prints one line,
// `listening on http://127.0.0.1:PORT`, to stdout, then one JSON line per
// event the test may want to see (`{"event":"cancelled",...}`).
import { createServer } from "node:http";
import { randomUUID } from "node:crypto";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { SSEServerTransport } from "@modelcontextprotocol/sdk/server/sse.js";
import * as z from "zod/v4";

const mode = process.argv[2] ?? "streamable";
const report = (event) => process.stdout.write(JSON.stringify(event) + "\n");

// Cancellations seen by the `hang` tool, for the `cancellations` tool.
const cancellations = [];
const cancellationWaiters = [];
const onCancelled = (entry) => {
  cancellations.push(entry);
  report({ event: "cancelled", ...entry });
  while (cancellationWaiters.length) cancellationWaiters.shift()();
};

/** An EventStore whose ids sort in the order events were stored. */
class OrderedEventStore {
  constructor() {
    this.events = [];
    this.next = 0;
  }
  async storeEvent(streamId, message) {
    const id = `${streamId}_${String(this.next++).padStart(8, "0")}`;
    this.events.push({ id, streamId, message });
    return id;
  }
  async getStreamIdForEventId(eventId) {
    return this.events.find((e) => e.id === eventId)?.streamId;
  }
  async replayEventsAfter(lastEventId, { send }) {
    const index = this.events.findIndex((e) => e.id === lastEventId);
    if (index < 0) return "";
    const { streamId } = this.events[index];
    for (const event of this.events.slice(index + 1)) {
      if (event.streamId === streamId) await send(event.id, event.message);
    }
    return streamId;
  }
}

function build() {
  const server = new McpServer(
    { name: "ts-sdk-http-server", version: "1.0.0" },
    { capabilities: { logging: {} } },
  );
  server.registerTool(
    "echo",
    { description: "Echoes its text", inputSchema: { text: z.string() } },
    async ({ text }) => ({ content: [{ type: "text", text }] }),
  );
  server.registerTool(
    "add",
    { description: "Adds two numbers", inputSchema: { a: z.number(), b: z.number() } },
    async ({ a, b }) => ({ content: [{ type: "text", text: String(a + b) }] }),
  );
  server.registerTool(
    "progress",
    { description: "Reports progress steps, then answers", inputSchema: { steps: z.number() } },
    async ({ steps }, extra) => {
      const token = extra._meta?.progressToken;
      for (let i = 1; i <= steps; i++) {
        if (token !== undefined) {
          await extra.sendNotification({
            method: "notifications/progress",
            params: { progressToken: token, progress: i, total: steps, message: `step ${i}` },
          });
        }
      }
      return { content: [{ type: "text", text: `${steps} steps done` }] };
    },
  );
  server.registerTool(
    "poll",
    {
      description: "Reports progress, closes its SSE stream (the client polls), then answers",
      inputSchema: {},
    },
    async (_args, extra) => {
      const token = extra._meta?.progressToken;
      const progress = (n) =>
        token === undefined
          ? Promise.resolve()
          : extra.sendNotification({
              method: "notifications/progress",
              params: { progressToken: token, progress: n, total: 2 },
            });
      await progress(1);
      const closed = typeof extra.closeSSEStream === "function";
      extra.closeSSEStream?.();
      report({ event: "stream-closed", closed });
      // Stored in the event store and replayed when the client resumes.
      await progress(2);
      return { content: [{ type: "text", text: `polled (stream closed: ${closed})` }] };
    },
  );
  server.registerTool(
    "hang",
    { description: "Reports once, then waits until cancelled", inputSchema: {} },
    async (_args, extra) => {
      const token = extra._meta?.progressToken;
      await new Promise((resolve) => {
        extra.signal.addEventListener("abort", () => {
          onCancelled({ requestId: extra.requestId, reason: String(extra.signal.reason ?? "") });
          resolve();
        });
        if (token !== undefined) {
          extra.sendNotification({
            method: "notifications/progress",
            params: { progressToken: token, progress: 0 },
          });
        }
      });
      return { content: [{ type: "text", text: "cancelled" }] };
    },
  );
  server.registerTool(
    "cancellations",
    { description: "Waits for a cancellation, then lists those seen", inputSchema: {} },
    async () => {
      if (cancellations.length === 0) {
        await new Promise((resolve) => cancellationWaiters.push(resolve));
      }
      return { content: [{ type: "text", text: JSON.stringify(cancellations) }] };
    },
  );
  server.registerTool(
    "ask",
    { description: "Asks the user for a name (elicitation)", inputSchema: {} },
    async () => {
      const answer = await server.server.elicitInput({
        message: "What is your name?",
        requestedSchema: {
          type: "object",
          properties: { name: { type: "string", description: "Your name" } },
          required: ["name"],
        },
      });
      const name = answer.action === "accept" ? answer.content?.name : "nobody";
      return { content: [{ type: "text", text: `${answer.action}: ${name}` }] };
    },
  );
  server.registerResource(
    "about",
    "memo://about",
    { description: "What this server is", mimeType: "text/plain" },
    async (uri) => ({
      contents: [{ uri: uri.href, mimeType: "text/plain", text: "A TypeScript SDK server." }],
    }),
  );
  server.registerPrompt(
    "greet",
    { description: "Greets someone", argsSchema: { who: z.string() } },
    ({ who }) => ({
      messages: [{ role: "user", content: { type: "text", text: `Say hello to ${who}.` } }],
    }),
  );
  return server;
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString("utf8");
  return text ? JSON.parse(text) : undefined;
}

const streamable = new Map();
const legacy = new Map();

const http = createServer(async (req, res) => {
  try {
    const url = new URL(req.url, "http://127.0.0.1");
    if (mode === "streamable" && url.pathname === "/mcp") {
      const sessionId = req.headers["mcp-session-id"];
      if (req.method === "POST") {
        const body = await readJson(req);
        let transport = sessionId ? streamable.get(sessionId) : undefined;
        if (!transport && !sessionId && body?.method === "initialize") {
          transport = new StreamableHTTPServerTransport({
            sessionIdGenerator: () => randomUUID(),
            eventStore: new OrderedEventStore(),
            retryInterval: 50,
            onsessioninitialized: (id) => streamable.set(id, transport),
            onsessionclosed: (id) => {
              streamable.delete(id);
              report({ event: "session-deleted" });
            },
          });
          await build().connect(transport);
        }
        if (!transport) {
          res.writeHead(404, { "content-type": "application/json" }).end(
            JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32001, message: "Session not found" } }),
          );
          return;
        }
        await transport.handleRequest(req, res, body);
        return;
      }
      const transport = sessionId ? streamable.get(sessionId) : undefined;
      if (!transport) {
        res.writeHead(sessionId ? 404 : 400).end();
        return;
      }
      await transport.handleRequest(req, res);
      return;
    }
    if (mode === "sse" && url.pathname === "/sse" && req.method === "GET") {
      const transport = new SSEServerTransport("/messages", res);
      legacy.set(transport.sessionId, transport);
      transport.onclose = () => legacy.delete(transport.sessionId);
      await build().connect(transport);
      return;
    }
    if (mode === "sse" && url.pathname === "/messages" && req.method === "POST") {
      const transport = legacy.get(url.searchParams.get("sessionId"));
      if (!transport) {
        res.writeHead(404).end("Session not found");
        return;
      }
      await transport.handlePostMessage(req, res);
      return;
    }
    res.writeHead(404).end();
  } catch (error) {
    process.stderr.write(`server_http.mjs: ${error?.stack ?? error}\n`);
    if (!res.headersSent) res.writeHead(500).end();
  }
});

http.listen(0, "127.0.0.1", () => {
  process.stdout.write(`listening on http://127.0.0.1:${http.address().port}\n`);
});
