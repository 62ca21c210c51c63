//! Fuzzes QR image decoding (PNG / JPEG bytes from a camera or a file picker), and the
//! preview of whatever text it finds, as `preview_qr_image` does. Run with a small
//! -max_len (tests/run-fuzz.sh uses 4096): a decompression bomb is a few hundred bytes.
#![no_main]

use authenticator_core::fuzz_support::{decode_qr_image, preview_link, PREVIEW_NOW};
use authenticator_core_fuzz::checked;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = checked(decode_qr_image(data)) {
        let _ = checked(preview_link(&text, PREVIEW_NOW));
    }
});
