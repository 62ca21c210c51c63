//! Shared helpers for the core's integration tests: vaults in temp dirs with an
//! in-memory keystore, a fast KDF, and a clock the test moves.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use authenticator_core::{
    Authenticator, Clock, DeviceKeyInfo, DeviceKeyKind, KdfSettings, KeyProtection, Keystore,
    KeystoreError, OpenOptions,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A clock the test moves by hand.
pub struct TestClock {
    pub unix: AtomicI64,
    pub mono_ms: AtomicU64,
}

impl TestClock {
    pub fn new(unix: i64) -> Arc<Self> {
        Arc::new(Self {
            unix: AtomicI64::new(unix),
            mono_ms: AtomicU64::new(1_000),
        })
    }
    pub fn advance(&self, secs: u64) {
        self.unix.fetch_add(secs as i64, Ordering::SeqCst);
        self.mono_ms.fetch_add(secs * 1000, Ordering::SeqCst);
    }
    /// The phone slept with a monotonic clock that stops in suspend (what
    /// `std::time::Instant` does on Android and iOS): only the wall clock moves.
    pub fn sleep_with_stopped_monotonic(&self, secs: u64) {
        self.unix.fetch_add(secs as i64, Ordering::SeqCst);
    }
    /// Someone set the wall clock (back when negative); the monotonic clock moves by
    /// `mono_secs` meanwhile.
    pub fn jump_wall(&self, wall_secs: i64, mono_secs: u64) {
        self.unix.fetch_add(wall_secs, Ordering::SeqCst);
        self.mono_ms.fetch_add(mono_secs * 1000, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now_unix_seconds(&self) -> i64 {
        self.unix.load(Ordering::SeqCst)
    }
    fn monotonic_millis(&self) -> u64 {
        self.mono_ms.load(Ordering::SeqCst)
    }
}

/// One call through the `Keystore` trait, as the core made it.
#[derive(Clone, Debug)]
pub struct KeystoreCall {
    pub method: &'static str,
    pub input: Vec<u8>,
    pub output: Vec<u8>,
}

/// An in-memory keystore that computes its PRF inside and never hands out its key (the
/// core only gets HMAC-SHA256 outputs, or P-256 ECDH x-coordinates in `ecdh` mode);
/// it records every call (the transcript) and can be told to panic (a simulated crash)
/// on a call. `key` and `legacy` are the test's own view of what the keystore holds.
#[derive(Default)]
pub struct TestKeystore {
    /// The PRF key (HMAC key, or the P-256 scalar's bytes in `ecdh` mode).
    pub key: Mutex<Option<Vec<u8>>>,
    /// An old-format raw device key (for the upgrade tests).
    pub legacy: Mutex<Option<Vec<u8>>>,
    /// Compute P-256 ECDH like the iOS Secure Enclave keystore instead of HMAC.
    pub ecdh: std::sync::atomic::AtomicBool,
    pub calls: AtomicUsize,
    pub crash_on_call: AtomicUsize,
    pub deleted: AtomicUsize,
    pub legacy_deleted: AtomicUsize,
    /// Answer `KeyInvalidated` (a platform keystore that lost the device key).
    pub invalidated: std::sync::atomic::AtomicBool,
    /// Fail every deletion (a keystore that cannot delete the key right now).
    pub fail_delete: std::sync::atomic::AtomicBool,
    /// How many device keys were created.
    pub created: AtomicUsize,
    /// Every call the core made, with what went in and what came out.
    pub transcript: Mutex<Vec<KeystoreCall>>,
}

impl TestKeystore {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
    /// A keystore that computes P-256 ECDH (the iOS Secure Enclave shape).
    pub fn new_ecdh() -> Arc<Self> {
        let ks = Self::default();
        ks.ecdh.store(true, Ordering::SeqCst);
        Arc::new(ks)
    }
    /// A keystore that still holds an old-format raw device key (and no PRF key yet).
    pub fn with_legacy(key: Vec<u8>) -> Arc<Self> {
        let ks = Self::default();
        *ks.legacy.lock().unwrap() = Some(key);
        Arc::new(ks)
    }
    pub fn has_key(&self) -> bool {
        self.key.lock().unwrap().is_some()
    }
    fn record(&self, method: &'static str, input: &[u8], output: &[u8]) {
        self.transcript.lock().unwrap().push(KeystoreCall {
            method,
            input: input.to_vec(),
            output: output.to_vec(),
        });
    }
    /// Counts the call, crashes or fails when told to, and returns the key (created on
    /// first use).
    fn use_key(&self) -> Result<Vec<u8>, KeystoreError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if self.crash_on_call.load(Ordering::SeqCst) == n {
            panic!("simulated crash inside the keystore");
        }
        if self.invalidated.load(Ordering::SeqCst) {
            return Err(KeystoreError::KeyInvalidated {
                reason: "key permanently invalidated".into(),
            });
        }
        let mut k = self.key.lock().unwrap();
        if k.is_none() {
            self.created.fetch_add(1, Ordering::SeqCst);
            *k = Some(if self.ecdh.load(Ordering::SeqCst) {
                p256::NonZeroScalar::random(&mut rand::rngs::OsRng)
                    .to_bytes()
                    .to_vec()
            } else {
                (0..32).map(|_| rand_byte()).collect()
            });
        }
        Ok(k.clone().unwrap())
    }
}

impl Keystore for TestKeystore {
    fn device_key_info(&self) -> Result<DeviceKeyInfo, KeystoreError> {
        self.use_key()?;
        let ecdh = self.ecdh.load(Ordering::SeqCst);
        self.record("device_key_info", &[], &[]);
        Ok(DeviceKeyInfo {
            kind: if ecdh {
                DeviceKeyKind::P256Ecdh
            } else {
                DeviceKeyKind::HmacSha256
            },
            protection: if ecdh {
                KeyProtection::SecureEnclave
            } else {
                KeyProtection::Tee
            },
        })
    }
    fn prf(&self, input: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        let key = self.use_key()?;
        let out = if self.ecdh.load(Ordering::SeqCst) {
            use p256::elliptic_curve::point::AffineCoordinates;
            use p256::elliptic_curve::sec1::FromEncodedPoint;
            use p256::elliptic_curve::PrimeField;
            let bad = || KeystoreError::Unavailable {
                reason: "not a P-256 point".into(),
            };
            let point = p256::EncodedPoint::from_bytes(&input).map_err(|_| bad())?;
            let point =
                Option::<p256::AffinePoint>::from(p256::AffinePoint::from_encoded_point(&point))
                    .ok_or_else(bad)?;
            let k = Option::<p256::Scalar>::from(p256::Scalar::from_repr(
                *p256::FieldBytes::from_slice(&key),
            ))
            .unwrap();
            (p256::ProjectivePoint::from(point) * k)
                .to_affine()
                .x()
                .to_vec()
        } else {
            let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
            ring::hmac::sign(&k, &input).as_ref().to_vec()
        };
        self.record("prf", &input, &out);
        Ok(out)
    }
    fn delete_device_key(&self) -> Result<(), KeystoreError> {
        if self.fail_delete.load(Ordering::SeqCst) {
            return Err(KeystoreError::Unavailable {
                reason: "the keystore is busy".into(),
            });
        }
        self.deleted.fetch_add(1, Ordering::SeqCst);
        *self.key.lock().unwrap() = None;
        self.record("delete_device_key", &[], &[]);
        Ok(())
    }
    fn legacy_device_key(&self) -> Result<Option<Vec<u8>>, KeystoreError> {
        let key = self.legacy.lock().unwrap().clone();
        self.record("legacy_device_key", &[], key.as_deref().unwrap_or_default());
        Ok(key)
    }
    fn delete_legacy_device_key(&self) -> Result<(), KeystoreError> {
        if self.fail_delete.load(Ordering::SeqCst) {
            return Err(KeystoreError::Unavailable {
                reason: "the keystore is busy".into(),
            });
        }
        if self.legacy.lock().unwrap().take().is_some() {
            self.legacy_deleted.fetch_add(1, Ordering::SeqCst);
        }
        self.record("delete_legacy_device_key", &[], &[]);
        Ok(())
    }
}

fn rand_byte() -> u8 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut h = RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .elapsed()
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(7),
    );
    h.finish() as u8
}

pub fn fast_kdf() -> KdfSettings {
    KdfSettings {
        target: Duration::from_millis(1),
        floor: 1_000,
    }
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    pub keystore: Arc<TestKeystore>,
    pub clock: Arc<TestClock>,
}

impl Fixture {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.sqlite3");
        Self {
            dir,
            path,
            keystore: TestKeystore::new(),
            clock: TestClock::new(1_577_836_800),
        }
    }

    pub fn options(&self) -> OpenOptions {
        OpenOptions {
            clock: self.clock.clone(),
            kdf: fast_kdf(),
            phone_key_bits: 2048,
            transport: None,
        }
    }

    pub fn open(&self) -> Arc<Authenticator> {
        self.open_result().unwrap()
    }

    pub fn open_result(
        &self,
    ) -> Result<Arc<Authenticator>, authenticator_core::AuthenticatorError> {
        Authenticator::open_with(&self.path, self.keystore.clone(), self.options())
    }
}

/// Every byte of the database, its WAL and shared-memory files.
pub fn vault_bytes(path: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let p = PathBuf::from(format!("{}{suffix}", path.display()));
        if let Ok(b) = std::fs::read(&p) {
            all.extend_from_slice(&b);
        }
    }
    all
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
