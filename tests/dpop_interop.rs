//! `DPoP` interoperability with an independent JOSE implementation (Python
//! `cryptography`), in both directions:
//!
//! - proofs built in Python (`tests/interop/make_dpop_fixtures.py`, checked in
//!   as `tests/fixtures/dpop/proofs.json`) go through [`DpopVerifier`], which
//!   must accept the valid ones with the same RFC 7638 thumbprint and refuse
//!   each invalid one for the stated reason (RFC 9449 §4.3);
//! - proofs signed by [`sign_proof`] go through `tests/interop/verify_dpop.py`,
//!   which must accept them and compute the same thumbprint.
//!
//! The second part needs `python3` with `cryptography`
//! (`pip install -r tests/interop/requirements.txt`); without it the test
//! fails rather than skips.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;

use mcp_tower_layers::client::{ProofRequest, sign_proof};
use mcp_tower_layers::clock::ManualClock;
use mcp_tower_layers::dpop::{DpopVerifier, RequestFacts, htu};
use mcp_tower_layers::jose::Algorithm;
use mcp_tower_layers::keys::DpopKey;
use serde_json::{Value, json};

const INSTALL_HINT: &str = "the DPoP interop test needs python3 with the `cryptography` module: \
     run `pip install -r tests/interop/requirements.txt` (scripts/test.sh installs it)";

fn manifest_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn str_field<'a>(entry: &'a Value, name: &str) -> &'a str {
    entry[name]
        .as_str()
        .unwrap_or_else(|| panic!("fixture {entry:#} has no string {name:?}"))
}

/// Every case the fixture generator writes; a regenerated file that lost one
/// fails here instead of silently testing less.
const EXPECTED_CASES: &[&str] = &[
    "valid_es256",
    "valid_rs256",
    "valid_ps256",
    "valid_rs256_extra_jwk_members",
    "valid_es256_ath",
    "ath_other_token",
    "alg_none",
    "hs256_ec_x_as_secret",
    "typ_jwt",
    "jwk_with_private_d",
    "es256_der_signature",
    "signed_by_other_key",
    "htm_wrong",
    "htu_wrong",
    "iat_one_hour_old",
    "rs256_1024_bit_key",
];

#[test]
fn python_built_proofs_verify_as_expected() {
    let path = manifest_path("tests/fixtures/dpop/proofs.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let entries: Vec<Value> = serde_json::from_str(&text).expect("proofs.json is a JSON array");

    let names: Vec<&str> = entries.iter().map(|e| str_field(e, "name")).collect();
    for expected in EXPECTED_CASES {
        assert!(
            names.contains(expected),
            "proofs.json has no case {expected:?}; regenerate it"
        );
    }

    let mut failures = Vec::new();
    for entry in &entries {
        let name = str_field(entry, "name");
        let expect = str_field(entry, "expect");
        let now = entry["now"].as_u64().expect("now is Unix seconds");
        let uri = htu::normalize(str_field(entry, "url")).expect("fixture url normalizes");
        let clock = ManualClock::new(now);
        let verifier = DpopVerifier::builder()
            .clock(Arc::new(clock))
            .build()
            .expect("default verifier builds");
        let result = verifier.verify(
            str_field(entry, "proof"),
            RequestFacts {
                method: str_field(entry, "method"),
                uri: &uri,
                access_token: entry["access_token"].as_str(),
            },
        );
        match (expect, result) {
            ("ok", Ok(checked)) => {
                let jkt = str_field(entry, "jkt");
                if checked.verified.jkt != jkt {
                    failures.push(format!(
                        "{name}: thumbprint {} differs from Python's {jkt}",
                        checked.verified.jkt
                    ));
                }
            }
            ("ok", Err(e)) => failures.push(format!(
                "{name}: expected ok, refused with {} ({e})",
                e.reason()
            )),
            (reason, Ok(_)) => failures.push(format!("{name}: expected {reason}, accepted")),
            (reason, Err(e)) => {
                if e.reason() != reason {
                    failures.push(format!(
                        "{name}: expected {reason}, refused with {} ({e})",
                        e.reason()
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "Python-built proofs:\n{}",
        failures.join("\n")
    );
}

/// Runs `verify_dpop.py` over `requests` (one JSON object each) and returns
/// its answers, failing with an install hint when Python or `cryptography`
/// is missing.
fn python_verify(requests: &[Value]) -> Vec<Value> {
    let script = manifest_path("tests/interop/verify_dpop.py");
    let mut child = Command::new("python3")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}); {INSTALL_HINT}"));
    // Write from another thread so a full stdout pipe cannot deadlock us; a
    // write error means the script exited early, which its status reports.
    let mut stdin = child.stdin.take().expect("piped stdin");
    let mut input = String::new();
    for request in requests {
        input.push_str(&request.to_string());
        input.push('\n');
    }
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let output = child.wait_with_output().expect("verify_dpop.py runs");
    writer.join().expect("stdin writer thread");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.code() != Some(3) && !stderr.contains("No module named 'cryptography'"),
        "{INSTALL_HINT}\nverify_dpop.py said: {stderr}"
    );
    assert!(
        output.status.success(),
        "verify_dpop.py failed ({}): {stderr}",
        output.status
    );
    let stdout = String::from_utf8(output.stdout).expect("verify_dpop.py prints UTF-8");
    let answers: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("verify_dpop.py prints JSON lines"))
        .collect();
    assert_eq!(
        answers.len(),
        requests.len(),
        "one answer per proof; stderr: {stderr}"
    );
    answers
}

#[test]
fn python_accepts_our_proofs() {
    const IAT: u64 = 1_700_000_000;
    const TOKEN: &str = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";

    struct Case {
        label: String,
        jkt: String,
        method: &'static str,
        htu: &'static str,
        access_token: Option<&'static str>,
        nonce: Option<&'static str>,
    }

    let mut cases = Vec::new();
    let mut requests = Vec::new();
    for alg in [Algorithm::ES256, Algorithm::RS256, Algorithm::PS256] {
        let key = DpopKey::generate(alg).unwrap();
        let variants: [(&str, &str, Option<&str>, Option<&str>); 3] = [
            ("POST", "https://server.example.com/mcp", None, None),
            ("GET", "https://server.example.com/mcp", Some(TOKEN), None),
            (
                "POST",
                "https://server.example.com/token",
                Some(TOKEN),
                Some("eyJ7S_zG.eyJH0-Z.HX4w-7v"),
            ),
        ];
        for (i, (method, url, access_token, nonce)) in variants.into_iter().enumerate() {
            let proof = sign_proof(
                &key,
                &ProofRequest {
                    method,
                    // A query must not end up in htu (RFC 9449 §4.2).
                    url: &format!("{url}?q=1"),
                    access_token,
                    nonce,
                    iat: IAT,
                },
            )
            .unwrap();
            requests.push(json!({
                "proof": proof,
                "jwk_thumbprint_expected": key.thumbprint(),
                "access_token": access_token,
            }));
            cases.push(Case {
                label: format!("{alg} #{i}"),
                jkt: key.thumbprint().to_owned(),
                method,
                htu: url,
                access_token,
                nonce,
            });
        }
    }

    let answers = python_verify(&requests);
    let mut failures = Vec::new();
    for (case, answer) in cases.iter().zip(&answers) {
        let label = &case.label;
        if answer["ok"] != json!(true) {
            failures.push(format!(
                "{label}: Python refused our proof: {}",
                answer["error"]
            ));
            continue;
        }
        if answer["jkt"].as_str() != Some(case.jkt.as_str()) {
            failures.push(format!(
                "{label}: Python thumbprint {} differs from ours {}",
                answer["jkt"], case.jkt
            ));
        }
        let claims = &answer["claims"];
        let expected = [
            ("htm", json!(case.method)),
            ("htu", json!(case.htu)),
            ("iat", json!(IAT)),
            ("nonce", case.nonce.map_or(Value::Null, |n| json!(n))),
        ];
        for (name, value) in expected {
            if claims[name] != value {
                failures.push(format!(
                    "{label}: Python read {name} = {}, expected {value}",
                    claims[name]
                ));
            }
        }
        if case.access_token.is_none() && !claims["ath"].is_null() {
            failures.push(format!("{label}: ath present without an access token"));
        }
    }
    assert!(
        failures.is_empty(),
        "our proofs as seen by Python:\n{}",
        failures.join("\n")
    );
}

#[test]
fn python_refuses_a_tampered_proof() {
    // Guards the interop check itself: a verifier that accepts everything
    // would make `python_accepts_our_proofs` meaningless.
    let key = DpopKey::generate(Algorithm::ES256).unwrap();
    let proof = sign_proof(
        &key,
        &ProofRequest {
            method: "POST",
            url: "https://server.example.com/mcp",
            access_token: None,
            nonce: None,
            iat: 1_700_000_000,
        },
    )
    .unwrap();
    let (signing_input, _) = proof.rsplit_once('.').unwrap();
    let other = sign_proof(
        &DpopKey::generate(Algorithm::ES256).unwrap(),
        &ProofRequest {
            method: "POST",
            url: "https://server.example.com/mcp",
            access_token: None,
            nonce: None,
            iat: 1_700_000_000,
        },
    )
    .unwrap();
    let (_, other_signature) = other.rsplit_once('.').unwrap();
    let tampered = format!("{signing_input}.{other_signature}");

    let answers = python_verify(&[
        json!({"proof": tampered, "jwk_thumbprint_expected": key.thumbprint()}),
        json!({"proof": proof, "jwk_thumbprint_expected": "not-the-thumbprint"}),
        json!({"proof": proof, "jwk_thumbprint_expected": key.thumbprint(), "access_token": "t"}),
    ]);
    for (what, answer) in ["other key's signature", "wrong thumbprint", "missing ath"]
        .iter()
        .zip(&answers)
    {
        assert_eq!(
            answer["ok"],
            json!(false),
            "Python accepted a proof with {what}: {answer}"
        );
    }
}
