//! The CLI's push commands against a real privacyIDEA (tests/privacyidea/start.sh):
//! `add <pipush link>`, `push poll --json`, `push approve` by id prefix, `push decline
//! --reason`, `push token`. Skips loudly without a server unless PI_REQUIRED=1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;
#[path = "../../core/tests/support/mod.rs"]
mod support;

use serde_json::Value;
use std::process::Output;
use support::privacyidea::{exclusive, PiServer, TxStatus};

fn run(vault: &std::path::Path, args: &[&str]) -> Output {
    harness::run(vault, args, "")
}

fn ok(vault: &std::path::Path, args: &[&str]) -> String {
    harness::ok(vault, args, "")
}

#[test]
fn cli_push_enroll_poll_approve_decline_rotate() {
    let _g = exclusive();
    let Some(pi) = PiServer::from_env() else {
        return;
    };
    pi.delete_tokens_of("alice");
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("v.sqlite3");

    let (serial, link) = pi.init_push("alice", "1234");
    let added: Value = serde_json::from_str(&ok(&vault, &["add", &link, "--json"])).unwrap();
    assert_eq!(added["accounts"][0]["kind"], "push");
    assert_eq!(added["accounts"][0]["serial"], serial.as_str());
    assert_eq!(added["accounts"][0]["tls_verify"], false);

    let tid = pi.trigger_login("alice", "1234");
    let polled: Value = serde_json::from_str(&ok(&vault, &["push", "poll", "--json"])).unwrap();
    let list = polled.as_array().unwrap();
    assert_eq!(list.len(), 1);
    let id = list[0]["id"].as_str().unwrap().to_string();
    assert_eq!(list[0]["serial"], serial.as_str());
    // A unique prefix is enough.
    let out = ok(&vault, &["push", "approve", &id[..8]]);
    assert!(out.contains("approved"), "{out}");
    assert_eq!(pi.transaction_status(&tid), TxStatus::Accepted);
    let again = run(&vault, &["push", "approve", &id]);
    assert!(!again.status.success());

    let tid = pi.trigger_login("alice", "1234");
    let polled: Value = serde_json::from_str(&ok(&vault, &["push", "poll", "--json"])).unwrap();
    let id = polled[0]["id"].as_str().unwrap().to_string();
    ok(&vault, &["push", "decline", &id, "--reason", "cancelled"]);
    assert_eq!(pi.transaction_status(&tid), TxStatus::Cancelled);

    let out = ok(&vault, &["push", "token", "fcm-from-cli"]);
    assert!(out.contains(&serial), "{out}");
    assert!(pi.token(&serial).to_string().contains("fcm-from-cli"));
    pi.delete_tokens_of("alice");
}
