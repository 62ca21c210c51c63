//! Fuzzes QR image decoding (PNG / JPEG bytes from a camera or a file picker). Run
//! with a small -max_len (tests/run-fuzz.sh uses 4096): a decompression bomb is a few
//! hundred bytes, so small inputs still reach the allocation limits.
#![no_main]

use authenticator_core::fuzz_support::decode_qr_image;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = decode_qr_image(data);
});
