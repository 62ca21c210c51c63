//! Criterion benchmarks for the code path: a screen of codes for 1,000 accounts against
//! the bare HMAC cost, opening a vault of 1,000 accounts, and the PIN KDF.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use authenticator_core::{
    Authenticator, DeviceKeyInfo, DeviceKeyKind, KdfSettings, KeyProtection, Keystore,
    KeystoreError, OpenOptions,
};
use criterion::{criterion_group, criterion_main, Criterion};
use ring::hmac;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

const N: usize = 1000;

/// A fixed HMAC key for the benchmark's vault, the PRF computed in software (benchmarks only).
struct BenchKeystore;

impl Keystore for BenchKeystore {
    fn device_key_info(&self) -> Result<DeviceKeyInfo, KeystoreError> {
        Ok(DeviceKeyInfo {
            kind: DeviceKeyKind::HmacSha256,
            protection: KeyProtection::Software,
        })
    }
    fn prf(&self, input: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &[0x42; 32]);
        Ok(hmac::sign(&key, &input).as_ref().to_vec())
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
const T: i64 = 1_700_000_000;

fn secret(i: usize) -> Vec<u8> {
    (0..20).map(|j| (i * 31 + j * 7) as u8).collect()
}

fn base32(bytes: &[u8]) -> String {
    const A: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut out, mut buf, mut bits) = (String::new(), 0u32, 0);
    for &b in bytes {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            out.push(A[((buf >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(A[((buf << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn vault_with_accounts(dir: &std::path::Path, ks: Arc<BenchKeystore>) -> std::path::PathBuf {
    let path = dir.join("bench.sqlite3");
    let a = Authenticator::open_with(&path, ks, options()).expect("open");
    for i in 0..N {
        a.add(format!(
            "otpauth://totp/Bench:user{i}?secret={}&issuer=Bench",
            base32(&secret(i))
        ))
        .expect("add");
    }
    path
}

fn options() -> OpenOptions {
    OpenOptions {
        kdf: KdfSettings {
            target: Duration::from_millis(1),
            floor: 1000,
        },
        ..OpenOptions::default()
    }
}

/// The floor: one HMAC-SHA1 per account plus RFC 4226 truncation and formatting, with
/// ring, no storage and no objects.
fn bare_hmac_codes(keys: &[hmac::Key]) -> usize {
    let counter = (T as u64 / 30).to_be_bytes();
    let mut total = 0;
    for k in keys {
        let tag = hmac::sign(k, &counter);
        let mac = tag.as_ref();
        let off = usize::from(mac[19] & 0x0f);
        let v =
            u32::from_be_bytes([mac[off], mac[off + 1], mac[off + 2], mac[off + 3]]) & 0x7fff_ffff;
        total += format!("{:06}", v % 1_000_000).len();
    }
    total
}

fn codes(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = Arc::new(BenchKeystore);
    let path = vault_with_accounts(dir.path(), ks.clone());
    let a = Authenticator::open_with(&path, ks.clone(), options()).expect("open");
    a.time_codes_at(T).expect("warm");
    let keys: Vec<hmac::Key> = (0..N)
        .map(|i| hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &secret(i)))
        .collect();

    let mut g = c.benchmark_group("codes_1000_accounts");
    g.bench_function("bare_hmac_sha1_1000", |b| {
        b.iter(|| black_box(bare_hmac_codes(&keys)))
    });
    g.bench_function("time_codes_at_1000", |b| {
        b.iter(|| black_box(a.time_codes_at(black_box(T)).expect("codes").len()))
    });
    g.finish();

    let mut g = c.benchmark_group("vault");
    g.bench_function("open_vault_1000_accounts", |b| {
        b.iter(|| black_box(Authenticator::open_with(&path, ks.clone(), options()).expect("open")))
    });
    g.bench_function("open_vault_1000_accounts_and_first_screen_of_codes", |b| {
        b.iter(|| {
            let a = Authenticator::open_with(&path, ks.clone(), options()).expect("open");
            black_box(a.time_codes_at(T).expect("codes").len())
        })
    });
    g.finish();

    let iterations = authenticator_core::bench_support::calibrated_pin_iterations();
    println!(
        "PIN KDF: calibration picked {iterations} PBKDF2-HMAC-SHA256 iterations (target 250 ms)"
    );
    let mut g = c.benchmark_group("pin");
    g.sample_size(10);
    g.bench_function(format!("pbkdf2_{iterations}_iterations"), |b| {
        b.iter(|| {
            black_box(authenticator_core::bench_support::derive_pin_key(
                "123456", iterations,
            ))
        })
    });
    g.finish();
}

criterion_group!(benches, codes);
criterion_main!(benches);
