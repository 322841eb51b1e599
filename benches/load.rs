//! End-to-end bounded load on loopback: the protected stack against the bare
//! handler, measured in one process.
//!
//! Two hyper HTTP/1.1 servers listen on `127.0.0.1:0`: one serves the handler
//! alone, the other the `protected_server` example's own stack (built by the
//! same code, `examples/support/protected_stack.rs`, as with `--dpop allowed
//! --scope mcp:tools`): the RFC 9728 metadata layer, `BearerLayer` →
//! `DpopLayer` (optional mode) → `ValidateTokenLayer` (`JwtValidator`, static
//! JWKS, ES256) → `RequireScopesLayer` → the same handler. The handler reads
//! the body and answers 200 with a small JSON document of what the layers
//! established. (The example serves its MCP server there; both phases here
//! serve the same small handler, so the difference is the stack alone.)
//!
//! A client (hyper's HTTP/1.1 connection API over hyper-util's `TokioIo`)
//! opens `C` keep-alive connections and sends `N` `POST /mcp` requests in
//! all, each with a valid bearer token, one at a time per connection; a phase
//! also stops after `LOAD_SECS`. The phases run bare, protected, bare again
//! (to see drift), after an untimed warm-up of each server. The servers run
//! on their own runtime (`LOAD_SERVER_THREADS` workers, default 1), the client
//! on a current-thread runtime on the main thread.
//!
//! Each phase reports requests/s, p50/p99/max latency (send to end of the
//! response body), and the server threads' CPU time per request (from
//! `/proc/self/task/*/stat`, 10 ms ticks): throughput on a shared 2-core
//! machine moves with other load, CPU per request much less.
//!
//! Settings from the environment: `LOAD_N` (50000), `LOAD_C` (16),
//! `LOAD_SECS` (20), `LOAD_SERVER_THREADS` (1).

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "../examples/support/protected_stack.rs"]
mod protected_stack;
#[path = "../examples/support/serve_http.rs"]
mod serve_http;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use mcp_tower::clock::{Clock, SystemClock};
use mcp_tower::dpop::VerifiedDpop;
use mcp_tower::jose::Algorithm;
use mcp_tower::keys::DpopKey;
use mcp_tower::metadata::ProtectedResourceMetadataLayer;
use mcp_tower::token::{JwksSource, Principal};
use protected_stack::{DpopSetting, StackOptions};
use tokio::net::{TcpListener, TcpStream};
use tower::Layer;

const ISSUER: &str = "https://auth.example.com";
const AUDIENCE: &str = "https://mcp.example.com/mcp";
const BODY: &[u8] = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------

/// The endpoint: reads the body, answers with what the layers established.
async fn handler(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let received = body.collect().await.map_or(0, |b| b.to_bytes().len());
    let principal = parts
        .extensions
        .get::<Principal>()
        .cloned()
        .unwrap_or_default();
    let jkt = parts
        .extensions
        .get::<VerifiedDpop>()
        .map(|v| v.jkt.clone());
    let body = serde_json::json!({
        "sub": principal.subject(), "scopes": principal.scopes().collect::<Vec<_>>(), "jkt": jkt, "received": received,
    });
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

/// A stand-in authorization server: one ES256 key, its JWKS, a token.
struct Issuer {
    key: DpopKey,
}

impl Issuer {
    fn jwks(&self) -> String {
        let jwk = self.key.jwk().canonical_json();
        format!(
            r#"{{"keys":[{{"kid":"k1","alg":"ES256","use":"sig",{}]}}"#,
            &jwk[1..]
        )
    }

    fn token(&self) -> String {
        let now = SystemClock.now_unix();
        let claims = serde_json::json!({
            "iss": ISSUER, "sub": "248289761001", "aud": AUDIENCE,
            "client_id": "s6BhdRkqt3-mcp-client",
            "scope": "mcp:tools mcp:resources mcp:prompts offline_access",
            "iat": now, "exp": now + 3600, "jti": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        });
        self.key
            .sign_compact(
                br#"{"alg":"ES256","typ":"at+jwt","kid":"k1"}"#,
                claims.to_string().as_bytes(),
            )
            .unwrap()
    }
}

/// Binds both servers on 127.0.0.1:0; returns (bare, protected) addresses.
async fn start_servers(issuer: &Issuer) -> (SocketAddr, SocketAddr) {
    let bare = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let protected = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addrs = (bare.local_addr().unwrap(), protected.local_addr().unwrap());

    tokio::spawn(serve_http::serve(bare, tower::service_fn(handler)));

    // The protected_server stack, `--dpop allowed --scope mcp:tools`.
    let options = StackOptions {
        issuer: ISSUER.to_owned(),
        audience: AUDIENCE.to_owned(),
        dpop: DpopSetting::Allowed,
        nonce: false,
        scopes: vec!["mcp:tools".to_owned()],
        public_url: None,
    };
    let metadata = protected_stack::metadata(&options).unwrap();
    let keys = JwksSource::from_json(&issuer.jwks()).unwrap();
    let protected_handler = protected_stack::stage(tower::service_fn(handler));
    let stack = ProtectedResourceMetadataLayer::new(&metadata)
        .layer(protected_stack::protect(&options, keys, &metadata, protected_handler).unwrap());
    tokio::spawn(serve_http::serve(protected, stack));
    addrs
}

/// Linux `USER_HZ`: the unit of the CPU times in `/proc/*/stat`.
const USER_HZ: f64 = 100.0;

/// User + system CPU time of the server runtime's threads (named
/// `load-server`), in `USER_HZ` ticks; `None` off Linux.
fn server_cpu_ticks() -> Option<u64> {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let dir = task.ok()?.path();
        let comm = std::fs::read_to_string(dir.join("comm")).ok()?;
        if comm.trim() != "load-server" {
            continue;
        }
        let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
        // Fields after the parenthesized name start at field 3 (state);
        // utime and stime are fields 14 and 15.
        let mut fields = stat
            .get(stat.rfind(')')? + 1..)?
            .split_whitespace()
            .skip(11);
        let utime: u64 = fields.next()?.parse().ok()?;
        let stime: u64 = fields.next()?.parse().ok()?;
        total += utime + stime;
    }
    Some(total)
}

// ---------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------

struct Outcome {
    ok: usize,
    failed: usize,
    elapsed: Duration,
    /// Sorted latencies, nanoseconds.
    latencies: Vec<u64>,
    timed_out: bool,
    /// Server CPU time over the phase, in `USER_HZ` ticks.
    server_ticks: Option<u64>,
}

impl Outcome {
    #[allow(clippy::cast_precision_loss)]
    fn rps(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    /// The `q` quantile in microseconds.
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

    /// Server CPU time per request in microseconds.
    #[allow(clippy::cast_precision_loss)]
    fn server_us_per_request(&self) -> f64 {
        self.server_ticks
            .map_or(f64::NAN, |t| t as f64 / USER_HZ * 1e6 / self.ok as f64)
    }
}

/// Sends `n` requests (or until `limit`) over `c` keep-alive connections.
async fn drive(addr: SocketAddr, token: &str, n: usize, c: usize, limit: Duration) -> Outcome {
    let host = HeaderValue::from_str(&addr.to_string()).unwrap();
    let authorization = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
    let mut senders = Vec::with_capacity(c);
    for _ in 0..c {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        senders.push(sender);
    }
    let next = Arc::new(AtomicUsize::new(0));
    let ticks_before = server_cpu_ticks();
    let start = Instant::now();
    let deadline = start + limit;
    let mut tasks = tokio::task::JoinSet::new();
    for mut sender in senders {
        let (next, host, authorization) = (Arc::clone(&next), host.clone(), authorization.clone());
        tasks.spawn(async move {
            let mut latencies = Vec::with_capacity(n / c + 1);
            let mut failed = 0usize;
            while next.fetch_add(1, Ordering::Relaxed) < n && Instant::now() < deadline {
                if sender.ready().await.is_err() {
                    failed += 1;
                    break;
                }
                let request = Request::post("/mcp")
                    .header(HOST, host.clone())
                    .header(AUTHORIZATION, authorization.clone())
                    .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                    .body(Full::new(Bytes::from_static(BODY)))
                    .unwrap();
                let sent = Instant::now();
                let ok = match sender.send_request(request).await {
                    Ok(response) => {
                        let status = response.status();
                        let body = response.into_body().collect().await;
                        status == StatusCode::OK && body.is_ok()
                    }
                    Err(_) => false,
                };
                if ok {
                    latencies.push(u64::try_from(sent.elapsed().as_nanos()).unwrap_or(u64::MAX));
                } else {
                    failed += 1;
                }
            }
            (latencies, failed)
        });
    }
    let mut latencies = Vec::with_capacity(n);
    let mut failed = 0;
    while let Some(joined) = tasks.join_next().await {
        let (mut l, f) = joined.unwrap();
        latencies.append(&mut l);
        failed += f;
    }
    let elapsed = start.elapsed();
    let server_ticks = server_cpu_ticks()
        .zip(ticks_before)
        .map(|(after, before)| after - before);
    latencies.sort_unstable();
    Outcome {
        ok: latencies.len(),
        failed,
        elapsed,
        latencies,
        timed_out: Instant::now() >= deadline,
        server_ticks,
    }
}

fn report(name: &str, o: &Outcome) {
    println!(
        "{name:<10} {:>6} ok {:>3} failed in {:6.3} s: {:>8.0} req/s  p50 {:7.1} µs  p99 {:7.1} µs  max {:8.1} µs  server CPU {:6.1} µs/request{}",
        o.ok,
        o.failed,
        o.elapsed.as_secs_f64(),
        o.rps(),
        o.quantile_us(0.50),
        o.quantile_us(0.99),
        o.quantile_us(1.0),
        o.server_us_per_request(),
        if o.timed_out {
            "  (stopped by the time limit)"
        } else {
            ""
        }
    );
}

fn main() {
    let n: usize = env_or("LOAD_N", 50_000);
    let c: usize = env_or("LOAD_C", 16).max(1);
    let limit = Duration::from_secs(env_or("LOAD_SECS", 20));
    let server_threads: usize = env_or("LOAD_SERVER_THREADS", 1).max(1);

    let issuer = Issuer {
        key: DpopKey::generate(Algorithm::ES256).unwrap(),
    };
    let token = issuer.token();
    let servers = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(server_threads)
        .thread_name("load-server")
        .enable_all()
        .build()
        .unwrap();
    let (bare, protected) = servers.block_on(start_servers(&issuer));
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "load: N={n} C={c} limit={}s, server runtime {server_threads} worker(s), client current-thread; {} CPUs; bare {bare}, protected {protected}",
        limit.as_secs(),
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
    );
    let phase = |addr, n| {
        client.block_on(async {
            // A hung phase cannot outlive its limit by much.
            tokio::time::timeout(
                limit + Duration::from_secs(5),
                drive(addr, &token, n, c, limit),
            )
            .await
            .expect("phase did not finish in time")
        })
    };
    // Untimed warm-up of both servers (connections, allocator, caches).
    let warm = (n / 10).clamp(c, 5_000);
    phase(bare, warm);
    phase(protected, warm);

    let bare1 = phase(bare, n);
    report("bare", &bare1);
    let prot = phase(protected, n);
    report("protected", &prot);
    let bare2 = phase(bare, n);
    report("bare again", &bare2);
    servers.shutdown_timeout(Duration::from_secs(1));

    let bare_mean = f64::midpoint(bare1.rps(), bare2.rps());
    let bare_cpu = f64::midpoint(bare1.server_us_per_request(), bare2.server_us_per_request());
    println!(
        "load summary: C={c} N={n}: bare {:.0} req/s (p50 {:.0} µs, p99 {:.0} µs), protected {:.0} req/s (p50 {:.0} µs, p99 {:.0} µs), bare again {:.0} req/s; protected/bare throughput {:.3}, drift bare2/bare1 {:.3}; server CPU per request bare {:.1} µs, protected {:.1} µs (+{:.1} µs); failed {}",
        bare1.rps(),
        bare1.quantile_us(0.5),
        bare1.quantile_us(0.99),
        prot.rps(),
        prot.quantile_us(0.5),
        prot.quantile_us(0.99),
        bare2.rps(),
        prot.rps() / bare_mean,
        bare2.rps() / bare1.rps(),
        bare_cpu,
        prot.server_us_per_request(),
        prot.server_us_per_request() - bare_cpu,
        bare1.failed + prot.failed + bare2.failed,
    );
}
