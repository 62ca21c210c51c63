//! Fuzzes the Aegis vault import (plain and encrypted JSON; the seeds' encrypted files
//! use the password "fuzz" and scrypt N=16, r=1), codes included.
#![no_main]

use authenticator_core::fuzz_support::import_file;
use authenticator_core_fuzz::checked;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = checked(import_file(data, Some("aegis"), Some("fuzz")));
});
