//! Fuzzes the answer to enrollment step 2 ("STATUS\nBODY") and the server key it carries:
//! the body also goes to `decode_server_key` as is, and any key that decodes is used to
//! verify a signature, as every later challenge would.
#![no_main]

use authenticator_core::fuzz_support::{
    decode_server_key, enrollment_answer, status_and_body, verify_signature,
};
use authenticator_core_fuzz::checked;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some((status, body)) = status_and_body(data) {
        for key in [
            checked(enrollment_answer(status, body)),
            checked(decode_server_key(body)),
        ]
        .into_iter()
        .flatten()
        {
            let _ = verify_signature(&key, "NONCE|url|SERIAL|question|title|1", "AAAAAAAA");
        }
    }
});
