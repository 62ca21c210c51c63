//! Fuzzes the FreeOTP+ JSON export import (signed-byte secrets), codes included.
#![no_main]

use authenticator_core::fuzz_support::import_file;
use authenticator_core_fuzz::checked;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = checked(import_file(data, Some("freeotp-plus"), None));
});
