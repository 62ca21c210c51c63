//! The desktop default keystore for real: the OS keychain through `keyring` (Secret
//! Service on Linux). Ignored by plain `cargo test`; `tests/run-os-keystore.sh` runs it
//! inside a private D-Bus session with an unlocked gnome-keyring.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use authenticator_core::{
    Authenticator, AuthenticatorError, DeviceKeyKind, KdfSettings, KeyProtection, Keystore,
    OpenOptions, OsKeystore,
};
use std::sync::Arc;
use std::time::Duration;

#[test]
#[ignore = "needs a Secret Service: run tests/run-os-keystore.sh"]
fn os_keystore_holds_deletes_and_protects_a_vault() {
    let id = format!("authcore-test-{}", std::process::id());
    let ks = Arc::new(OsKeystore::new(&id));
    ks.probe()
        .expect("the OS keystore must answer in this session");
    assert!(!ks.has_key().unwrap());
    // The entry holds an HMAC key; the PRF is computed in software, never the key out.
    assert_eq!(ks.legacy_device_key().unwrap(), None, "nothing created yet");
    let info = ks.device_key_info().unwrap();
    assert_eq!(info.kind, DeviceKeyKind::HmacSha256);
    assert_eq!(info.protection, KeyProtection::Software);
    assert!(ks.has_key().unwrap());
    let out = ks.prf(b"input".to_vec()).unwrap();
    assert_eq!(out.len(), 32);
    assert_eq!(
        ks.prf(b"input".to_vec()).unwrap(),
        out,
        "stable across calls"
    );
    assert_ne!(ks.prf(b"other".to_vec()).unwrap(), out);
    // Another process-independent handle on the same entry computes the same PRF.
    assert_eq!(OsKeystore::new(&id).prf(b"input".to_vec()).unwrap(), out);
    let raw = ks.legacy_device_key().unwrap().unwrap();
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &raw);
    assert_eq!(ring::hmac::sign(&k, b"input").as_ref(), &out[..]);

    // A vault on the OS keystore: PIN, wrong PINs to the wipe, key deleted from the OS.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.sqlite3");
    let opts = || OpenOptions {
        kdf: KdfSettings {
            target: Duration::from_millis(1),
            floor: 1000,
        },
        ..OpenOptions::default()
    };
    let a = Authenticator::open_with(&path, ks.clone(), opts()).unwrap();
    a.add("otpauth://totp/OS:k?secret=JBSWY3DPEHPK3PXP".into())
        .unwrap();
    a.set_pin("1234".into()).unwrap();
    assert_eq!(
        a.lock_state().unwrap().protection,
        Some(KeyProtection::Software)
    );
    drop(a);
    let a = Authenticator::open_with(&path, ks.clone(), opts()).unwrap();
    a.unlock("1234".into()).unwrap();
    a.set_app_policy(authenticator_core::LockPolicy {
        require_pin: true,
        wipe_after_attempts: 1,
        ..Default::default()
    })
    .unwrap();
    a.lock().unwrap();
    assert!(matches!(
        a.unlock("0000".into()),
        Err(AuthenticatorError::Wiped)
    ));
    assert!(
        !ks.has_key().unwrap(),
        "device key deleted from the OS keystore"
    );
    ks.delete_device_key().unwrap();
}
