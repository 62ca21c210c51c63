//! Fuzzes the andOTP backup import (plain JSON, and the current and old encrypted
//! layouts; the seeds' encrypted files use the password "fuzz"), codes included.
//! An input that the parser would derive a key for (its first byte is 0: any other
//! first byte makes the iteration count exceed the parser's limit of 10,000,000) has
//! its count cut to at most 63 first: a count up to that limit (seconds on a phone)
//! would only make runs slow.
#![no_main]

use authenticator_core::fuzz_support::import_file;
use authenticator_core_fuzz::checked;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut data = data.to_vec();
    if let Some([0, b1, b2, b3]) = data.get_mut(..4) {
        *b1 = 0;
        *b2 = 0;
        *b3 &= 0x3f;
    }
    let _ = checked(import_file(&data, Some("andotp"), Some("fuzz")));
});
