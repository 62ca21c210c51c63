//! Fuzzes the 2FAS `.2fas` backup import (plain and encrypted; the seeds' encrypted
//! files use the password "fuzz"), codes of the accepted accounts included.
#![no_main]

use authenticator_core::fuzz_support::import_file;
use authenticator_core_fuzz::checked;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = checked(import_file(data, Some("2fas"), Some("fuzz")));
});
