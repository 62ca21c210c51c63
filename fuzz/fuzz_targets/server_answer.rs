//! Fuzzes privacyIDEA's JSON answers ("STATUS\nBODY"): the common parser and the
//! verdict of an approve / decline (accepted, display code, message).
#![no_main]

use authenticator_core::fuzz_support::{answer_verdict, server_answer, status_and_body};
use authenticator_core_fuzz::checked;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some((status, body)) = status_and_body(data) {
        let _ = checked(server_answer(status, body));
        let _ = checked(answer_verdict(status, body));
    }
});
