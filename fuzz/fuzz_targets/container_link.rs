//! Fuzzes the `pia://container/...` registration and transfer links (`container::protocol`).
#![no_main]

use authenticator_core::fuzz_support::container_link;
use authenticator_core_fuzz::checked;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = checked(container_link(text));
    }
});
