//! Fuzzes the answer to a push token update ("STATUS\nBODY"), `push::token_update_verdict`.
#![no_main]

use authenticator_core::fuzz_support::{status_and_body, token_update_verdict};
use authenticator_core_fuzz::checked;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some((status, body)) = status_and_body(data) {
        let _ = checked(token_update_verdict(status, body));
    }
});
