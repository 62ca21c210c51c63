//! The lock as it must hold on a phone: an idle timer that counts time asleep and that
//! no wall-clock jump stretches, the lock when the app leaves the screen with its
//! background grace, changes refused while locked, a device-key fault that is not
//! "biometrics changed", and discarding a vault that can no longer open.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use authenticator_core::{
    discard_vault, Authenticator, AuthenticatorError, BiometricKey, KeystoreError, LockPolicy,
};
use common::*;
use std::sync::atomic::Ordering;
use std::sync::Arc;

const LINK: &str = "otpauth://totp/Bank:me?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Bank";
const LINK2: &str = "otpauth://totp/Shop:me?secret=MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U&issuer=Shop";

/// A vault with one account, a PIN, and an app idle timeout of 60 s.
fn idle_vault() -> (Fixture, Arc<Authenticator>, String) {
    let f = Fixture::new();
    let a = f.open();
    let id = a.add(LINK.into()).unwrap().accounts[0].id.clone();
    a.set_pin("2468".into()).unwrap();
    a.set_app_policy(LockPolicy {
        idle_timeout_seconds: Some(60),
        ..LockPolicy::default()
    })
    .unwrap();
    a.report_activity().unwrap();
    (f, a, id)
}

fn is_locked(a: &Authenticator, id: &str) -> bool {
    match a.code(id.into()) {
        Ok(_) => false,
        Err(AuthenticatorError::Locked) => true,
        Err(other) => panic!("unexpected {other:?}"),
    }
}

// ---------------------------------------------------------------- idle timer

#[test]
fn idle_lock_holds_through_a_night_asleep_even_with_a_clock_that_stopped() {
    let (f, a, id) = idle_vault();
    // The shell's monotonic clock stopped in suspend; the wall clock saw the night.
    f.clock.sleep_with_stopped_monotonic(8 * 3600);
    assert!(is_locked(&a, &id), "a night asleep must lock");
    assert!(a.lock_state().unwrap().locked);
}

#[test]
fn setting_the_wall_clock_back_does_not_stretch_the_unlock() {
    let (f, a, id) = idle_vault();
    f.clock.jump_wall(-3600, 30);
    assert!(!is_locked(&a, &id), "30 s of real time: still unlocked");
    assert_eq!(a.lock_state().unwrap().seconds_until_auto_lock, Some(30));
    f.clock.jump_wall(0, 31);
    assert!(is_locked(&a, &id), "61 s on the monotonic clock locks");
}

#[test]
fn setting_the_wall_clock_forward_locks_sooner_never_later() {
    let (f, a, id) = idle_vault();
    f.clock.jump_wall(3600, 1);
    assert!(is_locked(&a, &id));
}

#[test]
fn a_wall_clock_tick_over_does_not_lock_early() {
    let (f, a, id) = idle_vault();
    f.clock.advance(59);
    assert!(!is_locked(&a, &id));
    f.clock.advance(2);
    assert!(is_locked(&a, &id));
}

// ---------------------------------------------------------------- lifecycle

#[test]
fn leaving_the_screen_locks_at_once_by_default() {
    let f = Fixture::new();
    let a = f.open();
    let id = a.add(LINK.into()).unwrap().accounts[0].id.clone();
    a.set_pin("2468".into()).unwrap();
    assert_eq!(a.app_policy().unwrap().background_grace_seconds, 0);
    a.app_backgrounded().unwrap();
    assert!(is_locked(&a, &id));
    let s = a.app_foregrounded().unwrap();
    assert!(s.locked && s.has_pin);
    a.unlock("2468".into()).unwrap();
    assert!(
        !is_locked(&a, &id),
        "back on screen and unlocked: stays unlocked"
    );
}

#[test]
fn without_a_pin_there_is_nothing_to_lock() {
    let f = Fixture::new();
    let a = f.open();
    let id = a.add(LINK.into()).unwrap().accounts[0].id.clone();
    a.app_backgrounded().unwrap();
    f.clock.advance(3600);
    assert!(!a.app_foregrounded().unwrap().locked);
    assert!(!is_locked(&a, &id));
}

#[test]
fn the_background_grace_counts_time_asleep() {
    let (f, a, id) = idle_vault();
    let mut p = a.app_policy().unwrap();
    p.idle_timeout_seconds = None;
    p.background_grace_seconds = 60;
    a.set_app_policy(p).unwrap();
    // Away for 30 s: still unlocked when back.
    a.app_backgrounded().unwrap();
    f.clock.advance(30);
    assert!(!a.app_foregrounded().unwrap().locked);
    assert!(!is_locked(&a, &id));
    // Away, and the phone slept for ten minutes with a stopped monotonic clock.
    a.app_backgrounded().unwrap();
    f.clock.sleep_with_stopped_monotonic(600);
    assert!(a.app_foregrounded().unwrap().locked);
}

#[test]
fn the_grace_ends_in_the_background_too() {
    let (f, a, id) = idle_vault();
    let mut p = a.app_policy().unwrap();
    p.idle_timeout_seconds = None;
    p.background_grace_seconds = 60;
    a.set_app_policy(p).unwrap();
    a.app_backgrounded().unwrap();
    f.clock.advance(20);
    assert!(
        !is_locked(&a, &id),
        "a notification action inside the grace may answer"
    );
    f.clock.advance(41);
    assert!(
        is_locked(&a, &id),
        "after the grace nothing answers, even before foreground"
    );
    // A second backgrounded report does not restart the grace.
    let (f, a, id) = idle_vault();
    a.set_app_policy(p).unwrap();
    a.app_backgrounded().unwrap();
    f.clock.advance(40);
    a.app_backgrounded().unwrap();
    f.clock.advance(21);
    assert!(is_locked(&a, &id));
}

#[test]
fn a_server_can_only_shorten_the_background_grace() {
    let f = Fixture::new();
    let a = f.open();
    a.set_pin("2468".into()).unwrap();
    a.set_app_policy(LockPolicy {
        background_grace_seconds: 300,
        ..LockPolicy::default()
    })
    .unwrap();
    a.add(format!("{LINK}&lock_background=10")).unwrap();
    assert_eq!(a.lock_state().unwrap().policy.background_grace_seconds, 10);
    let id = a.add(LINK2.into()).unwrap().accounts[0].id.clone();
    a.app_backgrounded().unwrap();
    f.clock.advance(11);
    assert!(a.app_foregrounded().unwrap().locked);
    a.unlock("2468".into()).unwrap();
    assert!(!is_locked(&a, &id));
    // The app's own grace above a day is refused.
    assert!(matches!(
        a.set_app_policy(LockPolicy {
            background_grace_seconds: 86_401,
            ..LockPolicy::default()
        }),
        Err(AuthenticatorError::InvalidArgument { .. })
    ));
}

// ---------------------------------------------------------------- locked vault

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

#[test]
fn a_locked_vault_shows_names_but_refuses_changes() {
    let f = Fixture::new();
    let a = f.open();
    let id = a.add(LINK.into()).unwrap().accounts[0].id.clone();
    let id2 = a.add(LINK2.into()).unwrap().accounts[0].id.clone();
    a.set_pin("2468".into()).unwrap();
    a.enable_biometric_unlock(Arc::new(XorKey)).unwrap();
    a.lock().unwrap();
    // Reading for the lock screen works.
    assert_eq!(a.list_accounts().unwrap().len(), 2);
    assert!(a.pending_challenges().unwrap().is_empty());
    // Changing does not.
    assert!(matches!(
        a.rename_account(id.clone(), "thief".into()),
        Err(AuthenticatorError::Locked)
    ));
    assert!(matches!(
        a.reorder_accounts(vec![id2.clone(), id.clone()]),
        Err(AuthenticatorError::Locked)
    ));
    assert!(matches!(
        a.disable_biometric_unlock(),
        Err(AuthenticatorError::Locked)
    ));
    assert!(matches!(
        a.delete_account(id.clone()),
        Err(AuthenticatorError::Locked)
    ));
    let accounts = a.list_accounts().unwrap();
    assert_eq!(accounts[0].name, "me");
    assert_eq!(accounts[0].id, id, "order unchanged");
    assert!(a.lock_state().unwrap().biometric_enabled);
    // Unlocked, the same calls work.
    a.unlock_with_biometric(Arc::new(XorKey)).unwrap();
    a.rename_account(id.clone(), "renamed".into()).unwrap();
    a.reorder_accounts(vec![id2.clone(), id.clone()]).unwrap();
    a.disable_biometric_unlock().unwrap();
    let accounts = a.list_accounts().unwrap();
    assert_eq!(accounts[0].id, id2);
    assert_eq!(accounts[1].name, "renamed");
    assert!(!a.lock_state().unwrap().biometric_enabled);
}

// ---------------------------------------------------------------- device key

#[test]
fn a_device_key_fault_is_a_keystore_error_not_biometrics_changed() {
    let f = Fixture::new();
    let a = f.open();
    a.add(LINK.into()).unwrap();
    drop(a);
    f.keystore.invalidated.store(true, Ordering::SeqCst);
    match Authenticator::open_with(&f.path, f.keystore.clone(), f.options()) {
        Err(AuthenticatorError::Keystore { reason }) => {
            assert!(reason.contains("invalidated"), "{reason}")
        }
        Err(other) => panic!("expected Keystore, got {other:?}"),
        Ok(_) => panic!("opened without a device key"),
    }
    // The user confirmed "start over": the vault and its key are discarded, and a new,
    // empty vault opens.
    f.keystore.invalidated.store(false, Ordering::SeqCst);
    discard_vault(f.path.display().to_string(), f.keystore.clone()).unwrap();
    assert!(!f.path.exists());
    assert!(!f.keystore.has_key());
    let a = f.open();
    assert!(a.list_accounts().unwrap().is_empty());
    // Discarding what is not there is not an error.
    drop(a);
    discard_vault(f.path.display().to_string(), f.keystore.clone()).unwrap();
    discard_vault(f.path.display().to_string(), f.keystore.clone()).unwrap();
}

#[test]
fn codes_never_show_in_debug_output() {
    let f = Fixture::new();
    let a = f.open();
    let preview = a.preview(LINK.into()).unwrap();
    let shown = preview.accounts[0].current_code.clone().unwrap();
    assert!(!format!("{preview:?}").contains(shown.expose()));
    let id = a.add(LINK.into()).unwrap().accounts[0].id.clone();
    let code = a.code_at(id, 1_577_836_800).unwrap();
    assert_eq!(code.code.expose().len(), 6);
    assert!(
        !format!("{code:?}").contains(code.code.expose()),
        "{code:?}"
    );
    let screen = a.time_codes().unwrap();
    assert!(!format!("{screen:?}").contains(screen[0].code.expose()));
}
