//! Shared helpers for the core's integration tests: vaults in temp dirs with an
//! in-memory keystore, a fast KDF, and a clock the test moves.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use authenticator_core::{Authenticator, Clock, KdfSettings, Keystore, KeystoreError, OpenOptions};
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

/// An in-memory keystore that can be told to panic (a simulated crash) on a call.
#[derive(Default)]
pub struct TestKeystore {
    pub key: Mutex<Option<Vec<u8>>>,
    pub calls: AtomicUsize,
    pub crash_on_call: AtomicUsize,
    pub deleted: AtomicUsize,
    /// Answer `KeyInvalidated` (a platform keystore that lost the device key).
    pub invalidated: std::sync::atomic::AtomicBool,
    /// Fail every deletion (a keystore that cannot delete the key right now).
    pub fail_delete: std::sync::atomic::AtomicBool,
    /// How many device keys were created.
    pub created: AtomicUsize,
}

impl TestKeystore {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
    pub fn has_key(&self) -> bool {
        self.key.lock().unwrap().is_some()
    }
}

impl Keystore for TestKeystore {
    fn get_or_create_device_key(&self) -> Result<Vec<u8>, KeystoreError> {
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
            *k = Some((0..32).map(|_| rand_byte()).collect());
        }
        Ok(k.clone().unwrap())
    }
    fn delete_device_key(&self) -> Result<(), KeystoreError> {
        if self.fail_delete.load(Ordering::SeqCst) {
            return Err(KeystoreError::Unavailable {
                reason: "the keystore is busy".into(),
            });
        }
        self.deleted.fetch_add(1, Ordering::SeqCst);
        *self.key.lock().unwrap() = None;
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
        Authenticator::open_with(&self.path, self.keystore.clone(), self.options()).unwrap()
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
