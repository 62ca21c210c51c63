//! Platform services the shell provides as foreign traits (`Keystore`, `BiometricKey`,
//! `Clock`), and the desktop implementations of them: an HMAC key in the OS keychain
//! through the `keyring` crate or in a user-only file (the PRF computed in software),
//! and the system clock.

use crate::error::KeystoreError;
use std::path::PathBuf;
use zeroize::Zeroizing;

/// Where the device key lives, as `lock_state` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum KeyProtection {
    /// Android StrongBox: a separate secure chip.
    Strongbox,
    /// Android's trusted execution environment.
    Tee,
    /// Apple's Secure Enclave.
    SecureEnclave,
    /// No hardware: the key is in memory or in a file (desktop, a simulator, an old
    /// device, or a vault of the old format not yet re-keyed).
    Software,
}

/// Which function the device key computes in [`Keystore::prf`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DeviceKeyKind {
    /// `prf(input)` = HMAC-SHA256(key, input), 32 bytes (Android Keystore, desktop).
    HmacSha256,
    /// `prf(point)` = the x-coordinate (32 bytes, big-endian) of ECDH between a P-256
    /// key-agreement key and `point`, a 65-byte uncompressed SEC1 P-256 point (iOS Secure
    /// Enclave: CryptoKit's `sharedSecretFromKeyAgreement`). The core hashes its input
    /// to the curve, blinds it and finishes the PRF itself.
    P256Ecdh,
}

/// What [`Keystore::device_key_info`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct DeviceKeyInfo {
    /// The function the key computes.
    pub kind: DeviceKeyKind,
    /// Where the key lives.
    pub protection: KeyProtection,
}

/// Holds the device key, which never leaves the platform's secure store: the core only
/// ever asks it to compute a keyed function. Every PIN check needs a call to `prf`, so
/// the vault file and whatever else is copied off the device are useless for guessing
/// the PIN elsewhere.
#[uniffi::export(with_foreign)]
pub trait Keystore: Send + Sync {
    /// The kind and protection of the device key, creating (and persisting) the key on
    /// first use. The kind must never change for a key.
    fn device_key_info(&self) -> Result<DeviceKeyInfo, KeystoreError>;
    /// Computes the device key's function on `input` (see [`DeviceKeyKind`]), creating
    /// the key on first use. Returns 32 bytes; never the key.
    fn prf(&self, input: Vec<u8>) -> Result<Vec<u8>, KeystoreError>;
    /// Deletes the device key (after a wipe). Deleting a missing key is not an error.
    fn delete_device_key(&self) -> Result<(), KeystoreError>;
    /// Upgrade from the old format: the raw 32-byte device key that older versions
    /// stored (`get_or_create_device_key`), if it is still there; never creates one.
    /// Called only for a vault written before schema 7, until it is re-keyed.
    fn legacy_device_key(&self) -> Result<Option<Vec<u8>>, KeystoreError>;
    /// Deletes the old raw device key (after the re-key, and at a wipe). Deleting a
    /// missing key is not an error.
    fn delete_legacy_device_key(&self) -> Result<(), KeystoreError>;
}

/// A platform key that needs user presence (biometry) for every use: the second,
/// optional wrap of the vault key. Android: a Keystore key with user authentication;
/// iOS: a Secure Enclave key with `.biometryCurrentSet`.
#[uniffi::export(with_foreign)]
pub trait BiometricKey: Send + Sync {
    /// Encrypts `plaintext` with the platform key (may prompt the user).
    fn wrap(&self, plaintext: Vec<u8>) -> Result<Vec<u8>, KeystoreError>;
    /// Decrypts what `wrap` returned (prompts the user). A changed biometric enrolment
    /// must answer `KeyInvalidated`.
    fn unwrap(&self, ciphertext: Vec<u8>) -> Result<Vec<u8>, KeystoreError>;
    /// Deletes the platform key.
    fn delete_key(&self) -> Result<(), KeystoreError>;
}

/// Time source: wall time for TOTP, and a monotonic reading for the idle timeout and
/// the background grace. The core measures an unlock with the larger of the two
/// clocks' elapsed times, so a shell clock that stops while the phone sleeps, or a wall
/// clock set back, cannot stretch it.
#[uniffi::export(with_foreign)]
pub trait Clock: Send + Sync {
    /// Seconds since the unix epoch (wall clock).
    fn now_unix_seconds(&self) -> i64;
    /// Milliseconds from an arbitrary fixed origin that never goes backwards and keeps
    /// counting while the device is asleep (Android: `SystemClock.elapsedRealtime()`;
    /// Apple: `clock_gettime_nsec_np(CLOCK_MONOTONIC)`).
    fn monotonic_millis(&self) -> u64;
}

/// The real clock. Its monotonic reading counts time the device spent asleep on every
/// target: `CLOCK_BOOTTIME` on Linux and Android, `CLOCK_MONOTONIC` on Apple platforms
/// (which, unlike `CLOCK_UPTIME_RAW` behind `std::time::Instant`, counts sleep: it is
/// `mach_continuous_time`), `GetTickCount64` on Windows (counts sleep and hibernation).
/// Elsewhere it falls back to `std::time::Instant`.
pub struct SystemClock {
    origin: std::time::Instant,
}

impl SystemClock {
    /// The system clock.
    pub fn new() -> Self {
        Self {
            origin: std::time::Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now_unix_seconds(&self) -> i64 {
        // Before 1970 only on a broken clock: count it as 1970.
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
    fn monotonic_millis(&self) -> u64 {
        suspend_aware_millis()
            .unwrap_or_else(|| u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX))
    }
}

/// Milliseconds of a clock that counts suspend, where the platform has one.
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "ios"
))]
pub(crate) fn suspend_aware_millis() -> Option<u64> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const CLOCK: libc::clockid_t = libc::CLOCK_BOOTTIME;
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    const CLOCK: libc::clockid_t = libc::CLOCK_MONOTONIC;
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; clock_gettime only writes into it.
    let rc = unsafe { libc::clock_gettime(CLOCK, &mut ts) };
    if rc != 0 {
        return None;
    }
    let secs = u64::try_from(ts.tv_sec).ok()?;
    let millis = u64::try_from(ts.tv_nsec).ok()? / 1_000_000;
    secs.checked_mul(1000)?.checked_add(millis)
}

/// Milliseconds of a clock that counts suspend, where the platform has one.
#[cfg(windows)]
pub(crate) fn suspend_aware_millis() -> Option<u64> {
    #[link(name = "kernel32")]
    extern "system" {
        fn GetTickCount64() -> u64;
    }
    // SAFETY: GetTickCount64 takes no arguments and cannot fail.
    Some(unsafe { GetTickCount64() })
}

/// Milliseconds of a clock that counts suspend, where the platform has one.
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "ios",
    windows
)))]
pub(crate) fn suspend_aware_millis() -> Option<u64> {
    None
}

fn unavailable(e: impl std::fmt::Display) -> KeystoreError {
    KeystoreError::Unavailable {
        reason: e.to_string(),
    }
}

fn random_key() -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
    crate::crypto::random_vec(32)
        .map(Zeroizing::new)
        .map_err(unavailable)
}

#[cfg(not(any(target_os = "android", target_os = "ios")))]
/// Desktop keystore: the OS keychain through `keyring` (Secret Service on Linux,
/// Keychain on macOS, Credential Manager on Windows). The key is stored hex-encoded
/// under service `authenticator-core`, user = the vault id.
#[derive(Debug)]
pub struct OsKeystore {
    service: String,
    user: String,
}

#[cfg(not(any(target_os = "android", target_os = "ios")))]
impl OsKeystore {
    /// A keystore entry for one vault (`vault_id` should be unique per vault file).
    pub fn new(vault_id: &str) -> Self {
        Self {
            service: "authenticator-core".into(),
            user: vault_id.into(),
        }
    }

    fn entry(&self) -> Result<keyring::Entry, KeystoreError> {
        keyring::Entry::new(&self.service, &self.user).map_err(unavailable)
    }

    /// Checks the OS keystore answers (reads the entry; a missing entry is fine).
    pub fn probe(&self) -> Result<(), KeystoreError> {
        match self.entry()?.get_password() {
            Ok(_) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// True when the entry exists.
    pub fn has_key(&self) -> Result<bool, KeystoreError> {
        match self.entry()?.get_password() {
            Ok(_) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }
}

#[cfg(not(any(target_os = "android", target_os = "ios")))]
impl OsKeystore {
    /// The stored key, if any.
    fn read_key(&self) -> Result<Option<Zeroizing<Vec<u8>>>, KeystoreError> {
        match self.entry()?.get_password() {
            Ok(hex) => {
                let hex = Zeroizing::new(hex);
                let key = Zeroizing::new(
                    data_encoding::HEXLOWER
                        .decode(hex.as_bytes())
                        .map_err(|_| unavailable("the stored device key is malformed"))?,
                );
                if key.len() != 32 {
                    return Err(unavailable("the stored device key is not 32 bytes"));
                }
                Ok(Some(key))
            }
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    fn key(&self) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
        if let Some(key) = self.read_key()? {
            return Ok(key);
        }
        let key = random_key()?;
        let hex = Zeroizing::new(data_encoding::HEXLOWER.encode(&key));
        self.entry()?.set_password(&hex).map_err(unavailable)?;
        Ok(key)
    }
}

/// The desktop keystores keep an HMAC-SHA256 key (the entry or file that held the raw
/// device key before schema 7: the same 32 random bytes serve both, so a desktop vault
/// is re-keyed without a second secret) and compute the PRF in software with ring.
#[cfg(not(any(target_os = "android", target_os = "ios")))]
impl Keystore for OsKeystore {
    fn device_key_info(&self) -> Result<DeviceKeyInfo, KeystoreError> {
        self.key()?;
        Ok(SOFTWARE_HMAC)
    }

    fn prf(&self, input: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        Ok(hmac_sha256(&self.key()?, &input))
    }

    fn delete_device_key(&self) -> Result<(), KeystoreError> {
        match self.entry()?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    fn legacy_device_key(&self) -> Result<Option<Vec<u8>>, KeystoreError> {
        Ok(self.read_key()?.map(|k| k.to_vec()))
    }

    /// The old key is the HMAC key now: nothing separate to delete.
    fn delete_legacy_device_key(&self) -> Result<(), KeystoreError> {
        Ok(())
    }
}

/// What the desktop keystores report: HMAC in software.
const SOFTWARE_HMAC: DeviceKeyInfo = DeviceKeyInfo {
    kind: DeviceKeyKind::HmacSha256,
    protection: KeyProtection::Software,
};

/// HMAC-SHA256 (ring) of `input` under `key`: the software PRF.
pub(crate) fn hmac_sha256(key: &[u8], input: &[u8]) -> Vec<u8> {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    ring::hmac::sign(&key, input).as_ref().to_vec()
}

/// Fallback for a desktop with no OS keystore: the device key in a file readable only
/// by the user (mode 0600). It protects a copied database file on its own, but not
/// against anyone who can read the user's files: see the README.
#[derive(Debug)]
pub struct FileKeystore {
    path: PathBuf,
}

impl FileKeystore {
    /// A key file at `path`.
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    /// Where the key lives.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

impl FileKeystore {
    /// `<key file name>.tmp-`: the prefix of the temporary names next to the key file.
    fn temp_prefix(&self) -> String {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("{name}.tmp-")
    }

    /// A temporary name next to the key file, unique to this process and call.
    fn temp_path(&self) -> PathBuf {
        static SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        self.path.with_file_name(format!(
            "{}{}-{n}-{nanos}",
            self.temp_prefix(),
            std::process::id()
        ))
    }

    /// The temporary files a killed run left next to the key file (each may hold a key).
    fn temp_files(&self) -> Vec<PathBuf> {
        let prefix = self.temp_prefix();
        let Some(dir) = self.path.parent() else {
            return Vec::new();
        };
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                    .map(|e| e.path())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn read_key(&self) -> Result<Option<Vec<u8>>, KeystoreError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                if bytes.len() != 32 {
                    return Err(unavailable("the device key file is not 32 bytes"));
                }
                Ok(Some(bytes.to_vec()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Creates the key file atomically: the key is written and synced under a temporary
    /// name, then linked to the real one, so a process killed at any moment leaves
    /// either no key file or a complete one (never an empty or short one), and two
    /// processes creating at once end with one key that both use.
    fn create_key(&self) -> Result<Vec<u8>, KeystoreError> {
        let key = random_key()?;
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(unavailable)?;
        }
        let tmp = self.temp_path();
        write_private_file(&tmp, &key).map_err(unavailable)?;
        let linked = match std::fs::hard_link(&tmp, &self.path) {
            // A file system without hard links: a rename (no longer exclusive).
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists && !self.path.exists() => {
                std::fs::rename(&tmp, &self.path)
            }
            other => other,
        };
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                sync_parent(&self.path);
                // Keys of runs killed before their link never protected anything.
                for stale in self.temp_files() {
                    let _ = std::fs::remove_file(stale);
                }
                Ok(key.to_vec())
            }
            // Another process created it first: use that one.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => self
                .read_key()?
                .ok_or_else(|| unavailable("the device key file vanished while it was created")),
            Err(e) => Err(unavailable(e)),
        }
    }
}

impl FileKeystore {
    fn key(&self) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
        match self.read_key()? {
            Some(key) => Ok(Zeroizing::new(key)),
            None => self.create_key().map(Zeroizing::new),
        }
    }
}

/// Like the OS keystore: the file holds the HMAC key (the former raw device key), the
/// PRF runs in software, and the protection is `software`.
impl Keystore for FileKeystore {
    fn device_key_info(&self) -> Result<DeviceKeyInfo, KeystoreError> {
        self.key()?;
        Ok(SOFTWARE_HMAC)
    }

    fn prf(&self, input: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        Ok(hmac_sha256(&self.key()?, &input))
    }

    fn legacy_device_key(&self) -> Result<Option<Vec<u8>>, KeystoreError> {
        self.read_key()
    }

    /// The old key is the HMAC key now: nothing separate to delete.
    fn delete_legacy_device_key(&self) -> Result<(), KeystoreError> {
        Ok(())
    }

    /// Moves the key file away from its name first (one atomic rename), so a kill in
    /// the middle never leaves a half-erased key under it, then overwrites and unlinks
    /// it and every temporary copy a killed run left behind.
    fn delete_device_key(&self) -> Result<(), KeystoreError> {
        let doomed = self.temp_path();
        match std::fs::rename(&self.path, &doomed) {
            Ok(()) => sync_parent(&self.path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(unavailable(e)),
        }
        for file in self.temp_files() {
            if let Ok(meta) = std::fs::metadata(&file) {
                // Overwrite before unlinking (best effort on journaling file systems).
                let zeros = vec![0u8; usize::try_from(meta.len()).unwrap_or(32)];
                let _ = std::fs::write(&file, zeros);
            }
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(unavailable(e)),
            }
        }
        Ok(())
    }
}

/// Makes a rename or link in the key file's directory durable (best effort).
fn sync_parent(path: &std::path::Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(unix)]
fn write_private_file(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private_file(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// On Linux the default clock is CLOCK_BOOTTIME, the clock behind /proc/uptime
    /// (which counts suspend), not CLOCK_MONOTONIC.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_default_clock_counts_suspend_on_linux() {
        let uptime_ms = |s: String| -> u64 {
            let secs: f64 = s.split_whitespace().next().unwrap().parse().unwrap();
            (secs * 1000.0) as u64
        };
        let before = uptime_ms(std::fs::read_to_string("/proc/uptime").unwrap());
        let ours = SystemClock::new().monotonic_millis();
        let after = uptime_ms(std::fs::read_to_string("/proc/uptime").unwrap());
        // /proc/uptime has a resolution of 10 ms.
        assert!(
            ours + 20 >= before && ours <= after + 20,
            "{before} <= {ours} <= {after}"
        );
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: a valid timespec to write into.
        assert_eq!(
            unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) },
            0
        );
        let boottime = ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000;
        assert!(boottime.abs_diff(ours) < 50);
    }

    #[test]
    fn a_device_key_file_left_by_a_killed_run_never_blocks_or_weakens_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.devicekey");
        let ks = FileKeystore::new(path.clone());
        // A run killed after writing its temporary file, before linking it.
        let stale = dir.path().join("v.devicekey.tmp-1-0-0");
        std::fs::write(&stale, [7u8; 32]).unwrap();
        let key = ks.key().unwrap().to_vec();
        assert_eq!(key.len(), 32);
        assert_ne!(key, vec![7u8; 32]);
        assert!(!stale.exists(), "the stale temporary key is removed");
        assert_eq!(ks.key().unwrap().to_vec(), key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A copy left by a run killed between its link and its unlink goes with the
        // key on delete.
        let copy = dir.path().join("v.devicekey.tmp-2-0-0");
        std::fs::hard_link(&path, &copy).unwrap();
        ks.delete_device_key().unwrap();
        assert!(!path.exists() && !copy.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        assert_ne!(ks.key().unwrap().to_vec(), key);
    }

    #[test]
    fn the_file_keystore_computes_hmac_of_its_key_and_reports_software() {
        let dir = tempfile::tempdir().unwrap();
        let ks = FileKeystore::new(dir.path().join("v.devicekey"));
        assert_eq!(ks.legacy_device_key().unwrap(), None, "never creates a key");
        let info = ks.device_key_info().unwrap();
        assert_eq!(info.kind, DeviceKeyKind::HmacSha256);
        assert_eq!(info.protection, KeyProtection::Software);
        let key = std::fs::read(dir.path().join("v.devicekey")).unwrap();
        let out = ks.prf(b"abc".to_vec()).unwrap();
        assert_eq!(out.len(), 32);
        assert_eq!(out, hmac_sha256(&key, b"abc"));
        assert_ne!(out, ks.prf(b"abd".to_vec()).unwrap());
        // RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?").
        assert_eq!(
            data_encoding::HEXLOWER.encode(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // The old raw key is the same secret; deleting it separately is a no-op.
        assert_eq!(ks.legacy_device_key().unwrap(), Some(key));
        ks.delete_legacy_device_key().unwrap();
        assert!(dir.path().join("v.devicekey").exists());
    }

    #[test]
    fn concurrent_creators_of_a_device_key_file_agree_on_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.devicekey");
        let keys: Vec<Vec<u8>> = (0..8)
            .map(|_| {
                let ks = FileKeystore::new(path.clone());
                std::thread::spawn(move || ks.key().map(|k| k.to_vec()))
            })
            .collect::<Vec<_>>()
            .into_iter()
            .filter_map(|h| h.join().unwrap().ok())
            .collect();
        assert!(!keys.is_empty());
        let on_disk = std::fs::read(&path).unwrap();
        assert!(keys.iter().all(|k| *k == on_disk));
    }

    #[test]
    fn the_default_clock_never_goes_backwards() {
        let c = SystemClock::new();
        let mut last = c.monotonic_millis();
        for _ in 0..1000 {
            let now = c.monotonic_millis();
            assert!(now >= last);
            last = now;
        }
    }
}
