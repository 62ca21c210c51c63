//! Fuzzes the Google Authenticator export payload: the input is the protobuf, put into
//! an `otpauth-migration://offline?data=` link and previewed.
#![no_main]

use authenticator_core::fuzz_support::migration_payload;
use authenticator_core_fuzz::checked;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = checked(migration_payload(data));
});
