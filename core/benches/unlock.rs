//! Criterion benchmarks of a PIN unlock with the device-key PRF computed in software
//! (issue 12): what the desktop keystores do (HMAC-SHA256), and the Secure Enclave
//! shape (P-256 ECDH on a blinded hash-to-curve point) with a software key, each at the
//! PBKDF2 floor (100,000 iterations), next to PBKDF2 alone and the PRF alone, so the
//! PRF's own share of an unlock shows.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use authenticator_core::{
    bench_support, Authenticator, DeviceKeyInfo, DeviceKeyKind, KdfSettings, KeyProtection,
    Keystore, KeystoreError, OpenOptions,
};
use criterion::{criterion_group, criterion_main, Criterion};
use p256::elliptic_curve::point::AffineCoordinates;
use p256::elliptic_curve::sec1::FromEncodedPoint;
use ring::hmac;
use std::sync::Arc;
use std::time::Duration;

/// The software PRF keystores of the benchmark (benchmarks only).
enum BenchKeystore {
    Hmac(hmac::Key),
    Ecdh(p256::Scalar),
}

impl Keystore for BenchKeystore {
    fn device_key_info(&self) -> Result<DeviceKeyInfo, KeystoreError> {
        Ok(DeviceKeyInfo {
            kind: match self {
                Self::Hmac(_) => DeviceKeyKind::HmacSha256,
                Self::Ecdh(_) => DeviceKeyKind::P256Ecdh,
            },
            protection: KeyProtection::Software,
        })
    }
    fn prf(&self, input: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        match self {
            Self::Hmac(k) => Ok(hmac::sign(k, &input).as_ref().to_vec()),
            Self::Ecdh(k) => {
                let p = p256::EncodedPoint::from_bytes(&input).unwrap();
                let p = p256::AffinePoint::from_encoded_point(&p).unwrap();
                Ok((p256::ProjectivePoint::from(p) * k)
                    .to_affine()
                    .x()
                    .to_vec())
            }
        }
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

const PIN: &str = "482915";

fn vault(dir: &std::path::Path, ks: Arc<BenchKeystore>) -> Arc<Authenticator> {
    let opts = OpenOptions {
        // The floor: 100,000 iterations, whatever this machine's speed.
        kdf: KdfSettings {
            target: Duration::from_millis(1),
            floor: 100_000,
        },
        ..OpenOptions::default()
    };
    let a = Authenticator::open_with(dir.join("v.sqlite3"), ks, opts).unwrap();
    a.add("otpauth://totp/ACME:alice?secret=JBSWY3DPEHPK3PXP&issuer=ACME".into())
        .unwrap();
    a.set_pin(PIN.into()).unwrap();
    a
}

fn bench_unlock(c: &mut Criterion) {
    let mut g = c.benchmark_group("unlock");
    g.sample_size(20);
    let keystores = [
        (
            "unlock, software HMAC-SHA256 PRF, PBKDF2 100,000",
            BenchKeystore::Hmac(hmac::Key::new(hmac::HMAC_SHA256, &[0x42; 32])),
        ),
        (
            "unlock, software P-256 ECDH PRF (blinded), PBKDF2 100,000",
            BenchKeystore::Ecdh(p256::Scalar::from(0x1234_5678_u64)),
        ),
    ];
    for (name, ks) in keystores {
        let dir = tempfile::tempdir().unwrap();
        let a = vault(dir.path(), Arc::new(ks));
        g.bench_function(name, |b| {
            b.iter(|| {
                a.lock().unwrap();
                a.unlock(PIN.into()).unwrap();
            })
        });
    }
    let hmac_ks = BenchKeystore::Hmac(hmac::Key::new(hmac::HMAC_SHA256, &[0x42; 32]));
    let ecdh_ks = BenchKeystore::Ecdh(p256::Scalar::from(0x1234_5678_u64));
    let input = [7u8; 52];
    g.bench_function("the PRF alone, software HMAC-SHA256", |b| {
        b.iter(|| bench_support::device_prf(&hmac_ks, DeviceKeyKind::HmacSha256, &input))
    });
    g.bench_function("the PRF alone, blinded P-256 ECDH, software key", |b| {
        b.iter(|| bench_support::device_prf(&ecdh_ks, DeviceKeyKind::P256Ecdh, &input))
    });
    g.bench_function("PBKDF2-HMAC-SHA256 100,000 alone", |b| {
        b.iter(|| {
            let mut out = [0u8; 32];
            ring::pbkdf2::derive(
                ring::pbkdf2::PBKDF2_HMAC_SHA256,
                std::num::NonZeroU32::new(100_000).unwrap(),
                &[7u8; 16],
                PIN.as_bytes(),
                &mut out,
            );
            out
        })
    });
    g.finish();
}

criterion_group!(benches, bench_unlock);
criterion_main!(benches);
