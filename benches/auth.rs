//! Access-token validation cost against the bare signature checks, measured
//! in one run.
//!
//! Groups:
//! - `auth_raw`: the baselines, aws-lc-rs alone as the library calls it
//!   (`UnparsedPublicKey` for ES256, `RsaPublicKeyComponents` for RS256) over
//!   the access tokens' signing inputs; `es256_token_plus_proof` is the two
//!   checks a DPoP request needs (its token, then its proof).
//!   `es256_same_token` verifies one signature over and over, for scale only:
//!   a repeated ECDSA verification runs 10-15% faster than a stream of
//!   distinct ones (the branch predictors learn its scalar digits), so every
//!   other bench, baselines and layer paths alike, cycles through the same
//!   pools of distinct tokens (256 per algorithm) and proofs.
//! - `bearer_jwt`: `BearerLayer` + `ValidateTokenLayer(JwtValidator, static
//!   JWKS)` around a `service_fn` answering 200, each request future driven to
//!   completion with a no-op waker (`es256_block_on`: with a current-thread
//!   tokio `block_on` instead).
//! - `bearer_jwt_dpop`: `BearerLayer` + `DpopLayer` (resource-server mode,
//!   in-memory replay cache) + `ValidateTokenLayer`, `cnf.jkt`-bound tokens
//!   and a distinct proof per request (the layer is rebuilt, untimed, when the
//!   pool of proofs is used up).
//! - `auth_overhead`: driving a ready future (no-op waker poll, `block_on`).
//! - `auth_breakdown`: the pieces of the paths beyond the signatures.
//!
//! Requests are built ahead of each timed stretch (untimed, 64 at a time, so
//! they are still in the caches as a request a server has just parsed is);
//! responses are dropped inside it. The workspace's bench profile builds
//! with fat LTO and one codegen unit.
//!
//! After criterion, a ratio summary is printed: `bearer_jwt/raw` for ES256
//! and RS256 and `bearer_jwt_dpop/(2 x raw ES256)` (and against the measured
//! raw token + proof pair), from criterion's estimates of this run and from an
//! interleaved check run right after it: in each of 60 rounds the baseline is
//! timed right before and right after the layer path (~15 ms stretches; ~35
//! ms for the DPoP path, see `interleaved`), and
//! the median and interquartile range of the per-round ratios are reported.
//! Criterion runs its benches seconds apart, so on a shared machine its
//! ratios carry the drift between them; the interleaved ratios do not.
//!
//! The interleaved check is reported twice: by the wall clock, and by the
//! thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), which leaves out
//! the time slices other processes took from the bench.
//!
//! `AUTH_PROFILE=bearer_es256|bearer_rs256|dpop_es256|validator_es256|
//! validator_rs256|raw_es256|raw_es256_same|raw_rs256|raw_rs256_parsed`
//! (with `AUTH_PROFILE_SECS`, default 10) runs one path in a loop instead of
//! the benches, for `perf record` or `valgrind --tool=callgrind`; with
//! `AUTH_PERF_CTL=ctl,ack` it also turns the counters of `perf stat -D -1
//! --control fifo:ctl,ack` on for the timed stretches only, so that
//! `cycles:u / calls` is the cost of one call, setup and request building
//! left out, and unaffected by the time other processes hold the core:
//!
//! ```sh
//! mkfifo /tmp/ctl /tmp/ack
//! AUTH_PROFILE=bearer_rs256 AUTH_PROFILE_SECS=5 AUTH_PERF_CTL=/tmp/ctl,/tmp/ack \
//!   perf stat -D -1 --control fifo:/tmp/ctl,/tmp/ack -e cycles:u,instructions:u \
//!   target/release/deps/auth-* --bench
//! ```
//!
//! Under valgrind, `--collect-atstart=no --toggle-collect=auth::stretch`
//! counts the instructions of the timed stretches only (deterministic, so
//! comparable across runs on a busy machine).
//!
//! `AUTH_SUMMARY_ONLY=1` skips criterion and prints the interleaved check.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "support/criterion_results.rs"]
mod criterion_results;
#[path = "support/thread_cpu.rs"]
mod thread_cpu;

use criterion_results::criterion_mean;
use std::convert::Infallible;
use std::future::{Future, Ready, poll_fn, ready};
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};
use thread_cpu::{Spent, cpu_since, thread_cpu_ns};

use aws_lc_rs::signature::{
    self, ParsedPublicKey, RsaKeyPair, RsaPublicKeyComponents, UnparsedPublicKey,
};
use bytes::Bytes;
use criterion::{BatchSize, Criterion};
use http::header::AUTHORIZATION;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use mcp_tower_layers::authorization;
use mcp_tower_layers::bearer::{Bearer, BearerLayer, BearerToken, TokenScheme};
use mcp_tower_layers::client::{ProofRequest, sign_proof};
use mcp_tower_layers::clock::{ManualClock, SharedClock};
use mcp_tower_layers::dpop::{self, Dpop, DpopLayer, DpopMode, RequestTarget};
use mcp_tower_layers::jose::{Algorithm, PublicJwk, b64};
use mcp_tower_layers::keys::DpopKey;
use mcp_tower_layers::token::{
    AccessClaims, JwksSource, JwtValidator, TokenValidator, ValidateToken, ValidateTokenLayer,
};
use serde_json::{Map, Value};
use tower::util::ServiceFn;
use tower::{Layer, Service};

/// The fixed time of the run: tokens and proofs are issued at this instant.
const NOW: u64 = 1_750_000_000;
const ISSUER: &str = "https://auth.example.com/realms/mcp";
const AUDIENCE: &str = "https://mcp.example.com/mcp";
const BASE_URL: &str = "https://mcp.example.com";
const URL: &str = "https://mcp.example.com/mcp";
const PATH: &str = "/mcp";
/// Distinct access tokens per algorithm (and bound tokens for DPoP).
const TOKENS: usize = 256;
/// Distinct ES256 proofs for the DPoP benches; proof `i` goes with bound
/// token `i % TOKENS`.
const PROOF_POOL: usize = 20_000;
/// Requests built (untimed) ahead of each timed stretch: few enough that
/// they are still in the CPU's caches when the stretch takes them (~100 KB),
/// as a request a server has just read and parsed is. (With thousands built
/// ahead, every request's headers had left the caches, which cost the layer
/// paths ~1 µs a request that a server does not pay.)
const CHUNK: usize = 64;
const REPLAY_CAPACITY: usize = 10_000_000;
const ES256_HEADER: &[u8] = br#"{"alg":"ES256","typ":"at+jwt","kid":"k1"}"#;
const RS256_HEADER: &[u8] = br#"{"alg":"RS256","typ":"at+jwt","kid":"k2"}"#;

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

fn shared(clock: &ManualClock) -> SharedClock {
    Arc::new(clock.clone())
}

/// RFC 9068 claims of the shape an authorization server issues (~450 bytes);
/// `i` makes the `jti` (and so the signature) distinct.
fn claims(i: usize, cnf_jkt: Option<&str>) -> String {
    let mut claims = serde_json::json!({
        "iss": ISSUER,
        "sub": "248289761001",
        "aud": AUDIENCE,
        "client_id": "s6BhdRkqt3-mcp-client",
        "scope": "mcp:tools mcp:resources mcp:prompts offline_access",
        "iat": NOW - 60,
        "exp": NOW + 3540,
        "auth_time": NOW - 600,
        "jti": format!("{i:08}-CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
    });
    if let Some(jkt) = cnf_jkt {
        claims["cnf"] = serde_json::json!({ "jkt": jkt });
    }
    claims.to_string()
}

/// A JWKS entry for `key`, named `kid`, restricted to its algorithm.
fn jwks_entry(key: &DpopKey, kid: &str) -> String {
    let jwk = key.jwk().canonical_json();
    format!(
        r#"{{"kid":"{kid}","alg":"{}","use":"sig",{}"#,
        key.alg().as_str(),
        &jwk[1..]
    )
}

/// Signing input and decoded signature of a compact JWS.
fn split_jws(jws: &str) -> (Vec<u8>, Vec<u8>) {
    let (input, sig) = jws.rsplit_once('.').unwrap();
    (input.as_bytes().to_vec(), b64::decode(sig).unwrap())
}

/// `f(0..n)` computed on every core, in order.
fn parallel<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let per_thread = n.div_ceil(threads);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let range = (t * per_thread).min(n)..((t + 1) * per_thread).min(n);
                s.spawn(move || range.map(f).collect::<Vec<_>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

/// The issuer's keys, the JWKS, and the pools of tokens.
struct Issuer {
    es: DpopKey,
    rs: DpopKey,
    jwks: String,
    es_tokens: Vec<String>,
    rs_tokens: Vec<String>,
    /// ES256 tokens with `cnf.jkt` of the DPoP client's key.
    bound_tokens: Vec<String>,
}

impl Issuer {
    fn new(client_jkt: &str) -> Self {
        let es = DpopKey::generate(Algorithm::ES256).unwrap();
        let rs = DpopKey::generate(Algorithm::RS256).unwrap();
        let jwks = format!(
            r#"{{"keys":[{},{}]}}"#,
            jwks_entry(&es, "k1"),
            jwks_entry(&rs, "k2")
        );
        let mint = |key: &DpopKey, header: &[u8], cnf: Option<&str>| {
            parallel(TOKENS, |i| {
                key.sign_compact(header, claims(i, cnf).as_bytes()).unwrap()
            })
        };
        Self {
            es_tokens: mint(&es, ES256_HEADER, None),
            rs_tokens: mint(&rs, RS256_HEADER, None),
            bound_tokens: mint(&es, ES256_HEADER, Some(client_jkt)),
            es,
            rs,
            jwks,
        }
    }

    fn validator(&self, clock: &ManualClock) -> JwtValidator {
        JwtValidator::builder()
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .keys(JwksSource::from_json(&self.jwks).unwrap())
            .clock(shared(clock))
            .build()
            .unwrap()
    }
}

/// The baseline: aws-lc-rs alone, exactly as `jsonwebtoken` (tokens) and the
/// DPoP verifier (proofs) call it, the public key parsed on every call.
enum RawKey {
    Ec([u8; 65]),
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

impl RawKey {
    fn of(key: &DpopKey) -> Self {
        match key.jwk() {
            PublicJwk::Ec(ec) => RawKey::Ec(ec.sec1()),
            rsa => {
                let value: Value = serde_json::from_str(&rsa.canonical_json()).unwrap();
                let member = |name: &str| b64::decode(value[name].as_str().unwrap()).unwrap();
                RawKey::Rsa {
                    n: member("n"),
                    e: member("e"),
                }
            }
        }
    }

    fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        match self {
            RawKey::Ec(point) => UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(message, sig)
                .is_ok(),
            RawKey::Rsa { n, e } => RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig)
                .is_ok(),
        }
    }
}

/// Raw checks of a pool of signatures by one key, in the order the layer
/// benches use them.
struct RawPool {
    key: RawKey,
    /// The same key parsed once by aws-lc (as a JWKS cache holds it).
    parsed: ParsedPublicKey,
    items: Vec<(Vec<u8>, Vec<u8>)>,
    next: usize,
}

impl RawPool {
    fn new(key: &DpopKey, jws: &[String]) -> Self {
        let raw = RawKey::of(key);
        let parsed = match &raw {
            RawKey::Ec(point) => {
                ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).unwrap()
            }
            RawKey::Rsa { n, e } => RsaPublicKeyComponents { n, e }
                .to_parsed_public_key(&signature::RSA_PKCS1_2048_8192_SHA256)
                .unwrap(),
        };
        let pool = Self {
            key: raw,
            parsed,
            items: jws.iter().map(|j| split_jws(j)).collect(),
            next: 0,
        };
        assert!(pool.items.iter().all(|(i, s)| pool.key.verify(i, s)));
        pool
    }

    fn verify_at(&self, index: usize) -> bool {
        let (input, sig) = &self.items[index % self.items.len()];
        self.key.verify(input, sig)
    }

    fn verify_next(&mut self) -> bool {
        let ok = self.verify_at(self.next);
        self.next = (self.next + 1) % self.items.len();
        assert!(ok);
        ok
    }

    /// As `verify_next`, with the key parsed once.
    fn verify_next_parsed(&mut self) -> bool {
        let (input, sig) = &self.items[self.next];
        let ok = self.parsed.verify_sig(input, sig).is_ok();
        self.next = (self.next + 1) % self.items.len();
        assert!(ok);
        ok
    }
}

/// The raw two-signature baseline of a DPoP request: its token, then its
/// proof (proof `i` goes with token `i % TOKENS`).
struct RawTokenAndProof {
    tokens: RawPool,
    proofs: RawPool,
    next: usize,
}

impl RawTokenAndProof {
    fn verify_next(&mut self) -> bool {
        let i = self.next;
        self.next = (i + 1) % self.proofs.items.len();
        let ok = self.tokens.verify_at(i) & self.proofs.verify_at(i);
        assert!(ok);
        ok
    }
}

/// Signs `n` distinct proofs (fresh random `jti` each); proof `i` carries the
/// `ath` of `tokens[i % tokens.len()]`.
fn sign_pool(key: &DpopKey, tokens: &[String], n: usize) -> Vec<String> {
    parallel(n, |i| {
        let request = ProofRequest {
            method: "POST",
            url: URL,
            access_token: Some(&tokens[i % tokens.len()]),
            nonce: None,
            iat: NOW,
        };
        sign_proof(key, &request).unwrap()
    })
}

// ---------------------------------------------------------------------------
// Driving the stacks
// ---------------------------------------------------------------------------

type Handler = fn(Request<()>) -> Ready<Result<Response<Full<Bytes>>, Infallible>>;
type Inner = ServiceFn<Handler>;
type BearerSvc = Bearer<ValidateToken<Inner, JwtValidator>>;
type DpopSvc = Bearer<Dpop<ValidateToken<Inner, JwtValidator>>>;

fn ok_handler(_request: Request<()>) -> Ready<Result<Response<Full<Bytes>>, Infallible>> {
    ready(Ok(Response::new(Full::default())))
}

fn inner() -> Inner {
    tower::service_fn(ok_handler as Handler)
}

/// Polls a future once with a no-op waker; every future here is ready at
/// once (static JWKS, in-memory replay cache, synchronous handler).
fn poll_now<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("future was not ready on first poll"),
    }
}

/// One request through `svc`, driven with a no-op waker.
fn call<S, B>(svc: &mut S, request: Request<()>) -> Response<B>
where
    S: Service<Request<()>, Response = Response<B>, Error = Infallible>,
{
    let Ok(()) = poll_now(poll_fn(|cx| svc.poll_ready(cx)));
    let Ok(response) = poll_now(svc.call(request));
    response
}

/// One request through `svc`, driven by a current-thread runtime.
fn call_block_on<S, B>(
    runtime: &tokio::runtime::Runtime,
    svc: &mut S,
    request: Request<()>,
) -> Response<B>
where
    S: Service<Request<()>, Response = Response<B>, Error = Infallible>,
{
    runtime.block_on(async {
        let Ok(()) = poll_fn(|cx| svc.poll_ready(cx)).await;
        let Ok(response) = svc.call(request).await;
        response
    })
}

fn check_ok<B>(what: &str, response: &Response<B>) {
    assert!(
        response.status() == StatusCode::OK,
        "{what}: refused a valid request: {} {:?}",
        response.status(),
        response.headers().get(http::header::WWW_AUTHENTICATE)
    );
}

fn bearer_request(authorization: &HeaderValue) -> Request<()> {
    Request::post(PATH)
        .header(AUTHORIZATION, authorization.clone())
        .body(())
        .unwrap()
}

/// `BearerLayer` + `ValidateTokenLayer` around the 200 handler, fed the
/// tokens of a pool in turn.
struct BearerBench {
    svc: BearerSvc,
    authorizations: Vec<HeaderValue>,
    next: usize,
}

impl BearerBench {
    fn new(validator: JwtValidator, tokens: &[String]) -> Self {
        let svc = BearerLayer::new().layer(ValidateTokenLayer::new(validator).layer(inner()));
        let mut bench = Self {
            svc,
            authorizations: tokens
                .iter()
                .map(|t| HeaderValue::from_str(&format!("Bearer {t}")).unwrap())
                .collect(),
            next: 0,
        };
        for authorization in &bench.authorizations {
            check_ok(
                "bearer_jwt",
                &call(&mut bench.svc, bearer_request(authorization)),
            );
        }
        bench
    }

    /// Makes `iters` calls (`block_on`: driven by `runtime`, else polled with
    /// a no-op waker); returns the time spent in them only.
    fn run(&mut self, runtime: Option<&tokio::runtime::Runtime>, iters: u64) -> Spent {
        let mut total = Spent::ZERO;
        let mut remaining = usize::try_from(iters).unwrap();
        let mut batch = Vec::with_capacity(CHUNK);
        while remaining > 0 {
            let n = remaining.min(CHUNK);
            for _ in 0..n {
                batch.push(bearer_request(&self.authorizations[self.next]));
                self.next = (self.next + 1) % self.authorizations.len();
            }
            let svc = &mut self.svc;
            total += stretch(&mut || {
                for request in batch.drain(..) {
                    let status = match runtime {
                        Some(runtime) => call_block_on(runtime, svc, request).status(),
                        None => call(svc, request).status(),
                    };
                    assert!(
                        status == StatusCode::OK,
                        "refused a valid request: {status}"
                    );
                }
            });
            remaining -= n;
        }
        total
    }
}

/// A pool of distinct (token, proof) pairs fed to services whose replay
/// cache must never see a proof twice: when the pool is used up the service
/// is rebuilt, untimed.
struct ProofFeed<S> {
    requests: Vec<(HeaderValue, HeaderValue)>,
    next: usize,
    svc: S,
    rebuild: Box<dyn Fn() -> S>,
}

impl<S, B> ProofFeed<S>
where
    S: Service<Request<()>, Response = Response<B>, Error = Infallible>,
{
    fn new(tokens: &[String], proofs: &[String], rebuild: Box<dyn Fn() -> S>) -> Self {
        let authorizations: Vec<HeaderValue> = tokens
            .iter()
            .map(|t| HeaderValue::from_str(&format!("DPoP {t}")).unwrap())
            .collect();
        Self {
            requests: proofs
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    (
                        authorizations[i % authorizations.len()].clone(),
                        HeaderValue::from_str(p).unwrap(),
                    )
                })
                .collect(),
            next: 0,
            svc: rebuild(),
            rebuild,
        }
    }

    fn request((authorization, proof): &(HeaderValue, HeaderValue)) -> Request<()> {
        Request::post(PATH)
            .header(AUTHORIZATION, authorization.clone())
            .header(&dpop::DPOP, proof.clone())
            .body(())
            .unwrap()
    }

    /// Makes `iters` calls; returns the time spent in them only.
    fn run(&mut self, iters: u64) -> Spent {
        let mut total = Spent::ZERO;
        let mut remaining = usize::try_from(iters).unwrap();
        while remaining > 0 {
            if self.next == self.requests.len() {
                self.svc = (self.rebuild)();
                self.next = 0;
            }
            let n = remaining.min(self.requests.len() - self.next).min(CHUNK);
            let mut requests: Vec<_> = self.requests[self.next..self.next + n]
                .iter()
                .map(Self::request)
                .collect();
            let mut failed = None;
            let svc = &mut self.svc;
            total += stretch(&mut || {
                for request in requests.drain(..) {
                    let response = call(svc, request);
                    if response.status() != StatusCode::OK {
                        failed = Some(response);
                        break;
                    }
                    black_box(response);
                }
            });
            if let Some(response) = failed {
                check_ok("dpop", &response);
            }
            self.next += n;
            remaining -= n;
        }
        total
    }
}

fn dpop_layer(clock: &ManualClock) -> DpopLayer {
    DpopLayer::builder()
        .mode(DpopMode::ResourceServer)
        .clock(shared(clock))
        .target(RequestTarget::public_base_url(BASE_URL).unwrap())
        .memory_replay_capacity(REPLAY_CAPACITY)
        .build()
        .unwrap()
}

fn dpop_stack(clock: &ManualClock, validator: &JwtValidator) -> DpopSvc {
    BearerLayer::new()
        .layer(dpop_layer(clock).layer(ValidateTokenLayer::new(validator.clone()).layer(inner())))
}

// ---------------------------------------------------------------------------
// The fixture of the whole run
// ---------------------------------------------------------------------------

struct Bench {
    issuer: Issuer,
    validator: JwtValidator,
    raw_es: RawPool,
    raw_rs: RawPool,
    raw_dpop: RawTokenAndProof,
    bearer_es: BearerBench,
    bearer_rs: BearerBench,
    dpop: ProofFeed<DpopSvc>,
    dpop_only: ProofFeed<Dpop<Inner>>,
    runtime: tokio::runtime::Runtime,
}

impl Bench {
    fn new() -> Self {
        let clock = ManualClock::new(NOW);
        let client = DpopKey::generate(Algorithm::ES256).unwrap();
        let issuer = Issuer::new(client.thumbprint());
        let validator = issuer.validator(&clock);
        // Profiling a path without DPoP needs few proofs (signing 20 000
        // takes long under valgrind).
        let pool = match std::env::var("AUTH_PROFILE") {
            Ok(what) if !what.starts_with("dpop") => 64,
            _ => PROOF_POOL,
        };
        let proofs = sign_pool(&client, &issuer.bound_tokens, pool);
        let raw_dpop = RawTokenAndProof {
            tokens: RawPool::new(&issuer.es, &issuer.bound_tokens),
            proofs: RawPool::new(&client, &proofs),
            next: 0,
        };
        let dpop = {
            let (clock, validator) = (clock.clone(), validator.clone());
            ProofFeed::new(
                &issuer.bound_tokens,
                &proofs,
                Box::new(move || dpop_stack(&clock, &validator)),
            )
        };
        let dpop_only = {
            let clock = clock.clone();
            ProofFeed::new(
                &issuer.bound_tokens,
                &proofs,
                Box::new(move || dpop_layer(&clock).layer(inner())),
            )
        };
        let mut bench = Self {
            raw_es: RawPool::new(&issuer.es, &issuer.es_tokens),
            raw_rs: RawPool::new(&issuer.rs, &issuer.rs_tokens),
            raw_dpop,
            bearer_es: BearerBench::new(validator.clone(), &issuer.es_tokens),
            bearer_rs: BearerBench::new(validator.clone(), &issuer.rs_tokens),
            dpop,
            dpop_only,
            validator,
            issuer,
            runtime: tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap(),
        };
        // One checked call of each DPoP path before any timing.
        bench.dpop.run(1);
        bench.dpop_only.run(1);
        let claims = poll_now(bench.validator.validate(&bench.issuer.es_tokens[0])).unwrap();
        assert_eq!(claims.subject(), Some("248289761001"));
        bench
    }

    /// `JwtValidator::validate` alone on the `i`-th token of `tokens`.
    fn validate(&self, tokens: &[String], i: usize) -> AccessClaims {
        poll_now(self.validator.validate(&tokens[i % tokens.len()])).unwrap()
    }
}

// ---------------------------------------------------------------------------
// Criterion benches
// ---------------------------------------------------------------------------

fn bench_main(c: &mut Criterion, b: &mut Bench) {
    let mut group = c.benchmark_group("auth_raw");
    group.bench_function("es256", |x| x.iter(|| black_box(b.raw_es.verify_next())));
    group.bench_function("rs256", |x| x.iter(|| black_box(b.raw_rs.verify_next())));
    group.bench_function("es256_token_plus_proof", |x| {
        x.iter(|| black_box(b.raw_dpop.verify_next()));
    });
    group.bench_function("es256_same_token", |x| {
        x.iter(|| black_box(b.raw_es.verify_at(0)));
    });
    group.finish();

    let mut group = c.benchmark_group("bearer_jwt");
    group.bench_function("es256", |x| {
        x.iter_custom(|n| b.bearer_es.run(None, n).wall);
    });
    group.bench_function("rs256", |x| {
        x.iter_custom(|n| b.bearer_rs.run(None, n).wall);
    });
    let runtime = &b.runtime;
    let bearer_es = &mut b.bearer_es;
    group.bench_function("es256_block_on", |x| {
        x.iter_custom(|n| bearer_es.run(Some(runtime), n).wall);
    });
    group.finish();

    let mut group = c.benchmark_group("bearer_jwt_dpop");
    group.bench_function("es256", |x| x.iter_custom(|n| b.dpop.run(n).wall));
    group.finish();

    let mut group = c.benchmark_group("auth_overhead");
    group.bench_function("noop_poll_trivial", |x| {
        x.iter(|| poll_now(async { black_box(1u32) }));
    });
    group.bench_function("block_on_trivial", |x| {
        x.iter(|| b.runtime.block_on(async { black_box(1u32) }));
    });
    group.finish();
}

#[allow(clippy::too_many_lines)]
fn bench_breakdown(c: &mut Criterion, b: &mut Bench) {
    let mut group = c.benchmark_group("auth_breakdown");
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_millis(1500));

    // The validator alone: parse, key lookup, jsonwebtoken verify, claims.
    let mut i = 0;
    group.bench_function("validator_es256", |x| {
        x.iter(|| {
            i += 1;
            black_box(b.validate(&b.issuer.es_tokens, i))
        });
    });
    group.bench_function("validator_rs256", |x| {
        x.iter(|| {
            i += 1;
            black_box(b.validate(&b.issuer.rs_tokens, i))
        });
    });

    // Each layer alone around the handler.
    let request = bearer_request(&b.bearer_es.authorizations[0]);
    let mut bearer_only = BearerLayer::new().layer(inner());
    group.bench_function("bearer_layer_only", |x| {
        x.iter_batched(
            || request_like(&request),
            |r| call(&mut bearer_only, r),
            BatchSize::SmallInput,
        );
    });
    let mut validate_only = ValidateTokenLayer::new(b.validator.clone()).layer(inner());
    let es_tokens = &b.issuer.es_tokens;
    group.bench_function("validate_layer_only_es256", |x| {
        x.iter_batched(
            || {
                i += 1;
                let mut r = request_like(&request);
                r.extensions_mut().insert(BearerToken::new(
                    TokenScheme::Bearer,
                    es_tokens[i % es_tokens.len()].as_str(),
                ));
                r
            },
            |r| call(&mut validate_only, r),
            BatchSize::SmallInput,
        );
    });
    let dpop_only = &mut b.dpop_only;
    group.bench_function("dpop_layer_only_es256", |x| {
        x.iter_custom(|n| dpop_only.run(n).wall);
    });

    // What the validator does besides the signature, piece by piece (hot
    // caches: inside the layers these run between signature checks and cost
    // more, see the report).
    group.bench_function("authorization_header", |x| {
        x.iter(|| black_box(authorization::access_token(black_box(request.headers())).unwrap()));
    });
    let token = &b.issuer.es_tokens[0];
    let parts: Vec<&str> = token.split('.').collect();
    group.bench_function("b64_decode_header_claims_sig_x2", |x| {
        x.iter(|| {
            // The validator decodes the signature twice: once to check its
            // syntax, once in jsonwebtoken.
            black_box(b64::decode(parts[0]).unwrap());
            black_box(b64::decode(parts[1]).unwrap());
            black_box(b64::decode(parts[2]).unwrap());
            black_box(b64::decode(parts[2]).unwrap());
        });
    });
    let header_json = b64::decode(parts[0]).unwrap();
    let claims_json = b64::decode(parts[1]).unwrap();
    group.bench_function("json_header", |x| {
        x.iter(|| black_box(serde_json::from_slice::<Value>(black_box(&header_json)).unwrap()));
    });
    group.bench_function("json_claims_to_map", |x| {
        x.iter(|| {
            black_box(
                serde_json::from_slice::<Map<String, Value>>(black_box(&claims_json)).unwrap(),
            )
        });
    });
    let map: Map<String, Value> = serde_json::from_slice(&claims_json).unwrap();
    group.bench_function("access_claims_from_claims", |x| {
        x.iter_batched(
            || map.clone(),
            |m| black_box(AccessClaims::from_claims(m)),
            BatchSize::SmallInput,
        );
    });
    let claims = AccessClaims::from_claims(map.clone());
    group.bench_function("principal", |x| x.iter(|| black_box(claims.principal())));

    // The key parse inside each raw verify.
    let RawKey::Ec(point) = &b.raw_es.key else {
        unreachable!()
    };
    let prepared = ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).unwrap();
    let items = &b.raw_es.items;
    group.bench_function("es256_prepared_key", |x| {
        x.iter(|| {
            i += 1;
            let (input, sig) = &items[i % items.len()];
            black_box(prepared.verify_sig(input, sig).is_ok())
        });
    });
    let RawKey::Rsa { n, e } = &b.raw_rs.key else {
        unreachable!()
    };
    let prepared = RsaPublicKeyComponents { n, e }
        .to_parsed_public_key(&signature::RSA_PKCS1_2048_8192_SHA256)
        .unwrap();
    let items = &b.raw_rs.items;
    group.bench_function("rs256_prepared_key", |x| {
        x.iter(|| {
            i += 1;
            let (input, sig) = &items[i % items.len()];
            black_box(prepared.verify_sig(input, sig).is_ok())
        });
    });
    // The DER form of the same key, parsed per call (`UnparsedPublicKey`).
    let pair = RsaKeyPair::from_pkcs8(&b.issuer.rs.to_pkcs8().unwrap()).unwrap();
    let der = aws_lc_rs::signature::KeyPair::public_key(&pair)
        .as_ref()
        .to_vec();
    group.bench_function("rs256_unparsed_der", |x| {
        x.iter(|| {
            i += 1;
            let (input, sig) = &items[i % items.len()];
            black_box(
                UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &der)
                    .verify(input, sig)
                    .is_ok(),
            )
        });
    });
    group.finish();
}

/// A copy of `request` (method, URI, headers).
fn request_like(request: &Request<()>) -> Request<()> {
    let mut copy = Request::new(());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.headers_mut() = request.headers().clone();
    copy
}

// ---------------------------------------------------------------------------
// Ratio summary
// ---------------------------------------------------------------------------

fn ns_per_iter(elapsed: Duration, iters: u64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let iters = iters as f64;
    elapsed.as_secs_f64() * 1e9 / iters
}

/// `perf stat`'s control and acknowledgement FIFOs, from
/// `AUTH_PERF_CTL=ctl,ack` (profiling mode).
struct PerfControl {
    ctl: std::fs::File,
    ack: std::io::BufReader<std::fs::File>,
}

static PERF_CONTROL: std::sync::OnceLock<Option<std::sync::Mutex<PerfControl>>> =
    std::sync::OnceLock::new();

/// Sends `enable` or `disable` to a `perf stat --control fifo:ctl,ack -D -1`
/// this process runs under (when `AUTH_PERF_CTL=ctl,ack` is set) and waits
/// for its acknowledgement, so the counters cover the timed stretches only:
/// not the setup, nor the requests built between stretches.
fn perf_control(command: &str) {
    use std::io::{BufRead, Write};
    let control = PERF_CONTROL.get_or_init(|| {
        let paths = std::env::var("AUTH_PERF_CTL").ok()?;
        let (ctl, ack) = paths.split_once(',')?;
        Some(std::sync::Mutex::new(PerfControl {
            ctl: std::fs::OpenOptions::new().write(true).open(ctl).ok()?,
            ack: std::io::BufReader::new(std::fs::File::open(ack).ok()?),
        }))
    });
    if let Some(control) = control {
        let mut control = control.lock().unwrap();
        writeln!(control.ctl, "{command}").unwrap();
        let mut line = String::new();
        control.ack.read_line(&mut line).unwrap();
    }
}

/// Measures a stretch in wall-clock and thread CPU time.
struct Stopwatch {
    wall: Instant,
    cpu: Option<u64>,
}

impl Stopwatch {
    fn start() -> Self {
        let cpu = thread_cpu_ns();
        perf_control("enable");
        Self {
            wall: Instant::now(),
            cpu,
        }
    }

    fn elapsed(&self) -> Spent {
        let wall = self.wall.elapsed();
        perf_control("disable");
        Spent {
            wall,
            cpu: cpu_since(self.cpu),
        }
    }
}

fn timed(iters: u64, mut f: impl FnMut()) -> Spent {
    stretch(&mut || {
        for _ in 0..iters {
            f();
        }
    })
}

/// Times one stretch of calls. Never inlined, so that `valgrind
/// --tool=callgrind --collect-atstart=no --toggle-collect=auth::stretch`
/// counts the instructions of the timed stretches only.
#[inline(never)]
fn stretch(f: &mut dyn FnMut()) -> Spent {
    let start = Stopwatch::start();
    f();
    start.elapsed()
}

/// Time per iteration, wall-clock and thread CPU, in ns.
#[derive(Clone, Copy)]
struct PerIter {
    wall: f64,
    cpu: Option<f64>,
}

impl PerIter {
    fn of(spent: Spent, iters: u64) -> Self {
        Self {
            wall: ns_per_iter(spent.wall, iters),
            cpu: spent.cpu.map(|cpu| ns_per_iter(cpu, iters)),
        }
    }

    fn times(self, k: f64) -> Self {
        Self {
            wall: self.wall * k,
            cpu: self.cpu.map(|cpu| cpu * k),
        }
    }
}

/// `iters` runs of `f`, per run.
fn per_iter(iters: u64, f: impl FnMut()) -> PerIter {
    PerIter::of(timed(iters, f), iters)
}

/// One ratio measured many times, by one clock.
#[derive(Default)]
struct Ratios {
    layer: Vec<f64>,
    base: Vec<f64>,
    ratio: Vec<f64>,
}

impl Ratios {
    /// `layer` against the mean of the baselines around it (ns per iteration).
    fn record(&mut self, before: f64, layer: f64, after: f64) {
        let base = f64::midpoint(before, after);
        self.layer.push(layer);
        self.base.push(base);
        self.ratio.push(layer / base);
    }
}

/// One ratio measured many times: in each round the baseline runs right
/// before and right after the layer path, so drift and background load (this
/// is a shared 2-core VM) hit both alike; each round gives one ratio, by the
/// wall clock and by the thread's CPU time.
#[derive(Default)]
struct Paired {
    wall: Ratios,
    cpu: Ratios,
}

impl Paired {
    fn record(&mut self, before: PerIter, layer: PerIter, after: PerIter) {
        self.wall.record(before.wall, layer.wall, after.wall);
        if let (Some(b), Some(l), Some(a)) = (before.cpu, layer.cpu, after.cpu) {
            self.cpu.record(b, l, a);
        }
    }
}

fn quantile(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let index = ((v.len() - 1) as f64 * q).round() as usize;
    v[index]
}

const ROUNDS: usize = 60;

#[derive(Default)]
struct Interleaved {
    es: Paired,
    es_block_on: Paired,
    rs: Paired,
    /// Against the raw checks with the key parsed once.
    es_parsed: Paired,
    rs_parsed: Paired,
    /// `JwtValidator::validate` alone (no layers, no request).
    validator_es: Paired,
    validator_rs: Paired,
    /// One signature verified over and over, against the pool.
    same_token: Paired,
    /// Against 2 x raw ES256 of the tokens.
    dpop_2x: Paired,
    /// Against raw ES256 of the tokens plus raw ES256 of the same proofs.
    dpop_pair: Paired,
    noop: Vec<f64>,
    block_on: Vec<f64>,
}

/// Rounds of sandwiched measurements (about 15 ms per stretch; the DPoP
/// path's are about 35 ms: each round it starts with a warm-up cost of
/// ~0.8 ms, seen as +20 µs a request over 80 requests (1.16 against the raw
/// token + proof pair) and +14 µs over 240 (1.11), against +2 µs in
/// criterion's long runs of the same path, 2026-12-06).
fn interleaved(b: &mut Bench) -> Interleaved {
    let mut t = Interleaved::default();
    let (iters_es, iters_rs, iters_dpop) = (200u64, 400u64, 240u64);
    let mut i = 0usize;
    for _ in 0..ROUNDS {
        let raw_es = |b: &mut Bench, k: u64| {
            per_iter(k, || {
                black_box(b.raw_es.verify_next());
            })
        };
        let parsed_es = |b: &mut Bench, k: u64| {
            per_iter(k, || {
                black_box(b.raw_es.verify_next_parsed());
            })
        };
        let q1 = parsed_es(b, iters_es);
        let a1 = raw_es(b, iters_es);
        let layer = PerIter::of(b.bearer_es.run(None, iters_es), iters_es);
        let a2 = raw_es(b, iters_es);
        let q2 = parsed_es(b, iters_es);
        t.es_parsed.record(q1, layer, q2);
        let runtime = &b.runtime;
        let layer_block_on = PerIter::of(b.bearer_es.run(Some(runtime), iters_es), iters_es);
        let a3 = raw_es(b, iters_es);
        let validator = per_iter(iters_es, || {
            i += 1;
            black_box(b.validate(&b.issuer.es_tokens, i));
        });
        let a4 = raw_es(b, iters_es);
        let same = per_iter(iters_es, || {
            black_box(b.raw_es.verify_at(0));
        });
        let a5 = raw_es(b, iters_es);
        t.es.record(a1, layer, a2);
        t.es_block_on.record(a2, layer_block_on, a3);
        t.validator_es.record(a3, validator, a4);
        t.same_token.record(a4, same, a5);

        let rsa = |b: &mut Bench| {
            per_iter(iters_rs, || {
                black_box(b.raw_rs.verify_next());
            })
        };
        let parsed_rs = |b: &mut Bench| {
            per_iter(iters_rs, || {
                black_box(b.raw_rs.verify_next_parsed());
            })
        };
        let q1 = parsed_rs(b);
        let r1 = rsa(b);
        let layer = PerIter::of(b.bearer_rs.run(None, iters_rs), iters_rs);
        let r2 = rsa(b);
        let q2 = parsed_rs(b);
        t.rs_parsed.record(q1, layer, q2);
        let validator = per_iter(iters_rs, || {
            i += 1;
            black_box(b.validate(&b.issuer.rs_tokens, i));
        });
        let r3 = rsa(b);
        t.rs.record(r1, layer, r2);
        t.validator_rs.record(r2, validator, r3);

        let two = |b: &mut Bench| raw_es(b, iters_dpop).times(2.0);
        let pair = |b: &mut Bench| {
            per_iter(iters_dpop, || {
                black_box(b.raw_dpop.verify_next());
            })
        };
        let d1 = two(b);
        let p1 = pair(b);
        let layer = PerIter::of(b.dpop.run(iters_dpop), iters_dpop);
        let p2 = pair(b);
        let d2 = two(b);
        t.dpop_2x.record(d1, layer, d2);
        t.dpop_pair.record(p1, layer, p2);

        let trivial = 100_000;
        t.noop.push(
            per_iter(trivial, || {
                poll_now(async { black_box(1u32) });
            })
            .wall,
        );
        let runtime = &b.runtime;
        t.block_on.push(
            per_iter(trivial, || {
                runtime.block_on(async { black_box(1u32) });
            })
            .wall,
        );
    }
    t
}

fn us(ns: f64) -> String {
    format!("{:7.2} µs", ns / 1000.0)
}

fn verdict(ratio: f64) -> &'static str {
    if ratio <= 1.15 { "ok" } else { "MISSES 1.15" }
}

/// One ratio line from criterion's estimates, and net of the driver.
fn criterion_line(name: &str, layer: f64, baseline: f64, driver: f64) {
    let ratio = layer / baseline;
    println!(
        "  {name:<42} {} / {} = {ratio:5.3} (net of driver {:5.3})  {}",
        us(layer),
        us(baseline),
        (layer - driver) / baseline,
        verdict(ratio)
    );
}

/// One line of the interleaved check: median times, and the median and
/// interquartile range of the per-round ratios.
fn paired_line(name: &str, p: &Ratios, driver: f64) {
    let ratio = quantile(&p.ratio, 0.5);
    let net: Vec<f64> = p
        .layer
        .iter()
        .zip(&p.base)
        .map(|(l, b)| (l - driver) / b)
        .collect();
    let extra: Vec<f64> = p.layer.iter().zip(&p.base).map(|(l, b)| l - b).collect();
    println!(
        "  {name:<42} {} / {} = {ratio:5.3} [IQR {:5.3}-{:5.3}] (net of driver {:5.3}; {:+6.2} µs)  {}",
        us(quantile(&p.layer, 0.5)),
        us(quantile(&p.base, 0.5)),
        quantile(&p.ratio, 0.25),
        quantile(&p.ratio, 0.75),
        quantile(&net, 0.5),
        quantile(&extra, 0.5) / 1000.0,
        verdict(ratio)
    );
}

fn summary(b: &mut Bench, since: SystemTime) {
    println!();
    println!("== auth ratio summary (target <= 1.15) ==");
    criterion_summary(since);
    interleaved_summary(b);
}

/// The ratios from criterion's estimates of this run.
fn criterion_summary(since: SystemTime) {
    let cm = |g: &str, n: &str| criterion_mean(g, n, since);
    if let (Some(raw_es), Some(raw_rs), Some(raw_pair), Some(es), Some(rs), Some(dp), Some(es_bo)) = (
        cm("auth_raw", "es256"),
        cm("auth_raw", "rs256"),
        cm("auth_raw", "es256_token_plus_proof"),
        cm("bearer_jwt", "es256"),
        cm("bearer_jwt", "rs256"),
        cm("bearer_jwt_dpop", "es256"),
        cm("bearer_jwt", "es256_block_on"),
    ) {
        let noop = cm("auth_overhead", "noop_poll_trivial").unwrap_or(0.0);
        let block_on = cm("auth_overhead", "block_on_trivial").unwrap_or(0.0);
        println!(
            "criterion estimates of this run (benches run one after another, several seconds apart):"
        );
        criterion_line("bearer_jwt/es256 / raw es256", es, raw_es, 2.0 * noop);
        criterion_line("bearer_jwt/rs256 / raw rs256", rs, raw_rs, 2.0 * noop);
        criterion_line(
            "bearer_jwt/es256_block_on / raw es256",
            es_bo,
            raw_es,
            block_on,
        );
        criterion_line(
            "bearer_jwt_dpop/es256 / (2 x raw es256)",
            dp,
            2.0 * raw_es,
            2.0 * noop,
        );
        criterion_line(
            "bearer_jwt_dpop/es256 / raw token+proof",
            dp,
            raw_pair,
            2.0 * noop,
        );
        println!("  driver: noop poll {noop:.1} ns (x2 per request), block_on {block_on:.1} ns");
    } else {
        println!("criterion estimates: not every bench ran in this run (filtered?); skipped");
    }
}

/// Which clock of a [`Paired`] measurement a summary reads.
type Clock = fn(&Paired) -> &Ratios;

/// The ratios of the interleaved check, run now.
fn interleaved_summary(b: &mut Bench) {
    let t = interleaved(b);
    let noop = quantile(&t.noop, 0.5);
    let block_on = quantile(&t.block_on, 0.5);
    let lines: [(&str, &Paired, f64); 10] = [
        ("bearer_jwt/es256 / raw es256", &t.es, 2.0 * noop),
        ("bearer_jwt/rs256 / raw rs256", &t.rs, 2.0 * noop),
        (
            "bearer_jwt/es256 / raw es256, key parsed once",
            &t.es_parsed,
            2.0 * noop,
        ),
        (
            "bearer_jwt/rs256 / raw rs256, key parsed once",
            &t.rs_parsed,
            2.0 * noop,
        ),
        (
            "bearer_jwt/es256_block_on / raw es256",
            &t.es_block_on,
            block_on,
        ),
        (
            "bearer_jwt_dpop/es256 / (2 x raw es256)",
            &t.dpop_2x,
            2.0 * noop,
        ),
        (
            "bearer_jwt_dpop/es256 / raw token+proof",
            &t.dpop_pair,
            2.0 * noop,
        ),
        ("(validator alone, es256) / raw es256", &t.validator_es, 0.0),
        ("(validator alone, rs256) / raw rs256", &t.validator_rs, 0.0),
        (
            "(raw es256, one token repeated) / raw es256",
            &t.same_token,
            0.0,
        ),
    ];
    let clocks: [(&str, Clock); 2] = [
        ("wall-clock time", |p| &p.wall),
        (
            "thread CPU time (leaves out the time other processes held the core)",
            |p| &p.cpu,
        ),
    ];
    for (clock, pick) in clocks {
        if lines.iter().any(|(_, p, _)| pick(p).ratio.is_empty()) {
            println!("interleaved check by {clock}: not available here");
            continue;
        }
        println!(
            "interleaved check, {ROUNDS} rounds, by {clock}; baseline measured right before and after the layer path in each:"
        );
        for (index, (name, paired, driver)) in lines.iter().enumerate() {
            if index == 7 {
                println!("  for scale:");
            }
            paired_line(name, pick(paired), *driver);
        }
    }
    println!("  driver: noop poll {noop:.1} ns (x2 per request), block_on {block_on:.1} ns");
}

// ---------------------------------------------------------------------------
// Profiling mode
// ---------------------------------------------------------------------------

fn profile(b: &mut Bench, what: &str) {
    let secs: u64 = std::env::var("AUTH_PROFILE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut calls = 0u64;
    let mut busy = Duration::ZERO;
    let chunk = CHUNK as u64;
    let mut i = 0;
    while Instant::now() < deadline {
        let spent = match what {
            "bearer_es256" => b.bearer_es.run(None, chunk),
            "bearer_rs256" => b.bearer_rs.run(None, chunk),
            "dpop_es256" => b.dpop.run(chunk),
            "validator_es256" => timed(chunk, || {
                i += 1;
                black_box(b.validate(&b.issuer.es_tokens, i));
            }),
            "raw_es256" => timed(chunk, || {
                black_box(b.raw_es.verify_next());
            }),
            "raw_es256_same" => timed(chunk, || {
                black_box(b.raw_es.verify_at(0));
            }),
            "validator_rs256" => timed(chunk, || {
                i += 1;
                black_box(b.validate(&b.issuer.rs_tokens, i));
            }),
            "raw_rs256_parsed" => timed(chunk, || {
                black_box(b.raw_rs.verify_next_parsed());
            }),
            "raw_rs256" => timed(chunk, || {
                black_box(b.raw_rs.verify_next());
            }),
            other => panic!("unknown AUTH_PROFILE {other:?}"),
        };
        busy += spent.wall;
        calls += chunk;
    }
    println!(
        "{what}: {calls} calls, {:.2} µs each",
        ns_per_iter(busy, calls) / 1000.0
    );
}

fn main() {
    let mut bench = Bench::new();
    if let Ok(what) = std::env::var("AUTH_PROFILE") {
        profile(&mut bench, &what);
        return;
    }
    if std::env::var_os("AUTH_SUMMARY_ONLY").is_some() {
        summary(&mut bench, SystemTime::now());
        return;
    }
    let since = SystemTime::now();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    bench_main(&mut c, &mut bench);
    bench_breakdown(&mut c, &mut bench);
    c.final_summary();
    summary(&mut bench, since);
}
