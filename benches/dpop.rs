//! DPoP verification cost against the bare signature check, measured in one run.
//!
//! Groups:
//! - `es256`, `rs256`, `ps256`: `raw_verify` (aws-lc-rs alone, the baseline),
//!   `verifier` (`DpopVerifier::verify`: parse, checks, thumbprint, signature),
//!   `full_layer` (the whole `DpopLayer` service call, replay cache included);
//!   `es256/p256_verify` documents why verification runs on aws-lc-rs.
//! - `sign`: `client::sign_proof`.
//!   All three cycle through the same pool of distinct proofs.
//! - `replay`: `MemoryReplayCache::check_and_insert` from 1 and 2 threads
//!   (and 2 threads with a cache each, the no-contention bound).
//! - `overhead`: driving a ready future (noop-waker poll vs tokio `block_on`).
//! - `breakdown`: the pieces of the verifier and layer beyond the signature.
//!
//! After criterion, a ratio summary is printed: `verifier/raw` and
//! `full_layer/raw` per algorithm, from criterion's estimates of this run and
//! from an interleaved `Instant` loop run right after it.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "support/criterion_results.rs"]
mod criterion_results;
#[path = "support/thread_cpu.rs"]
mod thread_cpu;

use criterion_results::{criterion_dir, criterion_mean};
use std::convert::Infallible;
use std::future::{Future, Ready, poll_fn, ready};
use std::hint::black_box;
use std::pin::pin;
use std::sync::{Arc, Barrier};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};
use thread_cpu::Spent;

use aws_lc_rs::signature::{
    self, ParsedPublicKey, RsaParameters, RsaPublicKeyComponents, UnparsedPublicKey,
};
use bytes::Bytes;
use criterion::{BenchmarkGroup, Criterion, measurement::WallTime};
use http::header::AUTHORIZATION;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use mcp_tower_layers::authorization;
use mcp_tower_layers::challenge::ResponseBody;
use mcp_tower_layers::client::{ProofRequest, sign_proof};
use mcp_tower_layers::clock::{ManualClock, SharedClock};
use mcp_tower_layers::dpop::{
    self, DEFAULT_MAX_PROOF_BYTES, Dpop, DpopLayer, DpopProof, DpopVerifier, RequestFacts,
    RequestTarget,
};
use mcp_tower_layers::jose::{Algorithm, EcPublicJwk, PublicJwk, b64};
use mcp_tower_layers::keys::DpopKey;
use mcp_tower_layers::replay::{MemoryReplayCache, ReplayCache, ReplayKey};
use tower::util::ServiceFn;
use tower::{Layer, Service};

/// The fixed time of the run: every proof is issued at this instant.
const NOW: u64 = 1_750_000_000;
const BASE_URL: &str = "https://mcp.example.com";
const URL: &str = "https://mcp.example.com/mcp";
const PATH: &str = "/mcp";
/// Distinct ES256 proofs for the full-layer bench (cheap to sign).
const ES256_POOL: usize = 20_000;
/// Distinct RSA proofs (RSA-2048 signing costs about a millisecond each);
/// the layer is rebuilt, untimed, whenever a pool is used up.
const RSA_POOL: usize = 1_500;
/// Requests built (untimed) ahead of each timed stretch of layer calls.
const CHUNK: usize = 4_096;
const REPLAY_CAPACITY: usize = 10_000_000;
/// Keys per thread for the replay-cache benches.
const REPLAY_KEYS: usize = 400_000;

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

fn clock() -> ManualClock {
    ManualClock::new(NOW)
}

fn shared(clock: &ManualClock) -> SharedClock {
    Arc::new(clock.clone())
}

/// A realistic JWT access token (RFC 9068 shape, ~600 characters) bound to `jkt`.
fn access_token(jkt: &str) -> String {
    let header = r#"{"alg":"ES256","typ":"at+jwt","kid":"2025-06-as-signing-key-01"}"#;
    let claims = format!(
        concat!(
            r#"{{"iss":"https://auth.example.com/realms/mcp","sub":"248289761001","#,
            r#""aud":"https://mcp.example.com/mcp","client_id":"s6BhdRkqt3-mcp-client","#,
            r#""scope":"mcp:tools mcp:resources mcp:prompts offline_access","#,
            r#""iat":{},"exp":{},"jti":"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk","#,
            r#""cnf":{{"jkt":"{}"}}}}"#
        ),
        NOW - 60,
        NOW + 3540,
        jkt
    );
    let mut token = b64::encode(header);
    token.push('.');
    b64::encode_into(claims, &mut token);
    token.push('.');
    b64::encode_into([0x5Au8; 64], &mut token);
    token
}

fn proof_request(token: &str) -> ProofRequest<'_> {
    ProofRequest {
        method: "POST",
        url: URL,
        access_token: Some(token),
        nonce: None,
        iat: NOW,
    }
}

/// Signs `n` distinct proofs (fresh random `jti` each) on both cores.
fn sign_pool(key: &DpopKey, token: &str, n: usize) -> Vec<String> {
    let threads = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let per_thread = n.div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let count = per_thread.min(n.saturating_sub(t * per_thread));
                s.spawn(move || {
                    (0..count)
                        .map(|_| sign_proof(key, &proof_request(token)).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

/// Signing input and decoded signature of a compact JWS.
fn split_jws(proof: &str) -> (&[u8], Vec<u8>) {
    let (input, sig) = proof.rsplit_once('.').unwrap();
    (input.as_bytes(), b64::decode(sig).unwrap())
}

fn rsa_components(jwk: &PublicJwk) -> (Vec<u8>, Vec<u8>) {
    let value: serde_json::Value = serde_json::from_str(&jwk.canonical_json()).unwrap();
    let member = |name: &str| b64::decode(value[name].as_str().unwrap()).unwrap();
    (member("n"), member("e"))
}

fn facts(token: &str) -> RequestFacts<'_> {
    RequestFacts {
        method: "POST",
        uri: URL,
        access_token: Some(token),
    }
}

fn verifier(clock: &ManualClock) -> DpopVerifier {
    DpopVerifier::builder()
        .clock(shared(clock))
        .build()
        .unwrap()
}

/// One algorithm's key, token and pool of distinct proofs.
///
/// `raw_verify`, `verifier` and `full_layer` all cycle through the same pool:
/// ECDSA verification in aws-lc is variable-time in the (public) scalars, so
/// one fixed signature can be a few percent faster or slower than the average
/// and would skew the ratios (see `breakdown/es256_raw_same_proof`).
struct Suite {
    alg: Algorithm,
    token: String,
    /// The first proof of the pool, for the single-proof breakdown benches.
    proof: String,
    signing_input: Vec<u8>,
    signature: Vec<u8>,
    proofs: Vec<String>,
    /// Signing input and signature of each proof, for the raw baseline.
    inputs: Vec<(Vec<u8>, Vec<u8>)>,
    cursor: usize,
    raw: RawKey,
    verifier: DpopVerifier,
    layer: LayerBench,
    key: DpopKey,
}

enum RawKey {
    Ec([u8; 65]),
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
        params: &'static RsaParameters,
    },
}

impl RawKey {
    /// The baseline: aws-lc-rs alone, exactly as the library calls it.
    fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        match self {
            RawKey::Ec(point) => UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(message, sig)
                .is_ok(),
            RawKey::Rsa { n, e, params } => RsaPublicKeyComponents { n, e }
                .verify(params, message, sig)
                .is_ok(),
        }
    }
}

impl Suite {
    fn new(alg: Algorithm, clock: &ManualClock, pool: usize) -> Self {
        let key = DpopKey::generate(alg).unwrap();
        let token = access_token(key.thumbprint());
        let proofs = sign_pool(&key, &token, pool);
        let proof = proofs[0].clone();
        let (signing_input, signature) = split_jws(&proof);
        let inputs = proofs
            .iter()
            .map(|p| {
                let (input, sig) = split_jws(p);
                (input.to_vec(), sig)
            })
            .collect();
        let raw = match key.jwk() {
            PublicJwk::Ec(ec) => RawKey::Ec(ec.sec1()),
            rsa => {
                let (n, e) = rsa_components(rsa);
                let params = if alg == Algorithm::PS256 {
                    &signature::RSA_PSS_2048_8192_SHA256
                } else {
                    &signature::RSA_PKCS1_2048_8192_SHA256
                };
                RawKey::Rsa { n, e, params }
            }
        };
        let suite = Self {
            alg,
            signing_input: signing_input.to_vec(),
            signature,
            raw,
            verifier: verifier(clock),
            layer: LayerBench::new(clock, &token, &proofs),
            token,
            proof,
            proofs,
            inputs,
            cursor: 0,
            key,
        };
        assert!(suite.raw_verify(), "{alg}: raw verify failed");
        suite.verify().unwrap();
        suite
    }

    fn name(&self) -> String {
        self.alg.as_str().to_ascii_lowercase()
    }

    fn raw_verify(&self) -> bool {
        self.raw.verify(&self.signing_input, &self.signature)
    }

    fn verify(&self) -> Result<dpop::CheckedProof, dpop::DpopError> {
        self.verifier.verify(&self.proof, facts(&self.token))
    }

    fn advance(&mut self) -> usize {
        let i = self.cursor;
        self.cursor = (i + 1) % self.proofs.len();
        i
    }

    /// The baseline on the next proof of the pool.
    fn raw_next(&mut self) -> bool {
        let i = self.advance();
        let (input, sig) = &self.inputs[i];
        let ok = self.raw.verify(input, sig);
        assert!(ok, "{}: raw verify failed on proof {i}", self.alg);
        ok
    }

    /// `DpopVerifier::verify` on the next proof of the pool (the verifier
    /// has no replay cache, so proofs can be reused).
    fn verify_next(&mut self) -> Result<dpop::CheckedProof, dpop::DpopError> {
        let i = self.advance();
        self.verifier.verify(&self.proofs[i], facts(&self.token))
    }
}

// ---------------------------------------------------------------------------
// Driving the layer
// ---------------------------------------------------------------------------

type Handler = fn(Request<()>) -> Ready<Result<Response<Full<Bytes>>, Infallible>>;
type Svc = Dpop<ServiceFn<Handler>>;
type SvcResponse = Response<ResponseBody<Full<Bytes>>>;

fn ok_handler(_request: Request<()>) -> Ready<Result<Response<Full<Bytes>>, Infallible>> {
    ready(Ok(Response::new(Full::default())))
}

/// Polls a future once with a no-op waker; every future here is ready at once
/// (in-memory replay cache, synchronous handler).
fn poll_now<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("future was not ready on first poll"),
    }
}

fn call(svc: &mut Svc, request: Request<()>) -> SvcResponse {
    let Ok(()) = poll_now(poll_fn(|cx| svc.poll_ready(cx)));
    let Ok(response) = poll_now(svc.call(request));
    response
}

/// A `DpopLayer` around a 200 handler, fed with distinct proofs so the replay
/// cache never sees a `jti` twice; when the pool is used up the layer (and so
/// its replay cache) is rebuilt outside the timed region.
struct LayerBench {
    clock: ManualClock,
    authorization: HeaderValue,
    proofs: Vec<HeaderValue>,
    next: usize,
    svc: Svc,
}

impl LayerBench {
    fn new(clock: &ManualClock, token: &str, proofs: &[String]) -> Self {
        Self {
            clock: clock.clone(),
            authorization: HeaderValue::from_str(&format!("DPoP {token}")).unwrap(),
            proofs: proofs
                .iter()
                .map(|p| HeaderValue::from_str(p).unwrap())
                .collect(),
            next: 0,
            svc: layer_service(clock),
        }
    }

    fn request(&self, proof: &HeaderValue) -> Request<()> {
        Request::post(PATH)
            .header(AUTHORIZATION, self.authorization.clone())
            .header(&dpop::DPOP, proof.clone())
            .body(())
            .unwrap()
    }

    /// Makes `iters` calls; returns the time spent in them only (building
    /// requests and rebuilding the layer are left out, of CPU time too).
    fn run(&mut self, iters: u64) -> Spent {
        let mut total = Spent::ZERO;
        let mut remaining = usize::try_from(iters).unwrap();
        while remaining > 0 {
            if self.next == self.proofs.len() {
                self.svc = layer_service(&self.clock);
                self.next = 0;
            }
            let n = remaining.min(self.proofs.len() - self.next).min(CHUNK);
            let requests: Vec<_> = self.proofs[self.next..self.next + n]
                .iter()
                .map(|p| self.request(p))
                .collect();
            let mut failed = None;
            let svc = &mut self.svc;
            total += Spent::measure(|| {
                for request in requests {
                    let response = call(svc, request);
                    if response.status() != StatusCode::OK {
                        failed = Some(response);
                        break;
                    }
                    black_box(response);
                }
            });
            if let Some(response) = failed {
                panic!(
                    "layer refused a valid proof: {} {:?}",
                    response.status(),
                    response.headers().get(http::header::WWW_AUTHENTICATE)
                );
            }
            self.next += n;
            remaining -= n;
        }
        total
    }
}

fn layer_service(clock: &ManualClock) -> Svc {
    DpopLayer::builder()
        .clock(shared(clock))
        .target(RequestTarget::public_base_url(BASE_URL).unwrap())
        .memory_replay_capacity(REPLAY_CAPACITY)
        .build()
        .unwrap()
        .layer(tower::service_fn(ok_handler as Handler))
}

// ---------------------------------------------------------------------------
// Criterion benches
// ---------------------------------------------------------------------------

fn bench_suite(c: &mut Criterion, suite: &mut Suite) {
    let mut group = c.benchmark_group(suite.name());
    group.bench_function("raw_verify", |b| b.iter(|| black_box(suite.raw_next())));
    if let RawKey::Ec(point) = &suite.raw {
        use p256::ecdsa::signature::Verifier;
        // Key and signatures parsed once, outside the loop: the best case for
        // p256 (aws-lc-rs above parses the point on every call).
        let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(point).unwrap();
        let inputs: Vec<_> = suite.inputs[..suite.inputs.len().min(1000)]
            .iter()
            .map(|(input, sig)| (input, p256::ecdsa::Signature::from_slice(sig).unwrap()))
            .collect();
        assert!(
            inputs
                .iter()
                .all(|(input, sig)| key.verify(input, sig).is_ok())
        );
        let mut i = 0;
        group.bench_function("p256_verify", |b| {
            b.iter(|| {
                let (input, sig) = &inputs[i % inputs.len()];
                i += 1;
                black_box(key.verify(input, sig).is_ok())
            });
        });
    }
    group.bench_function("verifier", |b| {
        b.iter(|| black_box(suite.verify_next().unwrap()));
    });
    let layer = &mut suite.layer;
    group.bench_function("full_layer", |b| {
        b.iter_custom(|iters| layer.run(iters).wall);
    });
    group.finish();
}

fn bench_sign(c: &mut Criterion, es256: &Suite, ps256: &Suite) {
    let mut group = c.benchmark_group("sign");
    for suite in [es256, ps256] {
        let request = proof_request(&suite.token);
        group.bench_function(suite.name(), |b| {
            b.iter(|| black_box(sign_proof(&suite.key, &request).unwrap()));
        });
    }
    group.finish();
}

/// Inserts distinct keys from `threads` threads started together; each
/// iteration is one insert per thread. With `shared_cache` all threads use one
/// cache, otherwise each has its own (the no-contention upper bound). Caches
/// are fresh per call (and whenever the key pool is used up), created and
/// dropped untimed.
fn replay_run(
    keys: &[Vec<ReplayKey>],
    threads: usize,
    shared_cache: bool,
    iters: u64,
    clock: &ManualClock,
) -> Duration {
    let mut total = Duration::ZERO;
    let mut remaining = usize::try_from(iters).unwrap();
    while remaining > 0 {
        let n = remaining.min(REPLAY_KEYS);
        let caches: Vec<MemoryReplayCache> = (0..if shared_cache { 1 } else { threads })
            .map(|_| MemoryReplayCache::with_clock(REPLAY_CAPACITY, shared(clock)))
            .collect();
        let barrier = Barrier::new(threads + 1);
        let elapsed = std::thread::scope(|s| {
            let workers: Vec<_> = keys[..threads]
                .iter()
                .enumerate()
                .map(|(t, keys)| {
                    let cache = &caches[t % caches.len()];
                    let barrier = &barrier;
                    s.spawn(move || {
                        barrier.wait();
                        for key in &keys[..n] {
                            let fresh = poll_now(cache.check_and_insert(*key, NOW + 301));
                            black_box(fresh.unwrap());
                        }
                    })
                })
                .collect();
            barrier.wait();
            let start = Instant::now();
            for worker in workers {
                worker.join().unwrap();
            }
            start.elapsed()
        });
        total += elapsed;
        drop(caches);
        remaining -= n;
    }
    total
}

fn bench_replay(c: &mut Criterion, clock: &ManualClock) {
    // Built on first use, so a filtered run does not pay for it.
    let keys = std::cell::OnceCell::new();
    let keys = || -> &Vec<Vec<ReplayKey>> {
        keys.get_or_init(|| {
            (0..2)
                .map(|t| {
                    (0..REPLAY_KEYS)
                        .map(|i| ReplayKey::new("jkt", &format!("{t}-{i}")))
                        .collect()
                })
                .collect()
        })
    };
    let mut group = c.benchmark_group("replay");
    group.bench_function("memory_1_thread", |b| {
        b.iter_custom(|iters| replay_run(keys(), 1, true, iters, clock));
    });
    group.bench_function("memory_2_threads", |b| {
        b.iter_custom(|iters| replay_run(keys(), 2, true, iters, clock));
    });
    group.bench_function("memory_2_threads_own_cache", |b| {
        b.iter_custom(|iters| replay_run(keys(), 2, false, iters, clock));
    });
    group.finish();
}

fn bench_overhead(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("overhead");
    group.bench_function("noop_poll_trivial", |b| {
        b.iter(|| poll_now(async { black_box(1u32) }));
    });
    group.bench_function("block_on_trivial", |b| {
        b.iter(|| runtime.block_on(async { black_box(1u32) }));
    });
    group.finish();
}

fn bench_breakdown(c: &mut Criterion, es256: &Suite, rs256: &Suite) {
    let mut group = c.benchmark_group("breakdown");
    group.warm_up_time(Duration::from_millis(400));
    group.measurement_time(Duration::from_millis(1200));
    breakdown_parse(&mut group, es256, rs256);
    breakdown_checks(&mut group, es256);
    breakdown_layer(&mut group, es256);
    group.finish();
}

/// Parsing, JWK validation and the signature step alone.
fn breakdown_parse(group: &mut BenchmarkGroup<'_, WallTime>, es256: &Suite, rs256: &Suite) {
    group.bench_function("parse_es256", |b| {
        b.iter(|| {
            black_box(DpopProof::parse(black_box(&es256.proof), DEFAULT_MAX_PROOF_BYTES).unwrap())
        });
    });
    group.bench_function("parse_rs256", |b| {
        b.iter(|| {
            black_box(DpopProof::parse(black_box(&rs256.proof), DEFAULT_MAX_PROOF_BYTES).unwrap())
        });
    });
    let RawKey::Ec(point) = &es256.raw else {
        unreachable!()
    };
    let (x, y): ([u8; 32], [u8; 32]) = (
        point[1..33].try_into().unwrap(),
        point[33..].try_into().unwrap(),
    );
    group.bench_function("ec_jwk_validate_p256", |b| {
        b.iter(|| black_box(EcPublicJwk::from_coordinates(black_box(x), y).unwrap()));
    });
    let RawKey::Rsa { n, e, .. } = &rs256.raw else {
        unreachable!()
    };
    group.bench_function("rsa_jwk_validate", |b| {
        b.iter(|| {
            black_box(
                mcp_tower_layers::jose::RsaPublicJwk::from_components(black_box(n), e).unwrap(),
            )
        });
    });
    // The same signature over and over (compare with `es256/raw_verify`,
    // which cycles through the pool).
    group.bench_function("es256_raw_same_proof", |b| {
        b.iter(|| black_box(es256.raw_verify()));
    });
    let parsed = DpopProof::parse(&es256.proof, DEFAULT_MAX_PROOF_BYTES).unwrap();
    group.bench_function("verify_signature_es256", |b| {
        b.iter(|| parsed.verify_signature().unwrap());
    });
    let prepared = ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).unwrap();
    group.bench_function("aws_lc_prepared_key_es256", |b| {
        b.iter(|| {
            black_box(
                prepared
                    .verify_sig(&es256.signing_input, &es256.signature)
                    .is_ok(),
            )
        });
    });
}

/// The claim checks and hashes the verifier does besides parsing.
fn breakdown_checks(group: &mut BenchmarkGroup<'_, WallTime>, es256: &Suite) {
    group.bench_function("htu_normalize", |b| {
        b.iter(|| black_box(dpop::htu::normalize(black_box(URL)).unwrap()));
    });
    let ath = dpop::access_token_hash(&es256.token);
    group.bench_function("ath_matches", |b| {
        b.iter(|| black_box(dpop::ath_matches(&ath, black_box(&es256.token))));
    });
    let jwk = es256.key.jwk().clone();
    group.bench_function("thumbprint_es256", |b| {
        b.iter(|| black_box(jwk.thumbprint()));
    });
    let jkt = es256.key.thumbprint();
    group.bench_function("replay_key", |b| {
        b.iter(|| black_box(ReplayKey::new(black_box(jkt), "q7Xg3mW0b8sGv1cJk2LzRA")));
    });
}

/// What the layer does around the verifier.
fn breakdown_layer(group: &mut BenchmarkGroup<'_, WallTime>, es256: &Suite) {
    let proof = &es256.layer.proofs[0];
    let request = es256.layer.request(proof);
    group.bench_function("authorization_header", |b| {
        b.iter(|| black_box(authorization::access_token(black_box(request.headers())).unwrap()));
    });
    group.bench_function("dpop_header_to_str", |b| {
        b.iter(|| black_box(black_box(proof).to_str().unwrap()));
    });
    let target = RequestTarget::public_base_url(BASE_URL).unwrap();
    group.bench_function("target_resolve", |b| {
        b.iter(|| black_box(target.resolve(black_box(&request)).unwrap()));
    });
    // Untimed in `full_layer` (requests are built ahead): listed for scale.
    group.bench_function("request_build_untimed_in_layer", |b| {
        b.iter(|| black_box(es256.layer.request(proof)));
    });
}

// ---------------------------------------------------------------------------
// Ratio summary
// ---------------------------------------------------------------------------

fn ns_per_iter(elapsed: Duration, iters: u32) -> f64 {
    elapsed.as_secs_f64() * 1e9 / f64::from(iters)
}

fn timed(iters: u32, mut f: impl FnMut()) -> Spent {
    Spent::measure(|| {
        for _ in 0..iters {
            f();
        }
    })
}

fn time_loop(iters: u32, f: impl FnMut()) -> f64 {
    ns_per_iter(timed(iters, f).wall, iters)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

struct Row {
    alg: Algorithm,
    raw: f64,
    verifier: f64,
    layer: f64,
}

/// Rounds of the interleaved check.
const ROUNDS: usize = 10;
/// Wall time each bench gets per round.
const ROUND_NS: f64 = 120e6;
/// Per-round wall means and summed CPU time of one bench in the check.
#[derive(Default)]
struct Tally {
    wall_ns_per_iter: Vec<f64>,
    cpu_ns: Option<u64>,
    iters: u64,
}

impl Tally {
    fn record(&mut self, iters: u32, run: impl FnOnce() -> Spent) {
        let spent = run();
        let wall = spent.wall;
        let spent = spent
            .cpu
            .map(|cpu| u64::try_from(cpu.as_nanos()).unwrap_or(u64::MAX));
        self.wall_ns_per_iter.push(ns_per_iter(wall, iters));
        self.cpu_ns = match (self.iters, spent) {
            (0, spent) => spent,
            (_, Some(spent)) => self.cpu_ns.map(|t| t + spent),
            (_, None) => None,
        };
        self.iters += u64::from(iters);
    }

    fn wall_median(&self) -> f64 {
        median(self.wall_ns_per_iter.clone())
    }

    #[allow(clippy::cast_precision_loss)]
    fn cpu_ns_per_iter(&self) -> Option<f64> {
        Some(self.cpu_ns? as f64 / self.iters as f64)
    }
}

/// Interleaved loops after criterion: raw, verifier and layer alternate in
/// each of several rounds, so drift and background load hit all three alike.
/// Returns the medians of the per-round wall-clock means, and (on Linux) the
/// thread CPU time per iteration over all rounds, which leaves out the time
/// other processes held the core.
fn interleaved(suite: &mut Suite) -> (Row, Option<Row>) {
    let estimate = time_loop(20, || {
        black_box(suite.raw_next());
    });
    let iters = (ROUND_NS / estimate).clamp(20.0, 100_000.0);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let iters = iters as u32;
    let (mut raw, mut verifier, mut layer) = (Tally::default(), Tally::default(), Tally::default());
    for _ in 0..ROUNDS {
        raw.record(iters, || {
            timed(iters, || {
                black_box(suite.raw_next());
            })
        });
        verifier.record(iters, || {
            timed(iters, || {
                black_box(suite.verify_next().unwrap());
            })
        });
        layer.record(iters, || suite.layer.run(u64::from(iters)));
    }
    let wall = Row {
        alg: suite.alg,
        raw: raw.wall_median(),
        verifier: verifier.wall_median(),
        layer: layer.wall_median(),
    };
    let cpu = (|| {
        Some(Row {
            alg: suite.alg,
            raw: raw.cpu_ns_per_iter()?,
            verifier: verifier.cpu_ns_per_iter()?,
            layer: layer.cpu_ns_per_iter()?,
        })
    })();
    (wall, cpu)
}

fn print_rows(rows: &[Row]) {
    println!(
        "  {:<6} {:>10} {:>12} {:>14} {:>13} {:>15} {:>15}",
        "alg",
        "raw µs",
        "verifier µs",
        "full_layer µs",
        "verifier/raw",
        "full_layer/raw",
        "layer-raw µs"
    );
    for row in rows {
        let full = row.layer / row.raw;
        let verdict = match row.alg {
            Algorithm::ES256 if full <= 1.15 => "  (target ≤ 1.15: met)",
            Algorithm::ES256 => "  (target ≤ 1.15: MISSED)",
            _ => "",
        };
        println!(
            "  {:<6} {:>10.2} {:>12.2} {:>14.2} {:>13.3} {:>15.3} {:>15.2}{verdict}",
            row.alg.as_str(),
            row.raw / 1e3,
            row.verifier / 1e3,
            row.layer / 1e3,
            row.verifier / row.raw,
            full,
            (row.layer - row.raw) / 1e3,
        );
    }
}

fn summary(suites: &mut [&mut Suite], since: SystemTime) {
    println!("\n== DPoP ratio summary (one process, same run) ==");
    let from_criterion: Option<Vec<Row>> = suites
        .iter()
        .map(|s| {
            let name = s.name();
            Some(Row {
                alg: s.alg,
                raw: criterion_mean(&name, "raw_verify", since)?,
                verifier: criterion_mean(&name, "verifier", since)?,
                layer: criterion_mean(&name, "full_layer", since)?,
            })
        })
        .collect();
    match from_criterion {
        Some(rows) => {
            println!(
                "criterion means of this run ({}):",
                criterion_dir().display()
            );
            print_rows(&rows);
        }
        None => {
            println!("criterion means: not all of raw_verify/verifier/full_layer ran (filtered?)");
        }
    }
    let (wall, cpu): (Vec<Row>, Vec<Option<Row>>) =
        suites.iter_mut().map(|s| interleaved(s)).unzip();
    println!("interleaved check after criterion, wall clock, median of {ROUNDS} rounds:");
    print_rows(&wall);
    match cpu.into_iter().collect::<Option<Vec<Row>>>() {
        Some(cpu) => {
            println!(
                "interleaved check after criterion, thread CPU time over {ROUNDS} rounds \
                 (immune to preemption):"
            );
            print_rows(&cpu);
        }
        None => println!("thread CPU time: CLOCK_THREAD_CPUTIME_ID not readable"),
    }
}

// ---------------------------------------------------------------------------

fn main() {
    let started = SystemTime::now();
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    // `--test`/`--list`: tiny pools, no summary; `--profile-time`: no summary.
    let quick = has("--test") || has("--list");
    let no_summary = quick || has("--profile-time");
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(800))
        .measurement_time(Duration::from_millis(2500))
        .sample_size(50)
        .configure_from_args();

    let clock = clock();
    let (rsa_pool, es_pool) = if quick {
        (8, 8)
    } else {
        (RSA_POOL, ES256_POOL)
    };
    let mut es256 = Suite::new(Algorithm::ES256, &clock, es_pool);
    let mut rs256 = Suite::new(Algorithm::RS256, &clock, rsa_pool);
    let mut ps256 = Suite::new(Algorithm::PS256, &clock, rsa_pool);

    bench_suite(&mut c, &mut es256);
    bench_suite(&mut c, &mut rs256);
    bench_suite(&mut c, &mut ps256);
    bench_sign(&mut c, &es256, &ps256);
    bench_replay(&mut c, &clock);
    bench_overhead(&mut c);
    bench_breakdown(&mut c, &es256, &rs256);
    c.final_summary();

    if !no_summary {
        summary(&mut [&mut es256, &mut rs256, &mut ps256], started);
    }
}
