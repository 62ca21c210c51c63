//! End-to-end tests of the `authenticator` binary: the command names, flags, JSON
//! shapes, exit codes and stderr lines that QA scripts rely on. Every test uses its own
//! temporary vault with the device-key file keystore (no OS keystore in CI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const TOTP_LINK: &str = "otpauth://totp/ACME:alice@example.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME";
const HOTP_LINK: &str =
    "otpauth://hotp/Bank:bob?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Bank&counter=0";
const KEYSTORE_WARNING: &str = "device-key file";

struct Vault {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Vault {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        // A directory that does not exist yet: the CLI creates it.
        let path = dir.path().join("nested").join("vault.sqlite3");
        Self { _dir: dir, path }
    }

    fn run(&self, args: &[&str], stdin: &str) -> Output {
        harness::run(&self.path, args, stdin)
    }

    /// Runs and expects success; returns stdout.
    fn ok(&self, args: &[&str], stdin: &str) -> String {
        harness::ok(&self.path, args, stdin)
    }

    fn json(&self, args: &[&str], stdin: &str) -> Value {
        harness::json(&self.path, args, stdin)
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// stderr without the keystore warning every file-keystore run prints.
fn error_lines(out: &Output) -> Vec<String> {
    stderr(out)
        .lines()
        .filter(|l| !l.contains(KEYSTORE_WARNING))
        .map(str::to_string)
        .collect()
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

#[test]
fn totp_add_code_list_rename_remove() {
    let v = Vault::new();
    let added = v.json(&["add", TOTP_LINK, "--json", "--yes"], "");
    assert_eq!(added["accounts"].as_array().unwrap().len(), 1);
    assert_eq!(added["accounts"][0]["issuer"], "ACME");
    assert!(added["warnings"].is_array());
    assert!(added["batch"].is_null());

    let code = v.json(&["code", "ACME", "--at", "1577836800", "--json"], "");
    assert_eq!(code["code"], "646738");
    assert_eq!(code["valid_until"], 1_577_836_830);
    assert_eq!(code["seconds_left"], 30);
    assert!(code["counter"].is_null());
    assert_eq!(code["name"], "alice@example.com");
    assert_eq!(
        keys(&code),
        [
            "account_id",
            "code",
            "counter",
            "issuer",
            "name",
            "seconds_left",
            "valid_until"
        ]
    );

    // RFC 3339 works too, and the text line has the documented shape.
    let text = v.ok(&["code", "--at", "2020-01-01T00:00:10Z"], "");
    assert_eq!(text.trim_end(), "ACME:alice@example.com  646 738  (20s)");
    let all = v.json(&["code", "--at", "1577836800", "--json"], "");
    assert_eq!(all.as_array().unwrap().len(), 1);
    assert_eq!(all[0]["code"], "646738");

    let list = v.json(&["list", "--json"], "");
    let a = &list[0];
    for k in [
        "id",
        "kind",
        "issuer",
        "name",
        "algorithm",
        "digits",
        "period",
        "counter",
        "weak_secret",
        "tls_verify",
        "requires_pin",
        "linked_otp_account_id",
        "serial",
    ] {
        assert!(a.get(k).is_some(), "missing {k} in {a}");
    }
    assert_eq!(a["kind"], "totp");
    assert_eq!(a["algorithm"], "SHA1");
    assert_eq!(a["digits"], 6);
    assert_eq!(a["period"], 30);
    assert_eq!(a["weak_secret"], true);
    assert_eq!(a["tls_verify"], true);
    assert!(a["serial"].is_null());
    let id = a["id"].as_str().unwrap().to_string();

    v.ok(&["rename", "alice", "carol"], "");
    let list = v.json(&["list", "--json"], "");
    assert_eq!(list[0]["name"], "carol");
    // The id resolves too, and wins over substrings.
    let code = v.json(&["code", &id, "--at", "1577836800", "--json"], "");
    assert_eq!(code["name"], "carol");

    v.ok(&["remove", "acme:CAROL"], "");
    assert_eq!(v.json(&["list", "--json"], ""), Value::Array(vec![]));
}

#[test]
fn duplicate_add_fails_and_changes_nothing() {
    let v = Vault::new();
    v.ok(&["add", TOTP_LINK], "");
    let before = v.json(&["list", "--json"], "");
    let out = v.run(&["add", TOTP_LINK], "");
    assert_eq!(out.status.code(), Some(1));
    let errors = error_lines(&out);
    assert_eq!(errors, ["error: this account is already enrolled"]);
    assert_eq!(v.json(&["list", "--json"], ""), before);
}

#[test]
fn a_bad_link_is_one_error_line() {
    let v = Vault::new();
    let out = v.run(&["add", "otpauth://totp/x?secret=not*base32"], "");
    assert_eq!(out.status.code(), Some(1));
    let errors = error_lines(&out);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with("error: cannot enroll"), "{errors:?}");
    assert!(out.stdout.is_empty());
    assert_eq!(v.json(&["list", "--json"], ""), Value::Array(vec![]));
}

#[test]
fn hotp_codes_advance_the_counter() {
    let v = Vault::new();
    v.ok(&["add", HOTP_LINK], "");
    let c0 = v.json(&["code", "bob", "--json"], "");
    assert_eq!(
        (c0["code"].as_str(), c0["counter"].as_u64()),
        (Some("755224"), Some(0))
    );
    assert!(c0["valid_until"].is_null());
    let c1 = v.ok(&["code", "bank:bob"], "");
    assert_eq!(c1.trim_end(), "Bank:bob  287 082  (counter 1)");
    assert_eq!(v.json(&["list", "--json"], "")[0]["counter"], 2);
    // HOTP accounts are not in the all-codes listing (it would consume counters).
    assert_eq!(v.json(&["code", "--json"], ""), Value::Array(vec![]));
}

#[test]
fn ambiguous_and_unknown_accounts_are_errors_listing_candidates() {
    let v = Vault::new();
    v.ok(&["add", TOTP_LINK], "");
    v.ok(&["add", HOTP_LINK], "");
    let out = v.run(&["code", "a"], "");
    assert_eq!(out.status.code(), Some(1));
    let errors = error_lines(&out);
    assert_eq!(errors.len(), 1);
    assert!(errors[0].contains("matches 2 accounts"), "{errors:?}");
    assert!(errors[0].contains("ACME:alice@example.com"), "{errors:?}");
    let out = v.run(&["remove", "nobody"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(error_lines(&out)[0].contains("no account matches 'nobody'"));
}

#[test]
fn pin_lock_unlock_and_wrong_pin() {
    let v = Vault::new();
    v.ok(&["add", TOTP_LINK], "");
    v.ok(&["pin", "set"], "2468\n");

    // Locked, and no PIN on stdin.
    let out = v.run(&["code", "ACME", "--at", "1577836800", "--json"], "");
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(out.stdout.is_empty());

    let code = v.json(&["code", "ACME", "--at", "1577836800", "--json"], "2468\n");
    assert_eq!(code["code"], "646738");

    let out = v.run(&["code", "ACME"], "1111\n");
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(error_lines(&out), ["error: wrong PIN, 9 attempts left"]);
    assert!(out.stdout.is_empty());

    let s = v.json(&["status", "--json"], "");
    assert_eq!(s["has_pin"], true);
    assert_eq!(s["locked"], true);
    assert_eq!(s["attempts_left"], 9);

    // A second `pin set` is refused without asking.
    let out = v.run(&["pin", "set"], "");
    assert_eq!(out.status.code(), Some(1));

    // Renaming is a change: it needs the PIN too.
    let out = v.run(&["rename", "ACME", "mallory"], "");
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    v.ok(&["rename", "ACME", "alice2"], "2468\n");
    let list = v.json(&["list", "--json"], "");
    assert_eq!(list[0]["name"], "alice2");
}

#[test]
fn status_json_fields_and_the_keystore_warning() {
    let v = Vault::new();
    let out = v.run(&["status", "--json"], "");
    assert!(out.status.success());
    let err = stderr(&out);
    let warning = err
        .lines()
        .find(|l| l.contains(KEYSTORE_WARNING))
        .unwrap_or_else(|| panic!("no keystore warning in {err:?}"));
    assert!(warning.starts_with("warning: "), "{warning}");
    assert!(
        warning.contains("(chosen with --keystore file)"),
        "{warning}"
    );
    assert!(
        warning.contains("not against anyone who can read your files"),
        "{warning}"
    );
    assert!(warning.contains("vault.sqlite3.devicekey"), "{warning}");

    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        keys(&s),
        [
            "accounts",
            "attempts_left",
            "biometric_enabled",
            "has_pin",
            "keystore",
            "locked",
            "pending_push_token_updates",
            "policy",
            "protection",
            "seconds_until_auto_lock",
            "vault",
            "wiped"
        ]
    );
    assert_eq!(
        keys(&s["policy"]),
        [
            "background_grace_seconds",
            "idle_timeout_seconds",
            "min_pin_length",
            "require_pin",
            "wipe_after_attempts"
        ]
    );
    assert_eq!(s["has_pin"], false);
    assert_eq!(s["locked"], false);
    assert_eq!(s["wiped"], false);
    assert_eq!(s["accounts"], 0);
    assert_eq!(s["keystore"], "file");
    assert_eq!(s["protection"], "software");
    assert!(v
        .ok(&["status"], "")
        .lines()
        .any(|l| l.starts_with("device key protection: software")));
    assert_eq!(s["policy"]["wipe_after_attempts"], 10);
    assert!(s["policy"]["idle_timeout_seconds"].is_null());
    assert_eq!(s["policy"]["background_grace_seconds"], 0);
    assert_eq!(s["pending_push_token_updates"], serde_json::json!([]));
    assert!(s["vault"].as_str().unwrap().ends_with("vault.sqlite3"));
    // The device key file sits next to the vault.
    assert!(v.path.with_extension("sqlite3.devicekey").exists());
}

#[test]
fn a_migration_batch_asks_for_the_other_codes() {
    let v = Vault::new();
    let link = migration_link();
    let r = v.json(&["add", &link, "--json"], "");
    assert_eq!(r["accounts"].as_array().unwrap().len(), 2);
    assert_eq!(r["batch"]["index"], 0);
    assert_eq!(r["batch"]["size"], 2);
    assert_eq!(r["batch"]["batch_id"], 9);
    let text = v.run(&["add", &link], "");
    assert_eq!(text.status.code(), Some(1), "all already enrolled");

    let v2 = Vault::new();
    let out = v2.ok(&["add", &link], "");
    assert!(out.contains("QR code 1 of 2: scan the others too"), "{out}");
}

#[test]
fn usage_errors_exit_2() {
    let v = Vault::new();
    assert_eq!(
        v.run(&["code", "--at", "yesterday"], "").status.code(),
        Some(2)
    );
    assert_eq!(v.run(&["frobnicate"], "").status.code(), Some(2));
}

/// Nothing a terminal would act on: no C0/C1 control (newlines between lines aside), no
/// DEL, no bidi override or isolate, and no JSON escape that would decode to one.
fn assert_inert(what: &str, text: &str) {
    for line in text.lines() {
        assert!(
            !line.chars().any(|c| c.is_control()
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)),
            "{what}: {line:?}"
        );
        let lower = line.to_ascii_lowercase();
        for escaped in ["\\u001b", "\\u0007", "\\u009b", "\\u202e", "\\u2066"] {
            assert!(!lower.contains(escaped), "{what}: {line:?}");
        }
    }
}

#[test]
fn link_and_server_text_is_shown_without_control_characters() {
    // Issuer with a clear-screen sequence and a right-to-left override; a name with a
    // bell and an OSC title change.
    let issuer = "Evil%1B%5B2J%E2%80%AECorp";
    let name = "bob%07%1B%5D0%3Bpwned%07";
    let link = format!(
        "otpauth://totp/Evil%1B%5B2JCorp:{name}?secret={}&issuer={issuer}",
        "JBSWY3DPEHPK3PXP"
    );
    let v = Vault::new();
    let out = v.run(&["add", "-"], &format!("{link}\n"));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(text.contains("added EvilCorp:bob ("), "{text}");
    assert_inert("add", &text);
    assert_inert("add stderr", &stderr(&out));

    let list = v.ok(&["list"], "");
    assert!(list.contains("EvilCorp:bob"), "{list}");
    assert_inert("list", &list);
    let json = v.ok(&["list", "--json"], "");
    assert_inert("list --json", &json);
    let accounts: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(accounts[0]["issuer"], "EvilCorp");
    assert_eq!(accounts[0]["name"], "bob");

    let code = v.ok(&["code", "--at", "1577836800"], "");
    assert_eq!(code.trim_end(), "EvilCorp:bob  646 738  (30s)");
    let code = v.ok(&["code", "evilcorp", "--at", "1577836800", "--json"], "");
    assert_inert("code --json", &code);
    let code: Value = serde_json::from_str(&code).unwrap();
    assert_eq!(
        (&code["issuer"], &code["name"]),
        (&Value::from("EvilCorp"), &Value::from("bob"))
    );

    let added = Vault::new().ok(&["add", &link, "--json"], "");
    assert_inert("add --json", &added);
    let added: Value = serde_json::from_str(&added).unwrap();
    assert_eq!(added["accounts"][0]["issuer"], "EvilCorp");
    // The warning quotes the link's label prefix, sanitised too.
    assert!(
        added["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("'EvilCorp'")),
        "{added}"
    );

    // Error lines: the candidates and the ACCOUNT argument itself.
    let out = v.run(&["code", "nobody\u{1b}[2J"], "");
    assert_eq!(out.status.code(), Some(1));
    let err = error_lines(&out).join("\n");
    assert!(
        err.contains("no account matches 'nobody'; accounts: EvilCorp:bob"),
        "{err}"
    );
    assert_inert("error", &err);
}

#[cfg(unix)]
fn mode(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
fn with_suffix(p: &std::path::Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

#[cfg(unix)]
#[test]
fn the_vault_its_wal_and_the_device_key_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let v = Vault::new();
    v.ok(&["add", TOTP_LINK], "");
    let dir = v.path.parent().unwrap();
    let key = with_suffix(&v.path, ".devicekey");
    assert_eq!(mode(dir), 0o700, "the folder the CLI created");
    assert_eq!(mode(&v.path), 0o600);
    assert_eq!(mode(&key), 0o600);

    // The WAL and shared-memory files exist while a run has the vault open.
    let mut watch = Command::new(env!("CARGO_BIN_EXE_authenticator"))
        .arg("--vault")
        .arg(&v.path)
        .args(["--keystore", "file", "watch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    std::io::Read::read_exact(watch.stdout.as_mut().unwrap(), &mut first).unwrap();
    for suffix in ["-wal", "-shm"] {
        let p = with_suffix(&v.path, suffix);
        assert!(p.exists(), "{} while the vault is open", p.display());
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
    watch.stdin.take().unwrap().write_all(b"q\n").unwrap();
    assert!(watch.wait().unwrap().success());

    // Files an older version left readable by everyone are made private.
    for p in [&v.path, &key] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    for suffix in ["-wal", "-shm"] {
        let p = with_suffix(&v.path, suffix);
        if p.exists() {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
    v.ok(&["status"], "");
    assert_eq!(mode(&v.path), 0o600);
    assert_eq!(mode(&key), 0o600);
}

#[cfg(unix)]
#[test]
fn the_default_data_folder_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_authenticator"))
            .args(["--keystore", "file", "status", "--json"])
            .env_remove("AUTHENTICATOR_VAULT")
            .env_remove("AUTHENTICATOR_KEYSTORE")
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", &data)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = run();
    assert!(out.status.success(), "{}", stderr(&out));
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    let vault = PathBuf::from(s["vault"].as_str().unwrap());
    let folder = vault.parent().unwrap();
    assert!(folder.starts_with(&data), "{}", folder.display());
    assert_eq!(mode(folder), 0o700);
    assert_eq!(mode(&vault), 0o600);
    // It is the CLI's own folder: made private again if it was opened up.
    std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(run().status.success());
    assert_eq!(mode(folder), 0o700);
}

/// A hand-encoded Google Authenticator export (protobuf wire format): two entries,
/// batch 0 of 2, batch id 9.
fn migration_link() -> String {
    fn field_bytes(tag: u8, bytes: &[u8]) -> Vec<u8> {
        let mut v = vec![(tag << 3) | 2, u8::try_from(bytes.len()).unwrap()];
        v.extend_from_slice(bytes);
        v
    }
    fn field_varint(tag: u8, value: u8) -> Vec<u8> {
        vec![tag << 3, value]
    }
    let mut e1 = field_bytes(1, b"12345678901234567890");
    e1.extend(field_bytes(2, b"ACME:alice"));
    e1.extend(field_bytes(3, b"ACME"));
    e1.extend(field_varint(4, 1));
    e1.extend(field_varint(5, 1));
    e1.extend(field_varint(6, 2));
    let mut e2 = field_bytes(1, b"12345678901234567890123456789012");
    e2.extend(field_bytes(2, b"bob"));
    e2.extend(field_bytes(3, b"Corp"));
    e2.extend(field_varint(4, 2));
    e2.extend(field_varint(5, 2));
    e2.extend(field_varint(6, 2));
    let mut payload = field_bytes(1, &e1);
    payload.extend(field_bytes(1, &e2));
    payload.extend(field_varint(2, 1));
    payload.extend(field_varint(3, 2));
    payload.extend(field_varint(4, 0));
    payload.extend(field_varint(5, 9));
    format!(
        "otpauth-migration://offline?data={}",
        base64_url_escaped(&payload)
    )
}

/// Standard base64, with `+`, `/` and `=` percent-encoded for the query string.
fn base64_url_escaped(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            let c = if i <= chunk.len() {
                T[((n >> (18 - 6 * i)) & 63) as usize] as char
            } else {
                '='
            };
            match c {
                '+' => out.push_str("%2B"),
                '/' => out.push_str("%2F"),
                '=' => out.push_str("%3D"),
                c => out.push(c),
            }
        }
    }
    out
}

#[test]
fn export_then_import_moves_accounts_with_the_json_contract() {
    let v = Vault::new();
    v.ok(&["add", TOTP_LINK], "");
    v.ok(&["add", HOTP_LINK], "");
    v.ok(&["code", "Bank"], "");
    v.ok(&["pin", "set"], "2468\n");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("accounts.txt");
    let f = file.to_str().unwrap();

    // The PIN is asked even though nothing else needs it; a wrong one writes nothing.
    let out = v.run(&["export", "--format", "uri-list", "--out", f], "1111\n");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(!file.exists());
    let out = v.run(
        &["export", "--format", "uri-list", "--out", f, "--json"],
        "2468\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("in the clear"), "plain formats warn");
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(keys(&j), ["exported", "format", "path", "skipped"]);
    assert_eq!(j["exported"], 2);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("counter=1"),
        "the HOTP counter travels: {text}"
    );
    // No overwrite without --force.
    let out = v.run(&["export", "--format", "uri-list", "--out", f], "2468\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    v.ok(
        &["export", "--format", "uri-list", "--out", f, "--force"],
        "2468\n",
    );

    let w = Vault::new();
    let j = w.json(&["import", f, "--json"], "");
    assert_eq!(keys(&j), ["format", "imported", "refused", "skipped"]);
    assert_eq!(j["format"], "uri-list");
    assert_eq!(j["imported"].as_array().unwrap().len(), 2);
    assert_eq!(j["imported"][1]["counter"], 1);
    let code = w.json(&["code", "ACME", "--at", "1577836800", "--json"], "");
    assert_eq!(code["code"], "646738");
    // Again: both are already there.
    let j = w.json(&["import", f, "--json", "--format", "uri-list"], "");
    assert_eq!(j["imported"].as_array().unwrap().len(), 0);
    assert_eq!(j["skipped"][0]["reason"], "already in the vault");
    assert_eq!(keys(&j["skipped"][0]), ["entry", "reason"]);
}

#[test]
fn google_export_writes_links_and_one_qr_png_per_batch() {
    let v = Vault::new();
    v.ok(&["add", TOTP_LINK], "");
    v.ok(
        &[
            "add",
            "otpauth://totp/Odd:p?secret=JBSWY3DPEHPK3PXQ&issuer=Odd&period=60",
        ],
        "",
    );
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("google");
    let d = out_dir.to_str().unwrap();
    let j = v.json(&["export", "--format", "google", "--out", d, "--json"], "");
    let links = j["links"].as_array().unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(j["left_out"][0]["entry"], "Odd: p");
    let listed = std::fs::read_to_string(out_dir.join("links.txt")).unwrap();
    assert_eq!(listed.trim(), links[0].as_str().unwrap());
    let png = std::fs::read(out_dir.join("qr-1.png")).unwrap();
    let text = authenticator_core::decode_qr_image(png).unwrap();
    assert_eq!(text, links[0].as_str().unwrap());
}

#[test]
fn an_aegis_export_reads_the_password_after_the_pin_and_imports_with_it() {
    let v = Vault::new();
    v.ok(&["add", TOTP_LINK], "");
    v.ok(&["pin", "set"], "2468\n");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.json");
    let f = file.to_str().unwrap();
    let j = v.json(
        &["export", "--format", "aegis", "--out", f, "--json"],
        "2468\nfile pw\n",
    );
    assert_eq!(j["format"], "aegis");
    assert_eq!(j["exported"], 1);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        !text.contains("JBSWY3DPEHPK3PXP"),
        "the secret is encrypted"
    );
    // The password is one line of stdin: missing, wrong, right.
    let w = Vault::new();
    let out = w.run(&["import", f, "--json"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("file password"), "{}", stderr(&out));
    let out = w.run(&["import", f, "--json"], "wrong\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("does not open"), "{}", stderr(&out));
    let j = w.json(&["import", f, "--json"], "file pw\n");
    assert_eq!(j["format"], "aegis");
    assert_eq!(j["imported"][0]["issuer"], "ACME");
    let code = w.json(&["code", "ACME", "--at", "1577836800", "--json"], "");
    assert_eq!(code["code"], "646738");
}

/// A container registration link with a passphrase prompt, for a server nobody runs
/// (port 9 on loopback: the connection is refused at once).
const CONTAINER_LINK: &str = "pia://container/SMPH0000D060?issuer=privacyIDEA&ttl=10&nonce=378b20b0beeded91bc0c67b975c9ed12f954a786&time=2026-12-01T06%3A32%3A38.508477%2B00%3A00&url=http%3A//127.0.0.1%3A9/&serial=SMPH0000D060&key_algorithm=secp384r1&hash_algorithm=SHA256&ssl_verify=False&passphrase=Your%20employee%20number%3F&send_passphrase=False";

#[test]
fn containers_list_empty_and_accounts_name_their_container() {
    let v = Vault::new();
    assert_eq!(
        v.json(&["container", "list", "--json"], ""),
        Value::Array(vec![])
    );
    assert!(v.ok(&["container", "list"], "").contains("no containers"));
    v.ok(&["add", TOTP_LINK, "--yes"], "");
    let list = v.json(&["list", "--json"], "");
    assert!(list[0].as_object().unwrap().contains_key("container"));
    assert_eq!(list[0]["container"], Value::Null);
    // Nothing to synchronize: an empty result.
    let s = v.json(&["container", "sync", "--json"], "");
    assert_eq!(keys(&s), ["added", "removed", "updated"]);
    assert_eq!(s["added"], Value::Array(vec![]));
    // An unknown container is one error line.
    let out = v.run(&["container", "remove", "SMPH00000000", "--yes"], "");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(error_lines(&out), ["error: no container SMPH00000000"]);
}

#[test]
fn a_container_link_previews_and_reads_its_passphrase_from_stdin() {
    let v = Vault::new();
    // No passphrase line: refused before anything is sent.
    let out = v.run(&["add", CONTAINER_LINK, "--yes"], "");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("no passphrase was entered"), "{err}");
    let preview = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(preview.contains("SMPH0000D060"), "{preview}");
    assert!(preview.contains("Your employee number?"), "{preview}");
    assert!(
        preview.contains("TLS certificate checks are OFF"),
        "{preview}"
    );
    // With a passphrase line it registers, and fails on the unreachable server; the
    // passphrase appears nowhere and nothing is stored.
    let out = v.run(&["add", CONTAINER_LINK, "--yes"], "s3cret-4711\n");
    assert_eq!(out.status.code(), Some(1));
    let all = format!("{}{}", stderr(&out), String::from_utf8_lossy(&out.stdout));
    assert!(!all.contains("s3cret-4711"), "{all}");
    assert!(all.contains("network"), "{all}");
    assert_eq!(
        v.json(&["container", "list", "--json"], ""),
        Value::Array(vec![])
    );
}

/// A vault of schema 5 (the raw device key in the key file, written by the code before
/// issue 12) opens, its PIN works, and the first correct PIN re-keys it to the PRF over
/// the same key file.
#[test]
fn a_schema_5_vault_and_its_key_file_still_open_and_are_rekeyed() {
    let v = Vault::new();
    std::fs::create_dir_all(v.path.parent().unwrap()).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/fixtures/v5-pin.sqlite3"),
        &v.path,
    )
    .unwrap();
    let key: Vec<u8> = (0u8..32)
        .map(|i| i.wrapping_mul(7).wrapping_add(3))
        .collect();
    std::fs::write(with_suffix(&v.path, ".devicekey"), &key).unwrap();
    let out = v.run(&["code", "ACME", "--at", "1700000000", "--json"], "1111\n");
    assert_eq!(error_lines(&out), ["error: wrong PIN, 9 attempts left"]);
    let code = v.json(
        &["code", "ACME", "--at", "1700000000", "--json"],
        "246810\n",
    );
    assert_eq!(code["code"], "324550");
    // The key file is the HMAC key now: same bytes, and the PIN still works.
    assert_eq!(
        std::fs::read(with_suffix(&v.path, ".devicekey")).unwrap(),
        key
    );
    let code = v.json(
        &["code", "ACME", "--at", "1700000000", "--json"],
        "246810\n",
    );
    assert_eq!(code["code"], "324550");
}
