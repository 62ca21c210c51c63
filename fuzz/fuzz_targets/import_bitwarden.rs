//! Fuzzes the import of Bitwarden's JSON export: plain, password-protected (EncString
//! and KDF parameter checks) and account-encrypted. Without a password: a file's KDF
//! may cost seconds within its caps (a fuzzer timeout, not a bug), and a mutated
//! ciphertext never passes its MAC, so the decrypted path is left to the unit tests.
#![no_main]

use authenticator_core::fuzz_support::import_file;
use authenticator_core_fuzz::checked;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = checked(import_file(data, Some("bitwarden"), None));
});
