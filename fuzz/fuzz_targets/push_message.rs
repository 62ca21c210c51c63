//! Fuzzes a push message (FCM data / APNs userInfo string map, one `key=value` per
//! line of input) through the shape checks and the signature verification against the
//! fixed fuzz server key.
#![no_main]

use authenticator_core::fuzz_support::{push_message, string_map};
use authenticator_core_fuzz::{checked, SERVER_KEY};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(map) = string_map(data) {
        let _ = checked(push_message(&map, SERVER_KEY));
    }
});
