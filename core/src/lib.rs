//! authenticator-core: everything security-relevant for a mobile authenticator app
//! (enrollment, encrypted vault, PIN lock, OTP codes, privacyIDEA push), exported to
//! Kotlin and Swift through UniFFI. See ARCHITECTURE.md for the layers.

uniffi::setup_scaffolding!();

mod api;
mod crypto;
mod engine;
mod enroll;
mod error;
mod links;
pub mod lock;
pub mod otp;
pub mod platform;
mod push;
mod vault;

pub use api::*;
pub use engine::KdfSettings;
pub use error::{AuthenticatorError, KeystoreError};
pub use lock::LockPolicy;
pub use otp::{AccountKind, Algorithm};
#[cfg(not(any(target_os = "android", target_os = "ios")))]
pub use platform::OsKeystore;
pub use platform::{BiometricKey, Clock, FileKeystore, Keystore, MemoryKeystore, SystemClock};
pub use push::transport::{HttpResponse, HttpTransport, Transport, TransportError};
pub use push::ChallengeSource;

/// Decodes the text of the QR code in a PNG or JPEG image.
#[uniffi::export]
pub fn decode_qr_image(image: Vec<u8>) -> Result<String, AuthenticatorError> {
    api::guard(|| enroll::decode_qr_image(&image))
}
