//! Fuzzes the decrypted plaintext of a container synchronization answer, and the
//! preview of every token link in its `add` list.
#![no_main]

use authenticator_core::fuzz_support::container_sync_plaintext;
use authenticator_core_fuzz::checked;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = checked(container_sync_plaintext(data));
});
