//! MCP `tools/call` throughput and latency against the official Rust SDK
//! (`rmcp`), measured side by side in one run.
//!
//! Both SDKs serve the same tool, `add` (`{"a": i64, "b": i64}` → the sum as
//! text), and both have a client. Each transport is measured in four pairs,
//! server-client: ours-ours, rmcp-rmcp, and the cross pairs ours-rmcp (our
//! server, rmcp's client) and rmcp-ours, which separate the client's cost
//! from the server's. Transports:
//! - `pipe`: in-memory pipes (`tokio::io::duplex`, 64 KiB) with the stdio
//!   framing, newline-delimited JSON: our `StreamTransport` +
//!   `serve_channel` / `McpClient`, rmcp's async-rw transport.
//! - `http`: Streamable HTTP over TCP on 127.0.0.1 (HTTP/1.1): our
//!   `StreamableHttpService::with_defaults` and rmcp's `StreamableHttpService`
//!   (session mode, `LocalSessionManager`), each served by hyper 1 through
//!   `hyper_util`'s `TowerToHyperService` on its own listener; clients: our
//!   `StreamableHttpClient::hyper` and rmcp's `StreamableHttpClientTransport`
//!   (reqwest). Each client is its own session and its own HTTP client (its own
//!   connection pool). In session mode rmcp's server always answers a `POST`ed
//!   request with an SSE stream, while ours answers with plain JSON when the
//!   tool sends nothing before its result.
//!
//! Every answer is checked (the text must be the sum); a wrong answer
//! panics. Before anything is timed each pair answers a few known sums.
//!
//! The servers run on their own runtime (`MCP_SERVER_THREADS` workers,
//! default 1, threads named `mcp-server`), the clients on a current-thread
//! runtime on the main thread. "1 client" is one connection (one session)
//! sending one request at a time; "64 clients" are 64 connections (64
//! sessions), each sending one request at a time, on the same client thread.
//! `MCP_OURS_SSE=1` makes our HTTP server answer every `POST` with an SSE
//! stream, as rmcp's does. `MCP_HTTP_N1` (default 10000) and `MCP_HTTP_N64` (default 32000) set the
//! HTTP sizes; `MCP_WIRES` (default `pipe,http`) picks the transports.
//!
//! After criterion (`mcp_pipe/{ours,rmcp}`: one round trip per iteration, one
//! client), an interleaved run: `MCP_ROUNDS` rounds (default 6), each running
//! every pair in turn (forward order in even rounds, backward in odd ones)
//! for its share of `MCP_N1` calls (default 20000) with one client and of
//! `MCP_N64` calls (default 64000) with 64 clients (`MCP_CLIENTS`), so the
//! drift of a shared machine (CPU steal) falls on all pairs alike. The table
//! gives, per transport and client count: requests/s (all calls over all
//! their time), p50 and p99 latency over every call (send to decoded
//! answer), CPU time per call on the server threads and on the client thread
//! (from `/proc/self/task/*/schedstat`), and throughput relative to
//! rmcp-rmcp; then ours/rmcp throughput (ours-ours over rmcp-rmcp) as the
//! total ratio and as the median and range of the per-round ratios.
//!
//! `MCP_TABLE_ONLY=1` skips criterion. `MCP_PROFILE=<server>-<client>`
//! (for example `ours-ours`, `rmcp-rmcp`) runs one pair with one client in a
//! loop for `MCP_PROFILE_SECS` (default 10), for `perf` or
//! `valgrind --tool=callgrind`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "support/criterion_results.rs"]
mod criterion_results;
#[path = "../examples/support/serve_http.rs"]
mod serve_http;

use std::fmt::Write as _;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use criterion::Criterion;
use criterion_results::criterion_mean;
use mcp_tower::services::client::McpClient;
use mcp_tower::services::protocol::{CallToolResult, ContentBlock};
use mcp_tower::services::server::{McpServer, ToolContext, ToolError};
use mcp_tower::services::transport::{StreamTransport, Transport, serve_channel};
use mcp_tower_services::transport::http::{StreamableHttpConfig, StreamableHttpService};
use mcp_tower_services::transport::http_client::StreamableHttpClient;
use rmcp::handler::server::{router::tool::ToolRouter, wrapper::Parameters};
use rmcp::model::{
    CallToolRequestParams, ClientConfig, ProtocolVersion, ServerCapabilities, ServerConfig,
};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService as RmcpHttpService,
};
use rmcp::{RoleClient, ServerHandler, ServiceExt, tool, tool_handler, tool_router};
use tokio::runtime::{Handle, Runtime};

const PIPE_BYTES: usize = 64 * 1024;
const SERVER_THREAD: &str = "mcp-server";
const CLIENT_THREAD: &str = "mcp-client";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------------------
// The tool, in both SDKs
// ---------------------------------------------------------------------------

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct AddArgs {
    a: i64,
    b: i64,
}

fn ours_server() -> McpServer {
    McpServer::builder()
        .name("bench-ours")
        .tool(
            "add",
            "Adds two integers",
            |_ctx: ToolContext, args: AddArgs| async move {
                Ok::<_, ToolError>(CallToolResult::text((args.a + args.b).to_string()))
            },
        )
        .build()
        .unwrap()
}

#[derive(Clone)]
struct RmcpAdd {
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl RmcpAdd {
    fn new() -> Self {
        Self {
            tool_router: Self::tool_router(),
        }
    }

    #[tool(description = "Adds two integers")]
    #[allow(clippy::unused_self, clippy::needless_pass_by_value)]
    fn add(&self, Parameters(AddArgs { a, b }): Parameters<AddArgs>) -> String {
        (a + b).to_string()
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for RmcpAdd {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

// ---------------------------------------------------------------------------
// Pairs and connections
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Ours,
    Rmcp,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Ours => "ours",
            Side::Rmcp => "rmcp",
        }
    }
}

/// A server and a client.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Pair {
    server: Side,
    client: Side,
}

impl Pair {
    /// In table order: ours-ours, rmcp-rmcp, then the cross pairs.
    const ALL: [Pair; 4] = [
        Pair::new(Side::Ours, Side::Ours),
        Pair::new(Side::Rmcp, Side::Rmcp),
        Pair::new(Side::Ours, Side::Rmcp),
        Pair::new(Side::Rmcp, Side::Ours),
    ];
    const OURS: Pair = Pair::ALL[0];
    const RMCP: Pair = Pair::ALL[1];

    const fn new(server: Side, client: Side) -> Self {
        Self { server, client }
    }

    fn name(self) -> String {
        format!("{}-{}", self.server.name(), self.client.name())
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Wire {
    Pipe,
    Http,
}

impl Wire {
    fn name(self) -> &'static str {
        match self {
            Wire::Pipe => "pipe",
            Wire::Http => "http",
        }
    }
}

type RmcpClient = RunningService<RoleClient, ClientConfig>;

/// A connected, initialized client of either SDK.
#[derive(Clone)]
enum Client {
    Ours(McpClient),
    Rmcp(Arc<RmcpClient>),
}

impl Client {
    /// Our client over `transport`, initialized.
    async fn ours(transport: impl Transport) -> Self {
        let client = McpClient::builder()
            .name("bench-ours")
            .connect(transport)
            .await
            .unwrap();
        client.initialize().await.unwrap();
        Client::Ours(client)
    }

    /// rmcp's client over `transport`, initialized.
    async fn rmcp<T, E, A>(transport: T) -> Self
    where
        T: rmcp::transport::IntoTransport<RoleClient, E, A>,
        E: std::error::Error + Send + Sync + 'static,
    {
        let config = ClientConfig::default().with_protocol_version(ProtocolVersion::V_2025_11_25);
        Client::Rmcp(Arc::new(config.serve(transport).await.unwrap()))
    }

    /// Calls `add(a, b)` and returns the answer's text.
    async fn add(&self, a: i64, b: i64) -> String {
        let arguments = serde_json::json!({ "a": a, "b": b });
        match self {
            Client::Ours(client) => {
                let result = client.call_tool("add", arguments).await.unwrap();
                assert_ne!(result.is_error, Some(true), "ours: tool error {result:?}");
                match result.content.into_iter().next() {
                    Some(ContentBlock::Text(text)) => text.text,
                    other => panic!("ours: not a text answer: {other:?}"),
                }
            }
            Client::Rmcp(client) => {
                let serde_json::Value::Object(arguments) = arguments else {
                    unreachable!()
                };
                let params = CallToolRequestParams::new("add").with_arguments(arguments);
                let result = client.peer().call_tool(params).await.unwrap();
                assert_ne!(result.is_error, Some(true), "rmcp: tool error {result:?}");
                match result.content.into_iter().next() {
                    Some(rmcp::model::ContentBlock::Text(text)) => text.text,
                    other => panic!("rmcp: not a text answer: {other:?}"),
                }
            }
        }
    }

    /// Calls `add(a, b)` and panics unless the answer is the sum.
    async fn checked_add(&self, a: i64, b: i64) {
        let text = self.add(a, b).await;
        assert!(
            text.parse::<i64>().ok() == Some(a + b),
            "wrong answer: {a} + {b} = {text:?}"
        );
    }
}

/// Where the servers run.
struct Servers {
    runtime: Runtime,
    ours: McpServer,
    /// `http://127.0.0.1:<port>/mcp` of our Streamable HTTP server.
    ours_url: String,
    /// `http://127.0.0.1:<port>/mcp` of rmcp's Streamable HTTP server.
    rmcp_url: String,
}

/// Serves `service` with hyper (HTTP/1.1) on 127.0.0.1:0 on the current
/// runtime; returns the endpoint URL.
async fn serve_http<S, B>(service: S) -> String
where
    S: tower::Service<hyper::Request<hyper::body::Incoming>, Response = hyper::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::Future: Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    tokio::spawn(serve_http::serve(listener, service));
    url
}

impl Servers {
    fn start(threads: usize) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name(SERVER_THREAD)
            .enable_all()
            .build()
            .unwrap();
        let ours = ours_server();
        // `MCP_OURS_SSE=1`: ours answers every POST with an SSE stream too,
        // as rmcp does in session mode.
        let config = if std::env::var_os("MCP_OURS_SSE").is_some() {
            StreamableHttpConfig::builder()
                .sse_always()
                .build()
                .unwrap()
        } else {
            StreamableHttpConfig::default()
        };
        let ours_http = StreamableHttpService::new(ours.clone(), config);
        let rmcp_http = RmcpHttpService::new(
            || Ok(RmcpAdd::new()),
            Arc::new(LocalSessionManager::default()),
            StreamableHttpServerConfig::default(),
        );
        let (ours_url, rmcp_url) =
            runtime.block_on(async { (serve_http(ours_http).await, serve_http(rmcp_http).await) });
        Self {
            runtime,
            ours,
            ours_url,
            rmcp_url,
        }
    }

    fn handle(&self) -> &Handle {
        self.runtime.handle()
    }

    /// Serves one pipe connection with `side`'s server.
    fn serve_pipe(&self, side: Side, io: tokio::io::DuplexStream) {
        let (read, write) = tokio::io::split(io);
        match side {
            Side::Ours => {
                let server = self.ours.clone();
                self.handle().spawn(async move {
                    let channel = StreamTransport::new(read, write).open().await.unwrap();
                    let _ = serve_channel(server, channel).await;
                });
            }
            Side::Rmcp => {
                self.handle().spawn(async move {
                    let running = RmcpAdd::new().serve((read, write)).await.unwrap();
                    let _ = running.waiting().await;
                });
            }
        }
    }

    /// A new client of `pair.client` connected to `pair.server` over `wire`,
    /// initialized. Runs on the client runtime.
    async fn connect(&self, wire: Wire, pair: Pair) -> Client {
        match wire {
            Wire::Pipe => {
                let (client_io, server_io) = tokio::io::duplex(PIPE_BYTES);
                self.serve_pipe(pair.server, server_io);
                let (read, write) = tokio::io::split(client_io);
                match pair.client {
                    Side::Ours => Client::ours(StreamTransport::new(read, write)).await,
                    Side::Rmcp => Client::rmcp((read, write)).await,
                }
            }
            Wire::Http => {
                let url = match pair.server {
                    Side::Ours => &self.ours_url,
                    Side::Rmcp => &self.rmcp_url,
                };
                match pair.client {
                    Side::Ours => Client::ours(StreamableHttpClient::hyper(url).unwrap()).await,
                    Side::Rmcp => {
                        Client::rmcp(StreamableHttpClientTransport::from_uri(url.as_str())).await
                    }
                }
            }
        }
    }
}

/// Panics unless `client` answers known sums.
async fn verify(client: &Client) {
    for (a, b) in [
        (2, 40),
        (-7, 3),
        (0, 0),
        (1 << 40, -(1 << 41)),
        (i64::MAX - 5, 5),
    ] {
        client.checked_add(a, b).await;
    }
}

// ---------------------------------------------------------------------------
// CPU time per thread
// ---------------------------------------------------------------------------

/// CPU time (ns) of this process's threads, split into server threads and
/// the rest (the client thread, which is the main thread, and the client
/// runtime's helpers), from `/proc/self/task/*/schedstat`; zeros off Linux.
fn cpu_ns() -> (u64, u64) {
    let (mut server, mut client) = (0, 0);
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return (0, 0);
    };
    for task in tasks.flatten() {
        let dir = task.path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        let ns: u64 = std::fs::read_to_string(dir.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        if comm.trim() == SERVER_THREAD {
            server += ns;
        } else {
            client += ns;
        }
    }
    (server, client)
}

// ---------------------------------------------------------------------------
// Driving load
// ---------------------------------------------------------------------------

/// What one stretch of calls (or the sum of several) measured.
#[derive(Default)]
struct Outcome {
    calls: usize,
    elapsed: Duration,
    /// Latencies in nanoseconds (sorted by [`Outcome::finish`]).
    latencies: Vec<u64>,
    server_cpu_ns: u64,
    client_cpu_ns: u64,
}

impl Outcome {
    #[allow(clippy::cast_precision_loss)]
    fn rps(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64()
    }

    fn add(&mut self, other: Outcome) {
        self.calls += other.calls;
        self.elapsed += other.elapsed;
        self.latencies.extend(other.latencies);
        self.server_cpu_ns += other.server_cpu_ns;
        self.client_cpu_ns += other.client_cpu_ns;
    }

    fn finish(&mut self) {
        self.latencies.sort_unstable();
    }

    /// The `q` quantile in microseconds (of sorted latencies).
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    fn quantile_us(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let index = ((self.latencies.len() - 1) as f64 * q).round() as usize;
        self.latencies[index] as f64 / 1000.0
    }

    #[allow(clippy::cast_precision_loss)]
    fn per_call_us(&self, ns: u64) -> f64 {
        ns as f64 / 1000.0 / self.calls as f64
    }
}

/// Sends `n` calls in all from `clients`, each one at a time, and checks
/// every answer.
async fn drive(clients: &[Client], n: usize, seed: i64) -> Outcome {
    let next = Arc::new(AtomicUsize::new(0));
    let (server_before, client_before) = cpu_ns();
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for client in clients {
        let (client, next) = (client.clone(), Arc::clone(&next));
        tasks.spawn(async move {
            let mut latencies = Vec::with_capacity(n / 8 + 1);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let a = i64::try_from(i).unwrap();
                let sent = Instant::now();
                let text = client.add(a, seed).await;
                latencies.push(u64::try_from(sent.elapsed().as_nanos()).unwrap_or(u64::MAX));
                assert!(
                    text.parse::<i64>().ok() == Some(a + seed),
                    "wrong answer: {a} + {seed} = {text:?}"
                );
            }
            latencies
        });
    }
    let mut latencies = Vec::with_capacity(n);
    while let Some(joined) = tasks.join_next().await {
        latencies.extend(joined.unwrap());
    }
    let elapsed = start.elapsed();
    let (server_after, client_after) = cpu_ns();
    assert_eq!(latencies.len(), n, "calls lost");
    Outcome {
        calls: n,
        elapsed,
        latencies,
        server_cpu_ns: server_after.saturating_sub(server_before),
        client_cpu_ns: client_after.saturating_sub(client_before),
    }
}

/// The clients of every pair on one wire, with one or many connections.
struct Fleet {
    wire: Wire,
    clients: usize,
    pairs: Vec<(Pair, Vec<Client>)>,
}

impl Fleet {
    async fn connect(servers: &Servers, wire: Wire, clients: usize) -> Self {
        let mut pairs = Vec::new();
        for pair in Pair::ALL {
            let mut list = Vec::with_capacity(clients);
            for _ in 0..clients {
                let client = servers.connect(wire, pair).await;
                verify(&client).await;
                list.push(client);
            }
            pairs.push((pair, list));
        }
        Self {
            wire,
            clients,
            pairs,
        }
    }
}

/// Totals of one fleet over every round, and the per-round ours/rmcp ratios.
struct Table {
    wire: Wire,
    clients: usize,
    totals: Vec<(Pair, Outcome)>,
    round_ratios: Vec<f64>,
}

/// Runs `rounds` rounds of `n` calls per pair (split into equal shares),
/// alternating the order of the pairs.
fn interleave(client_rt: &Runtime, fleet: &Fleet, n: usize, rounds: usize) -> Table {
    let share = (n / rounds).max(fleet.clients);
    let mut totals: Vec<(Pair, Outcome)> = fleet
        .pairs
        .iter()
        .map(|(pair, _)| (*pair, Outcome::default()))
        .collect();
    let mut round_ratios = Vec::with_capacity(rounds);
    // Untimed warm-up of every pair.
    for (_, clients) in &fleet.pairs {
        client_rt.block_on(drive(clients, (share / 10).max(fleet.clients), -1));
    }
    for round in 0..rounds {
        let mut order: Vec<usize> = (0..fleet.pairs.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        let mut rps = [f64::NAN; 4];
        for i in order {
            let (pair, clients) = &fleet.pairs[i];
            let seed = i64::try_from(round).unwrap() * 1000 + 1;
            let outcome = client_rt.block_on(drive(clients, share, seed));
            rps[i] = outcome.rps();
            debug_assert_eq!(totals[i].0, *pair);
            totals[i].1.add(outcome);
        }
        round_ratios.push(rps[0] / rps[1]);
    }
    for (_, total) in &mut totals {
        total.finish();
    }
    Table {
        wire: fleet.wire,
        clients: fleet.clients,
        totals,
        round_ratios,
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 0 {
        f64::midpoint(sorted[mid - 1], sorted[mid])
    } else {
        sorted[mid]
    }
}

fn print_table(table: &Table) -> String {
    let mut out = String::new();
    let rmcp = table
        .totals
        .iter()
        .find(|(p, _)| *p == Pair::RMCP)
        .map_or(f64::NAN, |(_, o)| o.rps());
    let _ = writeln!(
        out,
        "{} transport, {} client{} ({} calls per pair):",
        table.wire.name(),
        table.clients,
        if table.clients == 1 { "" } else { "s" },
        table.totals[0].1.calls,
    );
    let _ = writeln!(
        out,
        "  {:<11} {:>9} {:>9} {:>9} {:>13} {:>13} {:>8}",
        "server-client", "req/s", "p50 µs", "p99 µs", "server µs/call", "client µs/call", "vs rmcp"
    );
    for (pair, o) in &table.totals {
        let _ = writeln!(
            out,
            "  {:<13} {:>9.0} {:>9.1} {:>9.1} {:>14.1} {:>14.1} {:>7.2}x",
            pair.name(),
            o.rps(),
            o.quantile_us(0.50),
            o.quantile_us(0.99),
            o.per_call_us(o.server_cpu_ns),
            o.per_call_us(o.client_cpu_ns),
            o.rps() / rmcp,
        );
    }
    let ours = table
        .totals
        .iter()
        .find(|(p, _)| *p == Pair::OURS)
        .map_or(f64::NAN, |(_, o)| o.rps());
    let lo = table.round_ratios.iter().copied().fold(f64::NAN, f64::min);
    let hi = table.round_ratios.iter().copied().fold(f64::NAN, f64::max);
    let _ = writeln!(
        out,
        "  ours/rmcp throughput: {:.2}x overall, per round median {:.2}x (range {lo:.2}-{hi:.2}, {} rounds){}",
        ours / rmcp,
        median(&table.round_ratios),
        table.round_ratios.len(),
        if ours / rmcp >= 1.5 {
            ""
        } else {
            "  BELOW the 1.5x target"
        },
    );
    if table.wire == Wire::Http {
        let note = if std::env::var_os("MCP_OURS_SSE").is_some() {
            "both servers answer every POST with an SSE stream (ours with MCP_OURS_SSE=1)"
        } else {
            "in session mode rmcp's server always answers with an SSE stream; ours answers with plain JSON when the tool sends nothing first (MCP_OURS_SSE=1: SSE too)"
        };
        let _ = writeln!(out, "  note: {note}");
    }
    out
}

// ---------------------------------------------------------------------------
// Criterion: one round trip, one client
// ---------------------------------------------------------------------------

fn bench_round_trip(c: &mut Criterion, client_rt: &Runtime, servers: &Servers, wire: Wire) {
    let mut group = c.benchmark_group(format!("mcp_{}", wire.name()));
    for pair in [Pair::OURS, Pair::RMCP] {
        let client = client_rt.block_on(async {
            let client = servers.connect(wire, pair).await;
            verify(&client).await;
            client
        });
        let mut i = 0i64;
        group.bench_function(pair.client.name(), |b| {
            b.iter(|| {
                i += 1;
                client_rt.block_on(client.checked_add(i, 7));
            });
        });
    }
    group.finish();
}

fn criterion_ratio(wire: Wire, since: SystemTime) {
    let group = format!("mcp_{}", wire.name());
    let ours = criterion_mean(&group, "ours", since);
    let rmcp = criterion_mean(&group, "rmcp", since);
    if let (Some(ours), Some(rmcp)) = (ours, rmcp) {
        println!(
            "criterion {group}: ours {:.1} µs, rmcp {:.1} µs per round trip: ours/rmcp throughput {:.2}x",
            ours / 1000.0,
            rmcp / 1000.0,
            rmcp / ours
        );
    }
}

// ---------------------------------------------------------------------------
// Profiling mode
// ---------------------------------------------------------------------------

fn profile(client_rt: &Runtime, servers: &Servers, what: &str) {
    let pair = Pair::ALL
        .into_iter()
        .find(|p| p.name() == what)
        .unwrap_or_else(|| panic!("unknown MCP_PROFILE {what:?}: server-client, e.g. ours-ours"));
    let secs: u64 = env_or("MCP_PROFILE_SECS", 10);
    let client = client_rt.block_on(servers.connect(Wire::Pipe, pair));
    client_rt.block_on(verify(&client));
    let clients = [client];
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut total = Outcome::default();
    while Instant::now() < deadline {
        total.add(client_rt.block_on(drive(&clients, 10_000, 3)));
    }
    total.finish();
    println!(
        "{what} pipe: {} calls, {:.0} req/s, p50 {:.1} µs, server {:.1} µs/call, client {:.1} µs/call",
        total.calls,
        total.rps(),
        total.quantile_us(0.5),
        total.per_call_us(total.server_cpu_ns),
        total.per_call_us(total.client_cpu_ns),
    );
}

fn run<F: Future>(client_rt: &Runtime, future: F) -> F::Output {
    client_rt.block_on(future)
}

fn main() {
    let servers = Servers::start(env_or("MCP_SERVER_THREADS", 1usize).max(1));
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .thread_name(CLIENT_THREAD)
        .enable_all()
        .build()
        .unwrap();
    if let Ok(what) = std::env::var("MCP_PROFILE") {
        profile(&client_rt, &servers, &what);
        return;
    }
    let n1: usize = env_or("MCP_N1", 20_000);
    let n64: usize = env_or("MCP_N64", 64_000);
    let many: usize = env_or("MCP_CLIENTS", 64usize).max(2);
    let rounds: usize = env_or("MCP_ROUNDS", 6usize).max(1);
    let http_n1: usize = env_or("MCP_HTTP_N1", 10_000);
    let http_n64: usize = env_or("MCP_HTTP_N64", 32_000);
    let wires: Vec<Wire> = std::env::var("MCP_WIRES")
        .unwrap_or_else(|_| "pipe,http".to_owned())
        .split(',')
        .map(|w| match w.trim() {
            "pipe" => Wire::Pipe,
            "http" => Wire::Http,
            other => panic!("unknown MCP_WIRES entry {other:?}: pipe, http"),
        })
        .collect();

    let since = SystemTime::now();
    if std::env::var_os("MCP_TABLE_ONLY").is_none() {
        let mut c = Criterion::default()
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3))
            .configure_from_args();
        for &wire in &wires {
            bench_round_trip(&mut c, &client_rt, &servers, wire);
        }
        c.final_summary();
    }

    println!(
        "mcp: tools/call add, {rounds} interleaved rounds; servers on {} worker(s), clients on one thread; {} CPUs",
        servers.runtime.metrics().num_workers(),
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
    );
    let mut report = String::new();
    for &wire in &wires {
        let (n1, n64) = match wire {
            Wire::Pipe => (n1, n64),
            Wire::Http => (http_n1, http_n64),
        };
        for (clients, n) in [(1, n1), (many, n64)] {
            let fleet = run(&client_rt, Fleet::connect(&servers, wire, clients));
            let table = interleave(&client_rt, &fleet, n, rounds);
            let text = print_table(&table);
            print!("{text}");
            report.push_str(&text);
            drop(fleet);
        }
    }
    for &wire in &wires {
        criterion_ratio(wire, since);
    }
    println!("\nsummary\n{report}");
    servers.runtime.shutdown_timeout(Duration::from_secs(1));
}
