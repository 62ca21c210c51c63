//! What the fuzz targets share: the fixed server key that the push seeds are signed
//! with (a throwaway test key, keys/README.md), so that signature checks are reached,
//! and the rule that an `Internal` error is a bug like a panic.

use authenticator_core::AuthenticatorError;

/// PKCS#1 DER of the fuzz server key's public half.
pub const SERVER_KEY: &[u8] = include_bytes!("../keys/server-test-key.pkcs1.der");

/// Passes a result on, panicking on an `Internal` error: bad input must get a typed
/// error that says what is wrong with it, never "internal".
pub fn checked<T>(r: Result<T, AuthenticatorError>) -> Result<T, AuthenticatorError> {
    if let Err(AuthenticatorError::Internal { reason }) = &r {
        panic!("internal error on fuzz input: {reason}");
    }
    r
}
