//! The device-key PRF (issue 12): the keys the vault needs (KEK with or without a PIN,
//! device-data key) derived from calls to the platform `Keystore`, which computes a
//! keyed function and never hands out its key. For an HMAC keystore the core finishes
//! the PRF with HKDF; for a Secure Enclave one (P-256 ECDH only) it hashes the input to
//! the curve (RFC 9380), blinds the point, unblinds the shell's answer and finishes
//! with HKDF over the input and the result (the 2HashDH construction). Also the old
//! (schema < 7) derivations from the raw device key, for the one re-key.

use crate::crypto::{self, Key256};
use crate::error::{Error, KeystoreError, Result};
use crate::platform::{DeviceKeyKind, Keystore};
use p256::elliptic_curve::hash2curve::{ExpandMsgXmd, GroupDigest};
use p256::elliptic_curve::point::AffineCoordinates;
use p256::elliptic_curve::sec1::{FromEncodedPoint, ToEncodedPoint};
use p256::elliptic_curve::Field;
use p256::{AffinePoint, EncodedPoint, NistP256, ProjectivePoint, Scalar};
use zeroize::{Zeroize, Zeroizing};

/// RFC 9380 domain separation tag of the hash to P-256.
pub const HASH_TO_CURVE_DST: &[u8] = b"authcore-prf-v1_P256_XMD:SHA-256_SSWU_RO_";
/// PRF input prefix of a PIN check: followed by PBKDF2(PIN, salt).
pub const PRF_PIN: &[u8] = b"authcore/prf/pin/v1:";
/// PRF input of the KEK of a vault without a PIN.
pub const PRF_NO_PIN: &[u8] = b"authcore/prf/no-pin/v1";
/// PRF input of the device-data key.
pub const PRF_DEVICE_DATA: &[u8] = b"authcore/prf/device-data/v1";

/// Maps a device keystore failure: a fault of the device key is a keystore problem,
/// never "biometrics changed" (that error would drop a biometric wrap).
pub fn keystore_error(e: KeystoreError) -> Error {
    match e {
        KeystoreError::KeyInvalidated { .. } => {
            Error::Keystore("the platform keystore invalidated the device key".into())
        }
        other => Error::from(other),
    }
}

/// PRF(input) with the device key: 32 bytes that only the keystore can compute.
pub fn prf(ks: &dyn Keystore, kind: DeviceKeyKind, input: &[u8]) -> Result<Key256> {
    let raw = match kind {
        DeviceKeyKind::HmacSha256 => {
            Zeroizing::new(ks.prf(input.to_vec()).map_err(keystore_error)?)
        }
        DeviceKeyKind::P256Ecdh => ecdh_blinded(ks, input)?,
    };
    if raw.len() != 32 {
        return Err(Error::Keystore(
            "the keystore's answer is not 32 bytes".into(),
        ));
    }
    let label: &[u8] = match kind {
        DeviceKeyKind::HmacSha256 => b"authcore/prf/hmac-sha256/v1",
        DeviceKeyKind::P256Ecdh => b"authcore/prf/p256-ecdh/v1",
    };
    // HKDF(salt = label, ikm = the keystore's answer, info = the input): for ECDH the
    // hash over the input and k*H(input) that makes it a PRF (2HashDH).
    crypto::hkdf_derive(label, &[&raw], input)
}

/// k*H(input)'s x-coordinate, where the keystore sees only r*H(input) for a fresh
/// random r: the point it is given is uniformly random and independent of the input,
/// so nothing passed through the trait tells which PIN was typed.
fn ecdh_blinded(ks: &dyn Keystore, input: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let mut h =
        NistP256::hash_from_bytes::<ExpandMsgXmd<sha2::Sha256>>(&[input], &[HASH_TO_CURVE_DST])
            .map_err(|_| Error::Internal("hash to curve failed".into()))?;
    let mut r = loop {
        let r = Scalar::random(&mut rand::rngs::OsRng);
        if !bool::from(r.is_zero()) {
            break r;
        }
    };
    let mut r_inv = Option::<Scalar>::from(r.invert())
        .ok_or_else(|| Error::Internal("zero blinding scalar".into()))?;
    let blinded = (h * r).to_affine();
    // H(input) is a PIN verifier, and so is r with the point sent: wipe them now.
    h.zeroize();
    r.zeroize();
    let result = ask_and_unblind(ks, &blinded, &r_inv);
    r_inv.zeroize();
    result
}

/// Sends the blinded point and turns the keystore's x-coordinate into x(k*H(input)).
fn ask_and_unblind(
    ks: &dyn Keystore,
    blinded: &AffinePoint,
    r_inv: &Scalar,
) -> Result<Zeroizing<Vec<u8>>> {
    let sec1 = blinded.to_encoded_point(false).as_bytes().to_vec();
    let x = Zeroizing::new(ks.prf(sec1).map_err(keystore_error)?);
    if x.len() != 32 {
        return Err(Error::Keystore(
            "the keystore's ECDH answer is not 32 bytes".into(),
        ));
    }
    // The shared secret is an x-coordinate: take either point with it (+-P); r^-1
    // times it is +-k*H(input), and both have the same x.
    let mut compressed = Zeroizing::new([0u8; 33]);
    compressed[0] = 0x02;
    compressed[1..].copy_from_slice(&x);
    let encoded = EncodedPoint::from_bytes(compressed.as_slice())
        .map_err(|_| Error::Keystore("the keystore's ECDH answer is malformed".into()))?;
    let shared = Option::<AffinePoint>::from(AffinePoint::from_encoded_point(&encoded))
        .ok_or_else(|| Error::Keystore("the keystore's ECDH answer is not on the curve".into()))?;
    let unblinded = (ProjectivePoint::from(shared) * r_inv).to_affine();
    Ok(Zeroizing::new(unblinded.x().to_vec()))
}

/// The KEK of a PIN: HKDF over PRF(prefix || PBKDF2(PIN, salt)).
pub fn kek_with_pin(
    ks: &dyn Keystore,
    kind: DeviceKeyKind,
    pin_key: &Key256,
    kek_salt: &[u8],
) -> Result<Key256> {
    let mut input = Zeroizing::new(Vec::with_capacity(PRF_PIN.len() + 32));
    input.extend_from_slice(PRF_PIN);
    input.extend_from_slice(pin_key.as_bytes());
    let out = prf(ks, kind, &input)?;
    crypto::hkdf_derive(kek_salt, &[out.as_bytes()], b"authcore/kek/prf+pin/v2")
}

/// The KEK of a vault without a PIN: HKDF over PRF(constant).
pub fn kek_without_pin(ks: &dyn Keystore, kind: DeviceKeyKind, kek_salt: &[u8]) -> Result<Key256> {
    let out = prf(ks, kind, PRF_NO_PIN)?;
    crypto::hkdf_derive(kek_salt, &[out.as_bytes()], b"authcore/kek/prf/v2")
}

/// The device-data key (verifies pushes while locked): HKDF over PRF(constant).
pub fn device_data_key(ks: &dyn Keystore, kind: DeviceKeyKind) -> Result<Key256> {
    let out = prf(ks, kind, PRF_DEVICE_DATA)?;
    crypto::hkdf_derive(
        b"authcore/device-data",
        &[out.as_bytes()],
        b"authcore/device-data/v2",
    )
}

/// The old (schema < 7) raw device key, for the one re-key.
pub fn legacy_key(ks: &dyn Keystore) -> Result<Key256> {
    let raw = ks
        .legacy_device_key()
        .map_err(keystore_error)?
        .ok_or_else(|| {
            Error::Keystore("the device key of this vault (old format) is missing".into())
        })?;
    Key256::from_vec(raw)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::platform::DeviceKeyInfo;
    use std::sync::Mutex;

    /// A software P-256 key-agreement keystore (what the iOS shell does in the Secure
    /// Enclave), recording the points it is given.
    struct Ecdh {
        k: Scalar,
        seen: Mutex<Vec<Vec<u8>>>,
    }

    impl Keystore for Ecdh {
        fn device_key_info(&self) -> std::result::Result<DeviceKeyInfo, KeystoreError> {
            unreachable!()
        }
        fn prf(&self, input: Vec<u8>) -> std::result::Result<Vec<u8>, KeystoreError> {
            self.seen.lock().unwrap().push(input.clone());
            let p = EncodedPoint::from_bytes(&input).unwrap();
            let p = Option::<AffinePoint>::from(AffinePoint::from_encoded_point(&p)).unwrap();
            Ok((ProjectivePoint::from(p) * self.k).to_affine().x().to_vec())
        }
        fn delete_device_key(&self) -> std::result::Result<(), KeystoreError> {
            Ok(())
        }
        fn legacy_device_key(&self) -> std::result::Result<Option<Vec<u8>>, KeystoreError> {
            Ok(None)
        }
        fn delete_legacy_device_key(&self) -> std::result::Result<(), KeystoreError> {
            Ok(())
        }
    }

    #[test]
    fn the_blinded_ecdh_prf_is_deterministic_keyed_and_hides_its_input() {
        let ks = Ecdh {
            k: Scalar::random(&mut rand::rngs::OsRng),
            seen: Mutex::new(Vec::new()),
        };
        let a1 = prf(&ks, DeviceKeyKind::P256Ecdh, b"input a").unwrap();
        let a2 = prf(&ks, DeviceKeyKind::P256Ecdh, b"input a").unwrap();
        let b = prf(&ks, DeviceKeyKind::P256Ecdh, b"input b").unwrap();
        assert_eq!(a1.as_bytes(), a2.as_bytes(), "unblinding gives one value");
        assert_ne!(a1.as_bytes(), b.as_bytes());
        let seen = ks.seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 3);
        assert!(seen.iter().all(|p| p.len() == 65 && p[0] == 0x04));
        assert_ne!(seen[0], seen[1], "the same input is sent as a fresh point");
        // The unblinded value is k*H(input): compute it directly.
        let h = NistP256::hash_from_bytes::<ExpandMsgXmd<sha2::Sha256>>(
            &[b"input a"],
            &[HASH_TO_CURVE_DST],
        )
        .unwrap();
        let direct = (h * ks.k).to_affine().x().to_vec();
        let expected =
            crypto::hkdf_derive(b"authcore/prf/p256-ecdh/v1", &[&direct], b"input a").unwrap();
        assert_eq!(a1.as_bytes(), expected.as_bytes());
        assert!(!seen.iter().any(|p| p[1..33] == h.to_affine().x()[..]));
        // Another key, another PRF.
        let other = Ecdh {
            k: Scalar::random(&mut rand::rngs::OsRng),
            seen: Mutex::new(Vec::new()),
        };
        let c = prf(&other, DeviceKeyKind::P256Ecdh, b"input a").unwrap();
        assert_ne!(a1.as_bytes(), c.as_bytes());
    }

    /// RFC 9380 appendix J.1.1, P256_XMD:SHA-256_SSWU_RO_, msg "abc": the crate's
    /// hash-to-curve is the standard one.
    #[test]
    fn hash_to_curve_matches_rfc_9380() {
        let p = NistP256::hash_from_bytes::<ExpandMsgXmd<sha2::Sha256>>(
            &[b"abc"],
            &[b"QUUX-V01-CS02-with-P256_XMD:SHA-256_SSWU_RO_"],
        )
        .unwrap()
        .to_affine();
        assert_eq!(
            data_encoding::HEXLOWER.encode(&p.x()),
            "0bb8b87485551aa43ed54f009230450b492fead5f1cc91658775dac4a3388a0f"
        );
    }
}
