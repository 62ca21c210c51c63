//! authenticator-core: everything security-relevant for a mobile authenticator app
//! (enrollment, encrypted vault, PIN lock, OTP codes, privacyIDEA push), exported to
//! Kotlin and Swift through UniFFI. See ARCHITECTURE.md for the layers.

uniffi::setup_scaffolding!();

#[cfg(target_os = "android")]
mod android_tls;
mod api;
#[allow(dead_code)] // wired into the engine by the container service (next step)
mod container;
mod crypto;
mod device_key;
mod engine;
mod enroll;
mod error;
pub mod fuzz_support;
#[cfg(test)]
mod hygiene_tests;
mod links;
pub mod lock;
pub mod logging;
pub mod otp;
pub mod platform;
mod push;
mod qr_image;
mod redact;
mod transfer;
mod vault;

pub use api::*;
pub use container::service::ContainerState;
pub use engine::KdfSettings;
pub use error::{AuthenticatorError, KeystoreError};
pub use lock::{LockChange, LockPolicy, LockSetting};
pub use logging::{set_logger, LogLevel, Logger};
pub use otp::{AccountKind, Algorithm};
#[cfg(not(any(target_os = "android", target_os = "ios")))]
pub use platform::OsKeystore;
pub use platform::{
    BiometricKey, Clock, DeviceKeyInfo, DeviceKeyKind, FileKeystore, KeyProtection, Keystore,
    SystemClock,
};
pub use push::transport::{HttpResponse, HttpTransport, Transport, TransportError};
pub use push::ChallengeSource;
pub use redact::OtpCode;
pub use transfer::{ExportFormat, ImportFormat};

/// Decodes the text of the QR code in a PNG or JPEG image.
#[uniffi::export]
pub fn decode_qr_image(image: Vec<u8>) -> Result<String, AuthenticatorError> {
    api::guard(|| enroll::decode_qr_image(&image))
}

/// Entry points for the benchmarks (`benches/`): the push protocol's crypto steps,
/// which are otherwise internal. Not part of the supported API.
#[doc(hidden)]
pub mod bench_support {
    use std::collections::HashMap;

    /// Generates an RSA phone key of `bits`; returns its PKCS#8 DER.
    pub fn generate_phone_key(bits: usize) -> Vec<u8> {
        crate::push::protocol::generate_phone_key(bits)
            .map(|k| k.pkcs8.to_vec())
            .unwrap_or_default()
    }

    /// The device-key PRF as the core computes it around `keystore` (the HMAC answer or
    /// the blinded hash-to-curve ECDH, then HKDF); empty on a keystore error.
    pub fn device_prf(
        keystore: &dyn crate::Keystore,
        kind: crate::DeviceKeyKind,
        input: &[u8],
    ) -> Vec<u8> {
        crate::device_key::prf(keystore, kind, input)
            .map(|k| k.as_bytes().to_vec())
            .unwrap_or_default()
    }

    /// Signs an answer string as the phone does (PKCS#1 v1.5 SHA-256, base32).
    pub fn sign_answer(pkcs8: &[u8], message: &str) -> String {
        crate::push::protocol::sign(pkcs8, message).unwrap_or_default()
    }

    /// Parses and verifies a challenge message against a server PKCS#1 key.
    pub fn verify_challenge(server_pkcs1: &[u8], message: &HashMap<String, String>) -> bool {
        crate::push::protocol::WireChallenge::from_map(message)
            .and_then(|c| c.verify(server_pkcs1))
            .is_ok()
    }

    /// PBKDF2 iterations the calibration picks on this machine (target 250 ms).
    pub fn calibrated_pin_iterations() -> u32 {
        crate::crypto::calibrate_pbkdf2(
            crate::crypto::PBKDF2_TARGET,
            crate::crypto::PBKDF2_MIN_ITERATIONS,
        )
    }

    /// One PIN key derivation with `iterations`.
    pub fn derive_pin_key(pin: &str, iterations: u32) -> bool {
        crate::crypto::pin_key(pin, &[0u8; 16], iterations).is_ok()
    }
}
