//! Fuzzes the andOTP backup import (plain JSON, and the current and old encrypted
//! layouts; the seeds' encrypted files use the password "fuzz"), codes included. A
//! binary input's iteration count is cut to at most 63 first: a count up to the parser's
//! limit (10,000,000, a few seconds on a phone) would only make each run slow.
#![no_main]

use authenticator_core::fuzz_support::import_file;
use authenticator_core_fuzz::checked;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut data = data.to_vec();
    if std::str::from_utf8(&data).is_err() {
        if let Some(count) = data.get_mut(..4) {
            let low = count[3] & 0x3f;
            count.copy_from_slice(&[0, 0, 0, low]);
        }
    }
    let _ = checked(import_file(&data, Some("andotp"), Some("fuzz")));
});
