//! Cryptographic primitives of the key hierarchy (ring): random bytes, AES-256-GCM
//! sealing with associated data, PBKDF2 for the PIN, HKDF for key derivation, and the
//! zeroizing key type every key lives in.

use crate::error::{Error, Result};
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use ring::{hkdf, pbkdf2};
use std::num::NonZeroU32;
use std::time::{Duration, Instant};
use zeroize::{Zeroize, Zeroizing};

/// A 256-bit symmetric key. Zeroized on drop; `Debug` never shows it.
#[derive(Clone)]
pub struct Key256(Zeroizing<[u8; 32]>);

impl Key256 {
    /// A fresh random key.
    pub fn random() -> Result<Self> {
        let mut k = Zeroizing::new([0u8; 32]);
        fill_random(k.as_mut())?;
        Ok(Self(k))
    }

    /// Takes a key from bytes that must be exactly 32 long; the input is zeroized.
    pub fn from_vec(mut bytes: Vec<u8>) -> Result<Self> {
        if bytes.len() != 32 {
            bytes.zeroize();
            return Err(Error::Keystore("key must be 32 bytes".into()));
        }
        let mut k = Zeroizing::new([0u8; 32]);
        k.copy_from_slice(&bytes);
        bytes.zeroize();
        Ok(Self(k))
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

#[cfg(test)]
impl Key256 {
    /// The zeroizing container, for the hygiene tests.
    pub(crate) fn inner_for_tests(&self) -> &Zeroizing<[u8; 32]> {
        &self.0
    }
}

impl std::fmt::Debug for Key256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key256(<redacted>)")
    }
}

fn rng() -> &'static SystemRandom {
    static RNG: std::sync::OnceLock<SystemRandom> = std::sync::OnceLock::new();
    RNG.get_or_init(SystemRandom::new)
}

/// Fills `buf` from the OS CSPRNG.
pub fn fill_random(buf: &mut [u8]) -> Result<()> {
    rng()
        .fill(buf)
        .map_err(|_| Error::Internal("system random generator failed".into()))
}

/// `n` random bytes.
pub fn random_vec(n: usize) -> Result<Vec<u8>> {
    let mut v = vec![0u8; n];
    fill_random(&mut v)?;
    Ok(v)
}

/// Encrypts `plaintext` with AES-256-GCM under `key`, binding `aad`.
/// Output: 12-byte random nonce || ciphertext || 16-byte tag.
pub fn seal(key: &Key256, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    let less_safe = aead_key(key)?;
    let mut nonce_bytes = [0u8; NONCE_LEN];
    fill_random(&mut nonce_bytes)?;
    let mut buf = Vec::with_capacity(NONCE_LEN + plaintext.len() + AES_256_GCM.tag_len());
    buf.extend_from_slice(&nonce_bytes);
    let mut body = plaintext.to_vec();
    less_safe
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce_bytes),
            Aad::from(aad),
            &mut body,
        )
        .map_err(|_| Error::Internal("encryption failed".into()))?;
    buf.extend_from_slice(&body);
    body.zeroize();
    Ok(buf)
}

/// Decrypts what [`seal`] produced. Fails with [`Error::Decrypt`] on a wrong key,
/// a wrong `aad` or any modification (the GCM tag check is constant-time).
pub fn open(key: &Key256, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    if sealed.len() < NONCE_LEN + AES_256_GCM.tag_len() {
        return Err(Error::Decrypt);
    }
    open_with(&aead_key(key)?, aad, sealed)
}

/// One AES-256-GCM key set up once (key schedule and GHASH table) to open many values
/// sealed under it, each with its own AAD: what [`open`] does, without the setup per
/// value. Lives only as long as the caller's loop.
pub struct Opener(LessSafeKey);

impl Opener {
    /// Sets up `key`.
    pub fn new(key: &Key256) -> Result<Self> {
        Ok(Self(aead_key(key)?))
    }

    /// Decrypts like [`open`].
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        open_with(&self.0, aad, sealed)
    }
}

fn open_with(less_safe: &LessSafeKey, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    if sealed.len() < NONCE_LEN + AES_256_GCM.tag_len() {
        return Err(Error::Decrypt);
    }
    let (nonce_bytes, body) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce_bytes).map_err(|_| Error::Decrypt)?;
    let mut buf = Zeroizing::new(body.to_vec());
    let plain_len = less_safe
        .open_in_place(nonce, Aad::from(aad), buf.as_mut_slice())
        .map_err(|_| Error::Decrypt)?
        .len();
    buf.truncate(plain_len);
    Ok(buf)
}

fn aead_key(key: &Key256) -> Result<LessSafeKey> {
    let unbound = UnboundKey::new(&AES_256_GCM, key.as_bytes())
        .map_err(|_| Error::Internal("bad AES key".into()))?;
    Ok(LessSafeKey::new(unbound))
}

/// Lowest PBKDF2 iteration count ever used for a PIN, whatever the calibration says.
pub const PBKDF2_MIN_ITERATIONS: u32 = 100_000;
/// Calibration target for one PIN derivation.
pub const PBKDF2_TARGET: Duration = Duration::from_millis(250);

/// PBKDF2-HMAC-SHA256 of the PIN: the "PIN key" half of the KEK input.
pub fn pin_key(pin: &str, salt: &[u8], iterations: u32) -> Result<Key256> {
    let iterations =
        NonZeroU32::new(iterations).ok_or_else(|| Error::Internal("zero KDF iterations".into()))?;
    let mut out = Zeroizing::new([0u8; 32]);
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        salt,
        pin.as_bytes(),
        out.as_mut(),
    );
    Ok(Key256(out))
}

/// Measures this device and returns the iteration count that takes about `target`,
/// never below `floor`.
pub fn calibrate_pbkdf2(target: Duration, floor: u32) -> u32 {
    const PROBE: u32 = 20_000;
    let salt = [0u8; 16];
    let start = Instant::now();
    let _ = pin_key("000000", &salt, PROBE);
    let elapsed = start.elapsed().as_secs_f64().max(1e-6);
    let per_iteration = elapsed / f64::from(PROBE);
    let wanted = (target.as_secs_f64() / per_iteration) as u64;
    // Round to a multiple of 10,000 so the stored figure is readable.
    let wanted = (wanted / 10_000) * 10_000;
    u32::try_from(wanted).unwrap_or(u32::MAX).max(floor)
}

struct Len32;
impl hkdf::KeyType for Len32 {
    fn len(&self) -> usize {
        32
    }
}

/// HKDF-SHA256(salt, ikm = concatenation of `parts`, info) -> 256-bit key.
pub fn hkdf_derive(salt: &[u8], parts: &[&[u8]], info: &[u8]) -> Result<Key256> {
    let mut ikm = Zeroizing::new(Vec::new());
    for p in parts {
        ikm.extend_from_slice(p);
    }
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(&ikm);
    let info = [info];
    let okm = prk
        .expand(&info, Len32)
        .map_err(|_| Error::Internal("hkdf expand".into()))?;
    let mut out = Zeroizing::new([0u8; 32]);
    okm.fill(out.as_mut())
        .map_err(|_| Error::Internal("hkdf fill".into()))?;
    Ok(Key256(out))
}

/// Schema < 7 (the raw device key): KEK = HKDF-SHA256(DK || PIN key), or of DK alone
/// when no PIN is set. Kept for the one re-key of an old vault (`device_key`).
pub fn legacy_kek(device_key: &Key256, pin_key: Option<&Key256>, salt: &[u8]) -> Result<Key256> {
    match pin_key {
        Some(pk) => hkdf_derive(
            salt,
            &[device_key.as_bytes(), pk.as_bytes()],
            b"authcore/kek/device+pin/v1",
        ),
        None => hkdf_derive(salt, &[device_key.as_bytes()], b"authcore/kek/device/v1"),
    }
}

/// Schema < 7: the key for data that must be readable while the vault is PIN-locked
/// (server public keys of push tokens), derived from the raw device key alone. Kept for
/// the one re-key of an old vault.
pub fn legacy_device_data_key(device_key: &Key256) -> Result<Key256> {
    hkdf_derive(
        b"authcore/device-data",
        &[device_key.as_bytes()],
        b"authcore/device-data/v1",
    )
}

/// Constant-time equality of two byte strings.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

// Keep the `aead` import used for the tag length constant even if ring reorganises.
#[allow(dead_code)]
const _TAG_LEN: usize = aead::MAX_TAG_LEN;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn seal_open_roundtrip_and_aad_binding() {
        let k = Key256::random().unwrap();
        let sealed = seal(&k, b"row1/secret", b"hello").unwrap();
        assert_eq!(&open(&k, b"row1/secret", &sealed).unwrap()[..], b"hello");
        assert!(matches!(
            open(&k, b"row2/secret", &sealed),
            Err(Error::Decrypt)
        ));
        let other = Key256::random().unwrap();
        assert!(matches!(
            open(&other, b"row1/secret", &sealed),
            Err(Error::Decrypt)
        ));
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(matches!(
            open(&k, b"row1/secret", &tampered),
            Err(Error::Decrypt)
        ));
        // The set-up key opens the same values and refuses the same tampering.
        let opener = Opener::new(&k).unwrap();
        assert_eq!(&opener.open(b"row1/secret", &sealed).unwrap()[..], b"hello");
        assert!(matches!(
            opener.open(b"row2/secret", &sealed),
            Err(Error::Decrypt)
        ));
        assert!(matches!(
            opener.open(b"row1/secret", &tampered),
            Err(Error::Decrypt)
        ));
        assert!(matches!(
            opener.open(b"row1/secret", &sealed[..20]),
            Err(Error::Decrypt)
        ));
    }

    #[test]
    fn kek_depends_on_pin_and_device_key() {
        let dk = Key256::random().unwrap();
        let salt = [7u8; 16];
        let a = pin_key("1234", &salt, 1000).unwrap();
        let b = pin_key("1235", &salt, 1000).unwrap();
        let ka = legacy_kek(&dk, Some(&a), &salt).unwrap();
        let kb = legacy_kek(&dk, Some(&b), &salt).unwrap();
        let kn = legacy_kek(&dk, None, &salt).unwrap();
        assert_ne!(ka.as_bytes(), kb.as_bytes());
        assert_ne!(ka.as_bytes(), kn.as_bytes());
        let dk2 = Key256::random().unwrap();
        assert_ne!(
            ka.as_bytes(),
            legacy_kek(&dk2, Some(&a), &salt).unwrap().as_bytes()
        );
    }

    #[test]
    fn debug_redacts_keys() {
        let k = Key256::random().unwrap();
        assert_eq!(format!("{k:?}"), "Key256(<redacted>)");
    }

    #[test]
    fn calibration_respects_floor() {
        assert!(calibrate_pbkdf2(Duration::from_millis(1), 50_000) >= 50_000);
    }
}
