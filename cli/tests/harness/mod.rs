//! How the CLI tests run the `authenticator` binary: one vault file, the device-key
//! file keystore (no OS keystore in CI), the environment's vault and keystore choices
//! removed, `stdin` written whole and closed.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `authenticator --vault VAULT --keystore file ARGS` with `stdin` as its input.
pub fn run(vault: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_authenticator"))
        .arg("--vault")
        .arg(vault)
        .args(["--keystore", "file"])
        .args(args)
        .env_remove("AUTHENTICATOR_VAULT")
        .env_remove("AUTHENTICATOR_KEYSTORE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Runs and expects success; returns stdout.
pub fn ok(vault: &Path, args: &[&str], stdin: &str) -> String {
    let out = run(vault, args, stdin);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs, expects success and parses stdout as JSON.
pub fn json(vault: &Path, args: &[&str], stdin: &str) -> Value {
    let out = ok(vault, args, stdin);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}
