//! Fuzzes the import of Bitwarden's CSV export (quoting, columns found by name, the
//! totp field's otpauth / steam / base32 forms).
#![no_main]

use authenticator_core::fuzz_support::import_file;
use authenticator_core_fuzz::checked;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = checked(import_file(data, Some("bitwarden-csv"), None));
});
