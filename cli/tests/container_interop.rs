//! The CLI's container commands against a real privacyIDEA (tests/privacyidea/start.sh):
//! `add 'pia://container/...'` with the passphrase on stdin, `list --json` naming the
//! container, `container list --json`, `container sync --json` after a token was
//! removed on the server, `container remove --yes`; `container transfer --passphrase
//! --out --json` and the new phone taking over while the old one reports the transfer;
//! the initial-transfer offer answered with `--adopt`; `container sync-interval`. Skips
//! loudly without a server unless PI_REQUIRED=1.
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
            "adoptable_account_ids",
            "last_sync",
            "policies",
            "serial",
            "server_url",
            "state",
            "sync_requested",
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

fn url_policy(pi: &PiServer) -> support::privacyidea::PolicyGuard<'_> {
    pi.policy(
        "cli-container-url",
        "container",
        &format!("privacyIDEA_server_url={}/", pi.base_url()),
    )
}

fn id_with_serial(accounts: &Value, serial: &str) -> String {
    accounts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["serial"] == serial)
        .unwrap_or_else(|| panic!("no account with serial {serial} in {accounts}"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn cli_container_transfer_to_a_new_phone() {
    let _g = exclusive();
    let Some(pi) = PiServer::from_env() else {
        return;
    };
    pi.delete_tokens_of("alice");
    let _p = url_policy(&pi);
    let _r = pi.policy(
        "cli-container-rollover",
        "container",
        "container_client_rollover",
    );
    let c = pi.init_container("alice");
    let (hotp, _) = pi.init_otp("hotp", "alice", "hp");
    pi.container_add(&c, &hotp);
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.sqlite3");
    let new = dir.path().join("new.sqlite3");
    let qr = dir.path().join("transfer.png");
    json(
        &old,
        &[
            "add",
            &pi.container_register_link(&c, &[]),
            "--yes",
            "--json",
        ],
        "",
    );

    // The passphrase is the one stdin line (no PIN on this vault).
    let t = json(
        &old,
        &[
            "container",
            "transfer",
            &c,
            "--passphrase",
            "--out",
            qr.to_str().unwrap(),
            "--json",
        ],
        "2468\n",
    );
    let link = t["link"].as_str().unwrap().to_string();
    assert!(link.starts_with("pia://container/"), "{t}");
    assert_eq!(t["passphrase_protected"], true);
    assert_eq!(t["qr"], qr.to_str().unwrap());
    let png = std::fs::read(&qr).unwrap();
    assert_eq!(
        authenticator_core::decode_qr_image(png).unwrap(),
        link,
        "the PNG shows the link"
    );
    // The file exists: no overwrite without --force.
    let again = run(
        &old,
        &["container", "transfer", &c, "--out", qr.to_str().unwrap()],
        "",
    );
    assert!(!again.status.success());

    let added = json(&new, &["add", &link, "--yes", "--json"], "2468\n");
    assert_eq!(added["container"], c.as_str());
    let id = id_with_serial(&json(&new, &["list", "--json"], ""), &hotp);
    let code = json(&new, &["code", &id, "--json"], "");
    let r = pi.validate_check("alice", &format!("hp{}", code["code"].as_str().unwrap()));
    assert_eq!(r.pointer("/result/value"), Some(&Value::Bool(true)), "{r}");

    let refused = run(&old, &["container", "sync", &c, "--json"], "");
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("transferred"), "{err}");
    let list = json(&old, &["container", "list", "--json"], "");
    assert_eq!(list[0]["state"], "transferred");
    assert!(run(&old, &["container", "remove", &c, "--yes"], "")
        .status
        .success());
    assert_eq!(json(&old, &["list", "--json"], ""), serde_json::json!([]));
    assert!(run(&new, &["container", "remove", &c, "--yes"], "")
        .status
        .success());
    pi.delete_container(&c);
}

#[test]
fn cli_container_initial_transfer_offer_and_sync_interval() {
    let _g = exclusive();
    let Some(pi) = PiServer::from_env() else {
        return;
    };
    pi.delete_tokens_of("alice");
    let _p = url_policy(&pi);
    let _a = pi.policy(
        "cli-container-initial",
        "container",
        "initially_add_tokens_to_container",
    );
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("v.sqlite3");
    let (legacy, legacy_link) = pi.init_otp("hotp", "alice", "hp");
    json(&vault, &["add", &legacy_link, "--yes", "--json"], "");
    let legacy_id = id_with_serial(&json(&vault, &["list", "--json"], ""), &legacy);
    let c = pi.init_container("alice");

    // A script without --adopt leaves the offer open.
    let added = json(
        &vault,
        &[
            "add",
            &pi.container_register_link(&c, &[]),
            "--yes",
            "--json",
        ],
        "",
    );
    assert_eq!(
        added["adoptable_account_ids"],
        serde_json::json!([legacy_id])
    );
    let list = json(&vault, &["container", "list", "--json"], "");
    assert_eq!(list[0]["last_sync"], Value::Null);
    assert_eq!(
        list[0]["adoptable_account_ids"],
        serde_json::json!([legacy_id])
    );
    // An id outside the offer is refused and changes nothing.
    assert!(!run(
        &vault,
        &["container", "sync", &c, "--adopt", "nosuchid"],
        ""
    )
    .status
    .success());
    let s = json(
        &vault,
        &["container", "sync", &c, "--adopt", "all", "--json"],
        "",
    );
    assert_eq!(s["updated"], serde_json::json!([legacy_id]));
    let accounts = json(&vault, &["list", "--json"], "");
    assert_eq!(accounts[0]["container"], c.as_str());
    assert_eq!(pi.container(&c)["tokens"][0]["serial"], legacy.as_str());

    assert_eq!(
        json(&vault, &["container", "sync-interval", "--json"], "")["seconds"],
        3600
    );
    assert_eq!(
        json(&vault, &["container", "sync-interval", "600", "--json"], "")["seconds"],
        600
    );
    assert!(!run(&vault, &["container", "sync-interval", "999999"], "")
        .status
        .success());
    assert!(run(&vault, &["container", "remove", &c, "--yes"], "")
        .status
        .success());
    pi.delete_container(&c);
}
