//! What the fuzz targets share: the fixed server key that the push seeds are signed
//! with (a throwaway test key, keys/README.md), so that signature checks are reached.

/// PKCS#1 DER of the fuzz server key's public half.
pub const SERVER_KEY: &[u8] = include_bytes!("../keys/server-test-key.pkcs1.der");
