//! Fuzzes the answers of the container endpoints ("STATUS\nBODY"), read as each
//! operation reads them.
#![no_main]

use authenticator_core::fuzz_support::{container_answer, status_and_body};
use authenticator_core_fuzz::checked;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some((status, body)) = status_and_body(data) {
        let _ = checked(container_answer(status, body));
    }
});
