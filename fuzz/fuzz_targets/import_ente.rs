//! Fuzzes the import of Ente Auth's exports: the encrypted JSON (field and KDF limit
//! checks; without a password, as the Argon2id key may cost seconds within its caps and
//! a mutated ciphertext never opens) and the plain link list.
#![no_main]

use authenticator_core::fuzz_support::import_file;
use authenticator_core_fuzz::checked;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = checked(import_file(data, Some("ente"), None));
});
