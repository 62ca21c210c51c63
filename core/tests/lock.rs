//! The PIN lock through the public API: set/change/remove, wrong PINs to the wipe (file
//! bytes and keystore checked), the attempt counter surviving a crash, idle timeout with
//! a moved clock, strictest policy and its relaxation, biometric wrap, and no PIN or
//! secret in any error or Debug output.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use authenticator_core::{
    Authenticator, AuthenticatorError, BiometricKey, KeystoreError, LockPolicy,
};
use common::*;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

const SECRET_B32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const SECRET_RAW: &[u8] = b"12345678901234567890";
const LINK: &str = "otpauth://totp/Bank:me?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Bank";

fn setup_with_pin(pin: &str) -> (Fixture, Arc<Authenticator>, String) {
    let f = Fixture::new();
    let a = f.open();
    let id = a.add(LINK.into()).unwrap().accounts[0].id.clone();
    a.set_pin(pin.into()).unwrap();
    (f, a, id)
}

#[test]
fn pin_set_lock_unlock_change_remove() {
    let (f, a, id) = setup_with_pin("2468");
    let s = a.lock_state().unwrap();
    assert!(s.has_pin && !s.locked);
    assert_eq!(s.attempts_left, 10);
    a.lock().unwrap();
    assert!(matches!(
        a.code(id.clone()),
        Err(AuthenticatorError::Locked)
    ));
    // Account metadata stays readable while locked; secrets do not.
    assert_eq!(a.list_accounts().unwrap().len(), 1);
    assert!(matches!(
        a.unlock("1111".into()),
        Err(AuthenticatorError::WrongPin { attempts_left: 9 })
    ));
    assert!(matches!(
        a.unlock("1112".into()),
        Err(AuthenticatorError::WrongPin { attempts_left: 8 })
    ));
    a.unlock("2468".into()).unwrap();
    assert_eq!(
        a.lock_state().unwrap().attempts_left,
        10,
        "reset after success"
    );
    assert!(a.code(id.clone()).is_ok());

    // A fresh process starts locked.
    drop(a);
    let a = f.open();
    assert!(a.lock_state().unwrap().locked);
    assert!(matches!(
        a.code(id.clone()),
        Err(AuthenticatorError::Locked)
    ));

    // Change: wrong old PIN counts; right one re-wraps.
    assert!(matches!(
        a.change_pin("0000".into(), "1357".into()),
        Err(AuthenticatorError::WrongPin { .. })
    ));
    a.change_pin("2468".into(), "1357".into()).unwrap();
    a.lock().unwrap();
    assert!(matches!(
        a.unlock("2468".into()),
        Err(AuthenticatorError::WrongPin { .. })
    ));
    a.unlock("1357".into()).unwrap();
    assert_eq!(a.code_at(id.clone(), 59).unwrap().code, "287082");

    // Bad PINs are refused with a reason that does not contain them.
    match a.change_pin("1357".into(), "12a4".into()) {
        Err(AuthenticatorError::InvalidPin { reason }) => assert!(!reason.contains("12a4")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        a.change_pin("1357".into(), "123".into()),
        Err(AuthenticatorError::InvalidPin { .. })
    ));

    a.remove_pin("1357".into()).unwrap();
    drop(a);
    let a = f.open();
    assert!(!a.lock_state().unwrap().locked);
    assert!(a.code(id).is_ok());
}

#[test]
fn change_pin_rewraps_only_the_vault_key() {
    let (f, a, _) = setup_with_pin("2468");
    let secret_blob = |p: &std::path::Path| -> Vec<u8> { rusqlite_free_read(p) };
    let before = secret_blob(&f.path);
    a.change_pin("2468".into(), "97531".into()).unwrap();
    let after = secret_blob(&f.path);
    assert_eq!(
        before, after,
        "account ciphertexts unchanged by a PIN change"
    );
}

/// Reads the encrypted secret column by scanning for the account table's ciphertext:
/// simplest is to ask SQLite through the sqlite3 CLI-free route of opening the DB.
fn rusqlite_free_read(p: &std::path::Path) -> Vec<u8> {
    // The core's public API does not expose ciphertexts; open the file read-only with
    // the bundled SQLite through a throwaway in-process connection via the test-only
    // helper below.
    sqlite_blob(p, "SELECT secret FROM accounts ORDER BY id")
}

fn sqlite_blob(p: &std::path::Path, sql: &str) -> Vec<u8> {
    let conn = rusqlite::Connection::open_with_flags(p, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    let mut st = conn.prepare(sql).unwrap();
    let rows = st.query_map([], |r| r.get::<_, Vec<u8>>(0)).unwrap();
    rows.flat_map(|r| r.unwrap()).collect()
}

#[test]
fn wrong_pin_to_the_limit_wipes_everything() {
    let (f, a, id) = setup_with_pin("2468");
    // A push-style second account and a few codes so the WAL has history.
    a.add("otpauth://hotp/Other:x?secret=MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43UOV3HO6DZPIYTEMZUGU3DOOBZ&counter=3".into())
        .unwrap();
    a.code(id.clone()).unwrap();
    a.lock().unwrap();
    for left in (1..10).rev() {
        match a.unlock("0000".into()) {
            Err(AuthenticatorError::WrongPin { attempts_left }) => assert_eq!(attempts_left, left),
            other => panic!("{other:?}"),
        }
    }
    assert!(f.keystore.has_key());
    assert!(matches!(
        a.unlock("0000".into()),
        Err(AuthenticatorError::Wiped)
    ));
    // Everything answers Wiped until start over; even the right PIN.
    assert!(matches!(
        a.unlock("2468".into()),
        Err(AuthenticatorError::Wiped)
    ));
    assert!(matches!(a.list_accounts(), Err(AuthenticatorError::Wiped)));
    assert!(matches!(a.code(id.clone()), Err(AuthenticatorError::Wiped)));
    assert!(a.lock_state().unwrap().wiped);
    // Device key deleted from the keystore.
    assert!(!f.keystore.has_key());
    assert_eq!(f.keystore.deleted.load(Ordering::SeqCst), 1);
    // No former secret in the database or its WAL.
    let bytes = vault_bytes(&f.path);
    assert!(!contains(&bytes, SECRET_RAW));
    assert!(!contains(&bytes, SECRET_B32.as_bytes()));
    assert!(!contains(&bytes, b"Bank"), "account metadata gone too");
    assert!(!contains(&bytes, b"abcdefghijklmnopqrstuvwxyz1234567890"));
    // Reopening still says wiped; start over gives an empty, usable vault.
    drop(a);
    let a = f.open();
    assert!(matches!(a.list_accounts(), Err(AuthenticatorError::Wiped)));
    a.start_over().unwrap();
    assert!(a.list_accounts().unwrap().is_empty());
    assert!(!a.lock_state().unwrap().has_pin);
    a.add(LINK.into()).unwrap();
    assert!(f.keystore.has_key(), "a new device key");
}

#[test]
fn policy_wipe_after_is_honoured_and_the_counter_survives_a_crash() {
    let (f, a, _) = setup_with_pin("2468");
    a.set_app_policy(LockPolicy {
        require_pin: true,
        wipe_after_attempts: 3,
        idle_timeout_seconds: None,
        min_pin_length: 4,
        background_grace_seconds: 0,
    })
    .unwrap();
    a.lock().unwrap();
    assert!(matches!(
        a.unlock("0000".into()),
        Err(AuthenticatorError::WrongPin { attempts_left: 2 })
    ));
    // Simulated crash: the keystore panics in the middle of the next PIN check, after
    // the attempt was committed. The panic does not cross the API...
    let next_call = f.keystore.calls.load(Ordering::SeqCst) + 1;
    f.keystore.crash_on_call.store(next_call, Ordering::SeqCst);
    match a.unlock("2468".into()) {
        Err(AuthenticatorError::Internal { .. }) => {}
        other => panic!("expected the simulated crash, got {other:?}"),
    }
    f.keystore.crash_on_call.store(0, Ordering::SeqCst);
    // ...and the attempt still counts after a restart: no free try.
    drop(a);
    let a = f.open();
    assert_eq!(a.lock_state().unwrap().attempts_left, 1);
    assert!(matches!(
        a.unlock("0000".into()),
        Err(AuthenticatorError::Wiped)
    ));
    assert!(!f.keystore.has_key());
}

#[test]
fn idle_timeout_locks_and_activity_restarts_it() {
    let f = Fixture::new();
    let a = f.open();
    let id = a.add(format!("{LINK}&lock_idle=60")).err();
    // The link requires a PIN and none is set.
    assert!(matches!(id, Some(AuthenticatorError::PinRequired)));
    assert!(
        a.preview(format!("{LINK}&lock_idle=60"))
            .unwrap()
            .requires_pin
    );
    let id = a
        .add_with_pin(format!("{LINK}&lock_idle=60"), "8642".into())
        .unwrap()
        .accounts[0]
        .id
        .clone();
    let s = a.lock_state().unwrap();
    assert!(s.has_pin && !s.locked);
    assert_eq!(s.policy.idle_timeout_seconds, Some(60));
    assert_eq!(s.seconds_until_auto_lock, Some(60));
    f.clock.advance(45);
    assert!(a.code(id.clone()).is_ok());
    assert_eq!(a.lock_state().unwrap().seconds_until_auto_lock, Some(15));
    a.report_activity().unwrap();
    f.clock.advance(45);
    assert!(a.code(id.clone()).is_ok(), "activity restarted the timer");
    f.clock.advance(16);
    assert!(matches!(
        a.code(id.clone()),
        Err(AuthenticatorError::Locked)
    ));
    // Activity after the timeout does not revive it.
    a.report_activity().unwrap();
    assert!(a.lock_state().unwrap().locked);
    a.unlock("8642".into()).unwrap();
    assert!(a.code(id).is_ok());
}

#[test]
fn strictest_policy_wins_and_relaxes_on_removal() {
    let f = Fixture::new();
    let a = f.open();
    a.set_pin("1234".into()).unwrap();
    a.set_app_policy(LockPolicy {
        require_pin: false,
        wipe_after_attempts: 8,
        idle_timeout_seconds: Some(300),
        min_pin_length: 4,
        background_grace_seconds: 0,
    })
    .unwrap();
    let strict = a
        .add("otpauth://totp/Ent:a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&lock_pin=1&lock_wipe_after=5&lock_idle=120".into())
        .unwrap()
        .accounts[0]
        .clone();
    assert!(strict.requires_pin);
    let loose = a
        .add("otpauth://totp/Ent:b?secret=MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U&lock_wipe_after=7&lock_idle=600".into())
        .unwrap()
        .accounts[0]
        .clone();
    let p = a.lock_state().unwrap().policy;
    assert_eq!(
        p,
        LockPolicy {
            require_pin: true,
            wipe_after_attempts: 5,
            idle_timeout_seconds: Some(120),
            min_pin_length: 4,
            background_grace_seconds: 0,
        }
    );
    // A required PIN cannot be removed.
    assert!(matches!(
        a.remove_pin("1234".into()),
        Err(AuthenticatorError::PinRequired)
    ));
    a.delete_account(strict.id).unwrap();
    let p = a.lock_state().unwrap().policy;
    assert_eq!(p.wipe_after_attempts, 7);
    assert_eq!(p.idle_timeout_seconds, Some(300));
    assert!(p.require_pin, "loose account's lock_idle implies a PIN");
    a.delete_account(loose.id).unwrap();
    let p = a.lock_state().unwrap().policy;
    assert_eq!(
        (p.require_pin, p.wipe_after_attempts, p.idle_timeout_seconds),
        (false, 8, Some(300))
    );
    a.set_app_policy(LockPolicy::default()).unwrap();
    a.remove_pin("1234".into()).unwrap();
    // Requiring a PIN with none set is refused.
    assert!(matches!(
        a.set_app_policy(LockPolicy {
            require_pin: true,
            ..LockPolicy::default()
        }),
        Err(AuthenticatorError::PinRequired)
    ));
    assert!(matches!(
        a.set_app_policy(LockPolicy {
            wipe_after_attempts: 11,
            ..LockPolicy::default()
        }),
        Err(AuthenticatorError::InvalidArgument { .. })
    ));
}

/// In-memory platform key: XOR with a key it holds, plus a flag that simulates a
/// changed biometric enrolment.
struct FakeBiometric {
    key: Vec<u8>,
    invalidated: Mutex<bool>,
    cancel: Mutex<bool>,
}

impl BiometricKey for FakeBiometric {
    fn wrap(&self, plaintext: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        Ok(plaintext
            .iter()
            .zip(self.key.iter().cycle())
            .map(|(a, b)| a ^ b)
            .collect())
    }
    fn unwrap(&self, ciphertext: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        if *self.invalidated.lock().unwrap() {
            return Err(KeystoreError::KeyInvalidated {
                reason: "enrolment changed".into(),
            });
        }
        if *self.cancel.lock().unwrap() {
            return Err(KeystoreError::Cancelled);
        }
        self.wrap(ciphertext)
    }
    fn delete_key(&self) -> Result<(), KeystoreError> {
        Ok(())
    }
}

#[test]
fn biometric_unlock_wraps_the_vault_key_and_invalidation_turns_it_off() {
    let (_f, a, id) = setup_with_pin("2468");
    let bio = Arc::new(FakeBiometric {
        key: vec![0x5a, 0x13, 0x77],
        invalidated: Mutex::new(false),
        cancel: Mutex::new(false),
    });
    a.enable_biometric_unlock(bio.clone()).unwrap();
    assert!(a.lock_state().unwrap().biometric_enabled);
    a.lock().unwrap();
    a.unlock_with_biometric(bio.clone()).unwrap();
    assert!(a.code(id.clone()).is_ok());
    a.lock().unwrap();
    *bio.cancel.lock().unwrap() = true;
    assert!(matches!(
        a.unlock_with_biometric(bio.clone()),
        Err(AuthenticatorError::Cancelled)
    ));
    *bio.cancel.lock().unwrap() = false;
    // A different platform key (wrong wrap) is refused.
    let other = Arc::new(FakeBiometric {
        key: vec![1],
        invalidated: Mutex::new(false),
        cancel: Mutex::new(false),
    });
    assert!(matches!(
        a.unlock_with_biometric(other),
        Err(AuthenticatorError::BiometricInvalidated)
    ));
    assert!(!a.lock_state().unwrap().biometric_enabled);
    // Re-enable, then invalidate.
    a.unlock("2468".into()).unwrap();
    a.enable_biometric_unlock(bio.clone()).unwrap();
    a.lock().unwrap();
    *bio.invalidated.lock().unwrap() = true;
    assert!(matches!(
        a.unlock_with_biometric(bio.clone()),
        Err(AuthenticatorError::BiometricInvalidated)
    ));
    assert!(!a.lock_state().unwrap().biometric_enabled);
    assert!(a.lock_state().unwrap().locked);
    // Biometric needs a PIN underneath.
    a.unlock("2468".into()).unwrap();
    a.remove_pin("2468".into()).unwrap();
    assert!(matches!(
        a.enable_biometric_unlock(bio),
        Err(AuthenticatorError::PinRequired)
    ));
}

#[test]
fn wrong_pins_still_count_with_biometric_enabled() {
    let (f, a, _) = setup_with_pin("2468");
    let bio = Arc::new(FakeBiometric {
        key: vec![9],
        invalidated: Mutex::new(false),
        cancel: Mutex::new(false),
    });
    a.enable_biometric_unlock(bio.clone()).unwrap();
    a.set_app_policy(LockPolicy {
        require_pin: true,
        wipe_after_attempts: 2,
        ..LockPolicy::default()
    })
    .unwrap();
    a.lock().unwrap();
    assert!(matches!(
        a.unlock("1111".into()),
        Err(AuthenticatorError::WrongPin { attempts_left: 1 })
    ));
    a.unlock_with_biometric(bio.clone()).unwrap();
    a.lock().unwrap();
    assert!(matches!(
        a.unlock("1111".into()),
        Err(AuthenticatorError::Wiped)
    ));
    assert!(matches!(
        a.unlock_with_biometric(bio),
        Err(AuthenticatorError::Wiped)
    ));
    assert!(!f.keystore.has_key());
}

#[test]
fn no_pin_or_secret_in_errors_or_debug() {
    let (_f, a, _) = setup_with_pin("97531");
    a.lock().unwrap();
    let mut texts = Vec::new();
    for e in [
        a.unlock("86420".into()).unwrap_err(),
        a.change_pin("86421".into(), "1".into()).unwrap_err(),
        a.add("otpauth://totp/x?secret=JBSWY3DP!HPK3PXP".into())
            .unwrap_err(),
        a.code("x".into()).unwrap_err(),
    ] {
        texts.push(format!("{e} {e:?}"));
    }
    texts.push(format!("{a:?}"));
    texts.push(format!("{:?}", a.lock_state().unwrap()));
    for t in texts {
        for needle in ["97531", "86420", "86421", "JBSWY3DP", SECRET_B32] {
            assert!(!t.contains(needle), "'{t}' contains '{needle}'");
        }
    }
}

#[test]
fn a_wrong_device_key_is_a_keystore_error_and_burns_no_attempts() {
    let (f, a, id) = setup_with_pin("2468");
    drop(a);
    // The same database with another device key cannot be opened, even with the PIN,
    // and trying does not count as a wrong PIN.
    let right = f.keystore.key.lock().unwrap().clone();
    *f.keystore.key.lock().unwrap() = Some(vec![7u8; 32]);
    for _ in 0..12 {
        match Authenticator::open_with(&f.path, f.keystore.clone(), f.options()) {
            Err(AuthenticatorError::Keystore { reason }) => {
                assert!(reason.contains("does not match"))
            }
            other => panic!("{other:?}"),
        }
    }
    *f.keystore.key.lock().unwrap() = right;
    let a = f.open();
    assert_eq!(a.lock_state().unwrap().attempts_left, 10);
    a.unlock("2468".into()).unwrap();
    assert!(a.code(id).is_ok());
}

#[test]
fn a_crash_during_pin_change_leaves_the_old_pin_working() {
    let (f, a, id) = setup_with_pin("2468");
    // change_pin: the old PIN is checked (one keystore call), then the new wrap is
    // computed (the next call). Crash there.
    let next = f.keystore.calls.load(Ordering::SeqCst) + 2;
    f.keystore.crash_on_call.store(next, Ordering::SeqCst);
    assert!(matches!(
        a.change_pin("2468".into(), "1357".into()),
        Err(AuthenticatorError::Internal { .. })
    ));
    f.keystore.crash_on_call.store(0, Ordering::SeqCst);
    drop(a);
    let a = f.open();
    assert!(matches!(
        a.unlock("1357".into()),
        Err(AuthenticatorError::WrongPin { .. })
    ));
    a.unlock("2468".into()).unwrap();
    assert!(a.code(id).is_ok());
}
