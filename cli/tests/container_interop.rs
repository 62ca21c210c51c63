//! The CLI's container commands against a real privacyIDEA (tests/privacyidea/start.sh):
//! `add 'pia://container/...'` with the passphrase on stdin, `list --json` naming the
//! container, `container list --json`, `container sync --json` after a token was
//! removed on the server, `container remove --yes`. Skips loudly without a server
//! unless PI_REQUIRED=1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;
#[path = "../../core/tests/support/mod.rs"]
mod support;

use harness::{json, run};
use serde_json::Value;
use support::privacyidea::{exclusive, PiServer};

#[test]
fn cli_container_register_sync_remove() {
    let _g = exclusive();
    let Some(pi) = PiServer::from_env() else {
        return;
    };
    pi.delete_tokens_of("alice");
    let _p = pi.policy(
        "cli-container-url",
        "container",
        &format!("privacyIDEA_server_url={}/", pi.base_url()),
    );
    let c = pi.init_container("alice");
    let (hotp, _) = pi.init_otp("hotp", "alice", "hp");
    let (totp, _) = pi.init_otp("totp", "alice", "tp");
    pi.container_add(&c, &hotp);
    pi.container_add(&c, &totp);
    let link = pi.container_register_link(
        &c,
        &[
            ("passphrase_prompt", "Your number?"),
            ("passphrase_response", "4711"),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("v.sqlite3");

    let added = json(&vault, &["add", &link, "--yes", "--json"], "4711\n");
    assert_eq!(added["container"], c.as_str());
    assert_eq!(added["accounts"].as_array().unwrap().len(), 2);

    let accounts = json(&vault, &["list", "--json"], "");
    assert!(accounts
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["container"] == c.as_str()));
    let hotp_id = accounts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["serial"] == hotp.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let code = json(&vault, &["code", &hotp_id, "--json"], "");
    let r = pi.validate_check("alice", &format!("hp{}", code["code"].as_str().unwrap()));
    assert_eq!(r.pointer("/result/value"), Some(&Value::Bool(true)), "{r}");

    let list = json(&vault, &["container", "list", "--json"], "");
    let entry = &list[0];
    let mut keys: Vec<_> = entry.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "account_ids",
            "last_sync",
            "policies",
            "serial",
            "server_url",
            "state",
            "tls_verify"
        ]
    );
    assert_eq!(entry["serial"], c.as_str());
    assert_eq!(entry["state"], "registered");
    assert_eq!(entry["tls_verify"], false);
    assert!(entry["last_sync"].is_i64());
    assert_eq!(entry["account_ids"].as_array().unwrap().len(), 2);
    assert!(entry["policies"]["disable_client_token_deletion"].is_boolean());

    pi.container_remove(&c, &totp);
    let s = json(&vault, &["container", "sync", &c, "--json"], "");
    assert_eq!(s["removed"].as_array().unwrap().len(), 1);
    assert_eq!(s["updated"], serde_json::json!([hotp_id]));
    assert_eq!(s["added"], serde_json::json!([]));

    let out = run(&vault, &["container", "remove", &c, "--yes"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        json(&vault, &["container", "list", "--json"], ""),
        serde_json::json!([])
    );
    assert_eq!(json(&vault, &["list", "--json"], ""), serde_json::json!([]));
    pi.delete_container(&c);
}
