//! Fuzzes the enrollment link parser on the preview path (`otpauth://`, `pia://`,
//! `otpauth-migration://` text from a QR code or a paste), codes included.
#![no_main]

use authenticator_core::fuzz_support::{preview_link, PREVIEW_NOW};
use authenticator_core_fuzz::checked;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(link) = std::str::from_utf8(data) {
        let _ = checked(preview_link(link, PREVIEW_NOW));
    }
});
