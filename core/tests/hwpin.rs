//! The PIN bound to the device key (issue 12): the keystore computes a PRF and never
//! hands out its key; everything the core stores or receives is not enough to check a
//! PIN off the device; a vault of the old format (schema 5, raw device-key bytes) is
//! re-keyed at its next unlock, or at open without a PIN. The fixtures in
//! `tests/fixtures/` were written by the last released format (schema 5, main at
//! 8202b3e, through its public API with fast KDF settings) with the
//! device key `i * 7 + 3` (i = 0..32): one with PIN 246810, one without, each with one
//! TOTP account (JBSWY3DPEHPK3PXP).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use authenticator_core::{
    Authenticator, AuthenticatorError, DeviceKeyInfo, KeyProtection, Keystore, KeystoreError,
};
use common::*;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

const LINK: &str = "otpauth://totp/ACME:alice@example.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME";
/// `oathtool --totp -b -N @1700000000 JBSWY3DPEHPK3PXP`
const CODE_AT: (i64, &str) = (1_700_000_000, "324550");

fn legacy_key() -> Vec<u8> {
    (0u8..32)
        .map(|i| i.wrapping_mul(7).wrapping_add(3))
        .collect()
}

fn fixture(name: &str) -> Fixture {
    let f = Fixture::new();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
        &f.path,
    )
    .unwrap();
    Fixture {
        keystore: TestKeystore::with_legacy(legacy_key()),
        ..f
    }
}

fn db_value(path: &Path, sql: &str) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

fn first_code(a: &Authenticator) -> String {
    let id = a.list_accounts().unwrap()[0].id.clone();
    a.code_at(id, CODE_AT.0).unwrap().code.as_str().to_string()
}

#[test]
fn a_schema_5_vault_with_a_pin_is_rekeyed_at_its_first_correct_pin() {
    let f = fixture("v5-pin.sqlite3");
    let a = f.open();
    let s = a.lock_state().unwrap();
    assert!(s.has_pin && s.locked);
    assert_eq!(
        s.protection,
        Some(KeyProtection::Software),
        "not re-keyed yet"
    );
    assert_eq!(db_value(&f.path, "PRAGMA user_version"), 7);
    assert_eq!(db_value(&f.path, "SELECT key_scheme FROM vault_state"), 1);
    // A wrong PIN is checked against the old wrap and counted; nothing is re-keyed.
    assert!(matches!(
        a.unlock("111111".into()),
        Err(AuthenticatorError::WrongPin { attempts_left: 9 })
    ));
    assert_eq!(db_value(&f.path, "SELECT key_scheme FROM vault_state"), 1);
    assert!(f.keystore.legacy.lock().unwrap().is_some());
    let before: Vec<u8> = rusqlite::Connection::open(&f.path)
        .unwrap()
        .query_row("SELECT wrapped_vault_key FROM vault_state", [], |r| {
            r.get(0)
        })
        .unwrap();

    a.unlock("246810".into()).unwrap();
    assert_eq!(
        first_code(&a),
        CODE_AT.1,
        "the same vault key, the same secrets"
    );
    let s = a.lock_state().unwrap();
    assert_eq!(s.protection, Some(KeyProtection::Tee));
    assert_eq!(s.attempts_left, 10, "the re-key reset the counter");
    assert_eq!(db_value(&f.path, "SELECT key_scheme FROM vault_state"), 2);
    let after: Vec<u8> = rusqlite::Connection::open(&f.path)
        .unwrap()
        .query_row("SELECT wrapped_vault_key FROM vault_state", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_ne!(before, after, "a new wrap under the PRF");
    assert!(
        f.keystore.legacy.lock().unwrap().is_none(),
        "old key deleted"
    );
    assert_eq!(f.keystore.legacy_deleted.load(Ordering::SeqCst), 1);
    drop(a);

    // From now on only the PRF opens it: the old raw key is gone and not needed.
    let a = f.open();
    assert!(matches!(
        a.unlock("111111".into()),
        Err(AuthenticatorError::WrongPin { attempts_left: 9 })
    ));
    a.unlock("246810".into()).unwrap();
    assert_eq!(first_code(&a), CODE_AT.1);
    a.change_pin("246810".into(), "135791".into()).unwrap();
    a.lock().unwrap();
    a.unlock("135791".into()).unwrap();
    assert_eq!(first_code(&a), CODE_AT.1);
    // A keystore with another PRF key is a keystore error, never a wrong PIN.
    drop(a);
    let other = Fixture {
        keystore: TestKeystore::new(),
        ..fixture("v5-pin.sqlite3")
    };
    std::fs::copy(&f.path, &other.path).unwrap();
    assert!(matches!(
        Authenticator::open_with(&other.path, other.keystore.clone(), other.options()),
        Err(AuthenticatorError::Keystore { .. })
    ));
}

#[test]
fn a_schema_5_vault_without_a_pin_is_rekeyed_at_open() {
    let f = fixture("v5-nopin.sqlite3");
    let a = f.open();
    let s = a.lock_state().unwrap();
    assert!(!s.has_pin && !s.locked);
    assert_eq!(s.protection, Some(KeyProtection::Tee));
    assert_eq!(db_value(&f.path, "SELECT key_scheme FROM vault_state"), 2);
    assert!(f.keystore.legacy.lock().unwrap().is_none());
    assert_eq!(first_code(&a), CODE_AT.1);
    a.set_pin("2468".into()).unwrap();
    drop(a);
    let a = f.open();
    a.unlock("2468".into()).unwrap();
    assert_eq!(first_code(&a), CODE_AT.1);
}

#[test]
fn a_schema_5_vault_whose_old_key_is_gone_is_a_keystore_error() {
    let f = Fixture {
        keystore: TestKeystore::new(),
        ..fixture("v5-pin.sqlite3")
    };
    assert!(matches!(
        f.open_result(),
        Err(AuthenticatorError::Keystore { .. })
    ));
    // The wrong old key: the device-key check says so (no PIN attempt burnt).
    let f = Fixture {
        keystore: TestKeystore::with_legacy(vec![9u8; 32]),
        ..fixture("v5-pin.sqlite3")
    };
    assert!(matches!(
        f.open_result(),
        Err(AuthenticatorError::Keystore { .. })
    ));
    assert_eq!(
        db_value(&f.path, "SELECT failed_attempts FROM vault_state"),
        0
    );
}

#[test]
fn new_vaults_use_the_prf_and_report_its_protection() {
    for (ks, protection) in [
        (TestKeystore::new(), KeyProtection::Tee),
        (TestKeystore::new_ecdh(), KeyProtection::SecureEnclave),
    ] {
        let f = Fixture {
            keystore: ks,
            ..Fixture::new()
        };
        let a = f.open();
        a.add(LINK.into()).unwrap();
        a.set_pin("4321".into()).unwrap();
        assert_eq!(a.lock_state().unwrap().protection, Some(protection));
        assert_eq!(db_value(&f.path, "SELECT key_scheme FROM vault_state"), 2);
        drop(a);
        let a = f.open();
        assert!(matches!(
            a.unlock("1234".into()),
            Err(AuthenticatorError::WrongPin { .. })
        ));
        a.unlock("4321".into()).unwrap();
        assert_eq!(first_code(&a), CODE_AT.1);
        // The keystore was only ever asked for its PRF: no call returned its key.
        let key = f.keystore.key.lock().unwrap().clone().unwrap();
        for call in f.keystore.transcript.lock().unwrap().iter() {
            assert!(!contains(&call.output, &key) && !contains(&call.input, &key));
        }
        assert!(!contains(&vault_bytes(&f.path), &key));
        // A wipe deletes the key; the wiped state reports no protection.
        a.set_app_policy(authenticator_core::LockPolicy {
            wipe_after_attempts: 1,
            ..Default::default()
        })
        .unwrap();
        a.lock().unwrap();
        assert!(matches!(
            a.unlock("0000".into()),
            Err(AuthenticatorError::Wiped)
        ));
        assert!(!f.keystore.has_key());
        assert_eq!(a.lock_state().unwrap().protection, None);
    }
}

// ---------------------------------------------------------------- offline guessing

/// What an attacker holds after the fact: the vault file and a log of the keystore's
/// answers. It answers the core from that log (an input it has seen gets the answer
/// it saw; anything else gets random bytes, its best guess), so a guesser can run the
/// real core on a copy of the vault for every candidate PIN, with no attempt counter
/// (each guess gets a fresh copy), and watch what happens.
struct ReplayKeystore {
    info: DeviceKeyInfo,
    answers: HashMap<Vec<u8>, Vec<u8>>,
    /// (method, input length) of every call the core made, as the guesser sees them.
    seen: Mutex<Vec<(&'static str, usize)>>,
}

impl Keystore for ReplayKeystore {
    fn device_key_info(&self) -> Result<DeviceKeyInfo, KeystoreError> {
        self.seen.lock().unwrap().push(("device_key_info", 0));
        Ok(self.info)
    }
    fn prf(&self, input: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        self.seen.lock().unwrap().push(("prf", input.len()));
        Ok(self
            .answers
            .get(&input)
            .cloned()
            .unwrap_or_else(|| ring_random(32)))
    }
    fn delete_device_key(&self) -> Result<(), KeystoreError> {
        Ok(())
    }
    fn legacy_device_key(&self) -> Result<Option<Vec<u8>>, KeystoreError> {
        Ok(None)
    }
    fn delete_legacy_device_key(&self) -> Result<(), KeystoreError> {
        Ok(())
    }
}

fn ring_random(n: usize) -> Vec<u8> {
    use ring::rand::SecureRandom;
    let mut v = vec![0u8; n];
    ring::rand::SystemRandom::new().fill(&mut v).unwrap();
    v
}

/// What a guess looks like from outside: the outcome and the calls it made.
type Observation = (String, Vec<(&'static str, usize)>);

/// Runs the real core on a copy of `vault` with the replay keystore for `pin`.
fn guess(
    vault: &[(String, Vec<u8>)],
    info: DeviceKeyInfo,
    log: &[KeystoreCall],
    pin: &str,
) -> Observation {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.sqlite3");
    for (suffix, bytes) in vault {
        std::fs::write(format!("{}{suffix}", path.display()), bytes).unwrap();
    }
    let ks = Arc::new(ReplayKeystore {
        info,
        answers: log
            .iter()
            .filter(|c| c.method == "prf")
            .map(|c| (c.input.clone(), c.output.clone()))
            .collect(),
        seen: Mutex::new(Vec::new()),
    });
    let options = authenticator_core::OpenOptions {
        kdf: fast_kdf(),
        ..Default::default()
    };
    let outcome = match Authenticator::open_with(&path, ks.clone(), options) {
        Err(e) => format!("open: {}", variant(&e)),
        Ok(a) => match a.unlock(pin.into()) {
            Ok(()) => "UNLOCKED".to_string(),
            Err(e) => variant(&e),
        },
    };
    let seen = ks.seen.lock().unwrap().clone();
    (outcome, seen)
}

fn variant(e: &AuthenticatorError) -> String {
    let d = format!("{e:?}");
    d.split([' ', '{', '('])
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The vault file and its WAL/SHM as they are on disk now.
fn copy_of(path: &Path) -> Vec<(String, Vec<u8>)> {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|s| {
            std::fs::read(format!("{}{s}", path.display()))
                .ok()
                .map(|b| (s.to_string(), b))
        })
        .collect()
}

const RIGHT: &str = "482915";
const WRONG: [&str; 12] = [
    "000000", "123456", "482914", "482916", "111111", "999999", "654321", "482951", "284915",
    "000001", "777777", "135790",
];

/// A vault's life: created, an account, the PIN set, reopened and unlocked, wrong PINs
/// typed (a thief), pushes checked while locked (the device-data key). Returns the
/// transcript ranges during which the right PIN was being entered.
fn live_a_life(f: &Fixture) -> Vec<std::ops::Range<usize>> {
    let len = || f.keystore.transcript.lock().unwrap().len();
    let mut right_pin_calls = Vec::new();
    let a = f.open();
    a.add(LINK.into()).unwrap();
    let start = len();
    a.set_pin(RIGHT.into()).unwrap();
    right_pin_calls.push(start..len());
    drop(a);
    for _ in 0..3 {
        let a = f.open();
        assert!(matches!(
            a.unlock("000000".into()),
            Err(AuthenticatorError::WrongPin { .. })
        ));
        let start = len();
        a.unlock(RIGHT.into()).unwrap();
        right_pin_calls.push(start..len());
        assert_eq!(first_code(&a), CODE_AT.1);
        a.lock().unwrap();
        assert!(matches!(
            a.unlock("999999".into()),
            Err(AuthenticatorError::WrongPin { .. })
        ));
    }
    right_pin_calls
}

fn without(log: &[KeystoreCall], ranges: &[std::ops::Range<usize>]) -> Vec<KeystoreCall> {
    log.iter()
        .enumerate()
        .filter(|(i, _)| !ranges.iter().any(|r| r.contains(i)))
        .map(|(_, c)| c.clone())
        .collect()
}

/// Every guess, right or wrong, must look the same.
fn assert_indistinguishable(
    vault: &[(String, Vec<u8>)],
    info: DeviceKeyInfo,
    log: &[KeystoreCall],
) {
    let right = guess(vault, info, log, RIGHT);
    assert_ne!(right.0, "UNLOCKED", "the right PIN was checkable offline");
    for pin in WRONG {
        assert_eq!(
            guess(vault, info, log, pin),
            right,
            "the right PIN looks different from {pin} offline"
        );
    }
}

#[test]
fn the_vault_file_and_the_keystore_transcript_do_not_let_anyone_check_a_pin_offline() {
    // HMAC keystore (Android, desktop).
    let f = Fixture::new();
    let right_pin_calls = live_a_life(&f);
    let vault = copy_of(&f.path);
    let log = f.keystore.transcript.lock().unwrap().clone();
    let info = f.keystore.device_key_info().unwrap();
    // The PRF key never crossed the trait, nor reached the file.
    let key = f.keystore.key.lock().unwrap().clone().unwrap();
    assert!(log
        .iter()
        .all(|c| !contains(&c.output, &key) && !contains(&c.input, &key)));
    assert!(vault.iter().all(|(_, b)| !contains(b, &key)));

    // The attack is real: with the calls made while the right PIN was typed (an HMAC
    // keystore sees PBKDF2 of the PIN: like watching it being typed), it finds the PIN.
    assert_eq!(guess(&vault, info, &log, RIGHT).0, "UNLOCKED");
    assert_ne!(guess(&vault, info, &log, WRONG[0]).0, "UNLOCKED");

    // Everything else the core ever stored or received: the file, every open, every
    // device-data derivation, every wrong PIN's call. No guess stands out.
    let rest = without(&log, &right_pin_calls);
    assert!(rest.len() > 10, "the transcript has the other calls");
    assert_indistinguishable(&vault, info, &rest);

    // The Secure Enclave shape (ECDH on a blinded point): even the calls made while
    // the right PIN was typed tell nothing, since each carries a fresh random point.
    let f = Fixture {
        keystore: TestKeystore::new_ecdh(),
        ..Fixture::new()
    };
    live_a_life(&f);
    let vault = copy_of(&f.path);
    let log = f.keystore.transcript.lock().unwrap().clone();
    let info = f.keystore.device_key_info().unwrap();
    let key = f.keystore.key.lock().unwrap().clone().unwrap();
    assert!(log
        .iter()
        .all(|c| !contains(&c.output, &key) && !contains(&c.input, &key)));
    let inputs: std::collections::HashSet<&Vec<u8>> = log
        .iter()
        .filter(|c| c.method == "prf")
        .map(|c| &c.input)
        .collect();
    assert_eq!(
        inputs.len(),
        log.iter().filter(|c| c.method == "prf").count(),
        "no point is ever sent twice"
    );
    assert_indistinguishable(&vault, info, &log);
}
