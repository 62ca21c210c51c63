//! Fuzzes a whole poll answer ("STATUS\nBODY") as `Engine::ingest_poll` reads it, every
//! entry verified against the fixed fuzz server key.
#![no_main]

use authenticator_core::fuzz_support::{poll_list, status_and_body};
use authenticator_core_fuzz::{checked, SERVER_KEY};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some((status, body)) = status_and_body(data) {
        let _ = checked(poll_list(status, body, SERVER_KEY));
    }
});
