//! The outside review's lock findings, each reproduced first: wrong PINs raced from
//! several connections, a scanned link or a settings change that would wipe by itself,
//! and a wipe whose device-key deletion failed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use authenticator_core::{
    Authenticator, AuthenticatorError, BiometricKey, KdfSettings, KeystoreError, LockPolicy,
    LockSetting, OpenOptions,
};
use common::*;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Barrier};
use std::time::Duration;

const LINK: &str = "otpauth://totp/Bank:me?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Bank";
const STRICT_LINK: &str =
    "otpauth://totp/Corp:me?secret=MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U&issuer=Corp&lock_wipe_after=3";

fn vault_with_pin(f: &Fixture, options: OpenOptions) -> Arc<Authenticator> {
    let a = Authenticator::open_with(&f.path, f.keystore.clone(), options).unwrap();
    a.add(LINK.into()).unwrap();
    a.set_pin("2468".into()).unwrap();
    a
}

#[test]
fn wrong_pins_raced_from_eight_connections_evaluate_exactly_the_limit() {
    let f = Fixture::new();
    // A KDF slow enough (tens of ms) that the attempts really overlap.
    let options = OpenOptions {
        kdf: KdfSettings {
            target: Duration::from_millis(30),
            floor: 20_000,
        },
        ..f.options()
    };
    let a = vault_with_pin(&f, options.clone());
    a.set_app_policy(LockPolicy {
        wipe_after_attempts: 3,
        ..LockPolicy::default()
    })
    .unwrap();
    drop(a);
    let conns: Vec<_> = (0..8)
        .map(|_| Authenticator::open_with(&f.path, f.keystore.clone(), options.clone()).unwrap())
        .collect();
    let evaluated_before = f.keystore.calls.load(Ordering::SeqCst);
    let barrier = Arc::new(Barrier::new(conns.len()));
    let answers: Vec<_> = conns
        .iter()
        .cloned()
        .map(|c| {
            let b = barrier.clone();
            std::thread::spawn(move || {
                b.wait();
                c.unlock("0000".into())
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    // Every PIN evaluation asks the keystore for one PRF (its kind is asked once per open).
    let evaluated = f.keystore.calls.load(Ordering::SeqCst) - evaluated_before;
    assert_eq!(evaluated, 3, "exactly the limit is evaluated: {answers:?}");
    let wiped = answers
        .iter()
        .filter(|r| matches!(r, Err(AuthenticatorError::Wiped)))
        .count();
    let wrong = answers
        .iter()
        .filter(|r| matches!(r, Err(AuthenticatorError::WrongPin { .. })))
        .count();
    assert_eq!((wrong, wiped), (2, 6), "{answers:?}");
    // After that nothing opens it, not even the right PIN, on any connection.
    for c in &conns {
        assert!(matches!(
            c.unlock("2468".into()),
            Err(AuthenticatorError::Wiped)
        ));
    }
    drop(conns);
    let a = f.open();
    assert!(matches!(
        a.unlock("2468".into()),
        Err(AuthenticatorError::Wiped)
    ));
    assert!(matches!(a.list_accounts(), Err(AuthenticatorError::Wiped)));
    assert!(!f.keystore.has_key());
}

struct XorKey;

impl BiometricKey for XorKey {
    fn wrap(&self, plaintext: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        Ok(plaintext.iter().map(|b| b ^ 0x42).collect())
    }
    fn unwrap(&self, ciphertext: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        self.wrap(ciphertext)
    }
    fn delete_key(&self) -> Result<(), KeystoreError> {
        Ok(())
    }
}

/// Four wrong PINs, then a biometric unlock (which does not reset the counter).
fn four_wrong_pins_then_biometric(f: &Fixture) -> Arc<Authenticator> {
    let a = vault_with_pin(f, f.options());
    a.enable_biometric_unlock(Arc::new(XorKey)).unwrap();
    a.lock().unwrap();
    for _ in 0..4 {
        assert!(matches!(
            a.unlock("0000".into()),
            Err(AuthenticatorError::WrongPin { .. })
        ));
    }
    a.unlock_with_biometric(Arc::new(XorKey)).unwrap();
    assert_eq!(a.lock_state().unwrap().attempts_left, 6);
    a
}

#[test]
fn a_scanned_link_never_wipes_by_itself() {
    let f = Fixture::new();
    let a = four_wrong_pins_then_biometric(&f);
    // The preview says what the link would change, before anything is stored.
    let p = a.preview(STRICT_LINK.into()).unwrap();
    let wipe = p
        .lock_changes
        .iter()
        .find(|c| c.setting == LockSetting::WipeAfterAttempts)
        .expect("the wipe threshold change is listed");
    assert_eq!((wipe.current, wipe.proposed), (Some(10), Some(5)));
    assert!(p.lock_changes.iter().any(
        |c| c.setting == LockSetting::RequirePin || c.setting == LockSetting::WipeAfterAttempts
    ));
    a.add(STRICT_LINK.into()).unwrap();
    // The limit of 3 takes effect no lower than the 4 failures + 1.
    assert_eq!(a.lock_state().unwrap().attempts_left, 1);
    drop(a);
    let a = f.open();
    assert!(!a.lock_state().unwrap().wiped, "no wipe at the next open");
    assert_eq!(a.list_accounts().unwrap().len(), 2);
    // A correct PIN clears the counter, and then the server's 3 applies.
    a.unlock("2468".into()).unwrap();
    assert_eq!(a.lock_state().unwrap().attempts_left, 3);
}

#[test]
fn a_settings_change_never_wipes_by_itself() {
    let f = Fixture::new();
    let a = four_wrong_pins_then_biometric(&f);
    a.set_app_policy(LockPolicy {
        wipe_after_attempts: 2,
        ..LockPolicy::default()
    })
    .unwrap();
    assert_eq!(a.lock_state().unwrap().attempts_left, 1);
    drop(a);
    let a = f.open();
    assert!(!a.lock_state().unwrap().wiped);
    // The one attempt left is real: the next wrong PIN wipes.
    assert!(matches!(
        a.unlock("0000".into()),
        Err(AuthenticatorError::Wiped)
    ));
}

#[test]
fn a_wipe_whose_key_deletion_failed_is_finished_later_and_start_over_mints_a_new_key() {
    let f = Fixture::new();
    let a = vault_with_pin(&f, f.options());
    a.set_app_policy(LockPolicy {
        wipe_after_attempts: 2,
        ..LockPolicy::default()
    })
    .unwrap();
    a.lock().unwrap();
    let old_key = f.keystore.key.lock().unwrap().clone().unwrap();
    f.keystore.fail_delete.store(true, Ordering::SeqCst);
    assert!(matches!(
        a.unlock("0000".into()),
        Err(AuthenticatorError::WrongPin { attempts_left: 1 })
    ));
    // At the limit the answer is Wiped, even though the keystore refused the deletion.
    assert!(matches!(
        a.unlock("0000".into()),
        Err(AuthenticatorError::Wiped)
    ));
    assert!(f.keystore.has_key(), "the deletion failed");
    // start_over must not reuse the old key: while it cannot be deleted, it refuses.
    assert!(matches!(
        a.start_over(),
        Err(AuthenticatorError::Keystore { .. })
    ));
    drop(a);
    // The next open finishes the wipe.
    f.keystore.fail_delete.store(false, Ordering::SeqCst);
    let a = f.open();
    assert!(!f.keystore.has_key(), "open deleted the old device key");
    assert!(a.lock_state().unwrap().wiped);
    a.start_over().unwrap();
    let new_key = f.keystore.key.lock().unwrap().clone().unwrap();
    assert_ne!(old_key, new_key);
    assert!(a.list_accounts().unwrap().is_empty());
}

#[test]
fn extreme_times_are_answered_without_a_panic() {
    let f = Fixture::new();
    let a = f.open();
    let id = a.add(LINK.into()).unwrap().accounts[0].id.clone();
    for t in [i64::MAX, i64::MAX - 29, 253_402_300_799] {
        match a.code_at(id.clone(), t) {
            Ok(c) => assert_eq!(c.code.expose().len(), 6),
            Err(AuthenticatorError::Internal { reason }) => panic!("{t}: {reason}"),
            Err(_) => {}
        }
        match a.time_codes_at(t) {
            Ok(_) => {}
            Err(AuthenticatorError::Internal { reason }) => panic!("{t}: {reason}"),
            Err(_) => {}
        }
    }
    assert!(matches!(
        a.code_at(id, -1),
        Err(AuthenticatorError::InvalidArgument { .. })
    ));
}
