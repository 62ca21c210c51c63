//! Fuzzes one poll-list entry (a JSON object) through `WireChallenge::from_json` and the
//! signature verification against the fixed fuzz server key.
#![no_main]

use authenticator_core::fuzz_support::poll_entry;
use authenticator_core_fuzz::{checked, SERVER_KEY};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(json) = std::str::from_utf8(data) {
        let _ = checked(poll_entry(json, SERVER_KEY));
    }
});
