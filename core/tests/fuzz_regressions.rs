//! Regression tests for what the fuzz targets (`fuzz/`) found: every crasher, embedded
//! from `tests/fuzz_regressions/<target>-<what>`, goes through the same
//! `fuzz_support` entry point as its target and must give a typed error, not a panic,
//! a hang or an unbounded allocation. Also checks that the seeds in `fuzz/seeds/` still
//! reach what they were made for (valid signatures, decodable QR images).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use authenticator_core::fuzz_support::{self as fs, PREVIEW_NOW};
use authenticator_core::AuthenticatorError;
use common::Fixture;
use std::path::{Path, PathBuf};

const SERVER_KEY: &[u8] = include_bytes!("../../fuzz/keys/server-test-key.pkcs1.der");

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let p: PathBuf = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no seeds for {target}");
    out
}

fn seed(target: &str, name: &str) -> Vec<u8> {
    seeds(target)
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no seed {target}/{name}"))
        .1
}

#[test]
fn link_seeds_are_accepted_or_refused_as_named() {
    for (name, bytes) in seeds("parse_link") {
        let r = fs::preview_link(std::str::from_utf8(&bytes).unwrap(), PREVIEW_NOW);
        let refused = name.starts_with("bad_")
            || ["md5", "digits", "type", "empty_secret", "no_entries"]
                .iter()
                .any(|w| name.starts_with("migration_") && name.ends_with(w));
        match r {
            Ok(n) => assert!(!refused && n >= 1, "{name} was accepted"),
            Err(AuthenticatorError::InvalidEnrollment { .. })
            | Err(AuthenticatorError::NotSupported { .. }) => {
                assert!(refused, "{name} was refused: {r:?}")
            }
            Err(other) => panic!("{name}: untyped refusal {other:?}"),
        }
    }
    for (name, bytes) in seeds("migration_payload") {
        let r = fs::migration_payload(&bytes);
        let good = ["batch_of_three", "single_google"].contains(&name.as_str());
        assert_eq!(r.is_ok(), good, "{name}: {r:?}");
    }
}

#[test]
fn qr_seeds_decode_to_links() {
    for (name, bytes) in seeds("qr_image") {
        assert!(bytes.len() <= 4096, "{name} is over the target's -max_len");
        let text = fs::decode_qr_image(&bytes).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert!(
            fs::preview_link(&text, PREVIEW_NOW).is_ok(),
            "{name}: {text}"
        );
    }
}

#[test]
fn push_seeds_reach_the_signature_check() {
    for target in ["push_message", "poll_entry"] {
        for (name, bytes) in seeds(target) {
            let r = match target {
                "push_message" => fs::push_message(&fs::string_map(&bytes).unwrap(), SERVER_KEY),
                _ => fs::poll_entry(std::str::from_utf8(&bytes).unwrap(), SERVER_KEY),
            };
            match name.as_str() {
                "bad_signature" => {
                    assert!(
                        matches!(r, Err(AuthenticatorError::BadSignature)),
                        "{target}/{name}: {r:?}"
                    )
                }
                // Refused either by the shape check on the signed fields or by the
                // signature itself.
                "presence_removed" => {
                    assert!(
                        matches!(
                            r,
                            Err(AuthenticatorError::BadSignature)
                                | Err(AuthenticatorError::InvalidPushMessage { .. })
                        ),
                        "{target}/{name}: {r:?}"
                    )
                }
                _ => assert!(r.is_ok(), "{target}/{name}: {r:?}"),
            }
        }
    }
    let (status, body) = fs::status_and_body(&seed("poll_list", "three"))
        .map(|(s, b)| (s, b.to_string()))
        .unwrap();
    assert_eq!(fs::poll_list(status, &body, SERVER_KEY).unwrap(), 3);
}

#[test]
fn answer_seeds_parse_as_privacyidea_means_them() {
    let answer = |target: &str, name: &str| {
        let bytes = seed(target, name);
        let (status, body) = fs::status_and_body(&bytes).unwrap();
        (status, body.to_string())
    };
    let (s, b) = answer("enroll_answer", "enrolled");
    assert_eq!(fs::enrollment_answer(s, &b).unwrap(), SERVER_KEY);
    let (s, b) = answer("enroll_answer", "err905");
    assert!(matches!(
        fs::enrollment_answer(s, &b),
        Err(AuthenticatorError::InvalidEnrollment { .. })
    ));
    let key = seed("enroll_answer", "bare_key");
    assert_eq!(
        fs::decode_server_key(std::str::from_utf8(&key).unwrap()).unwrap(),
        SERVER_KEY
    );
    let (s, b) = answer("server_answer", "code_to_phone");
    assert!(fs::answer_verdict(s, &b).unwrap());
    let (s, b) = answer("server_answer", "refused");
    assert!(!fs::answer_verdict(s, &b).unwrap());
    let (s, b) = answer("token_update", "accepted");
    fs::token_update_verdict(s, &b).unwrap();
    let (s, b) = answer("token_update", "html_502");
    assert!(matches!(
        fs::token_update_verdict(s, &b),
        Err(AuthenticatorError::Server { status: 502, .. })
    ));
}

/// Found while writing the `parse_link` target (by reading what an accepted policy
/// turns into, not by a crash): `lock_idle` took any u64, the vault stores it as an
/// SQLite integer with `as i64`, and the policy in force is `MIN(lock_idle_seconds)`.
/// `lock_idle=18446744073709551615` was stored as -1, the smallest of all, read back
/// as u64::MAX: a scanned link switched off the idle lock another account requires.
#[test]
fn a_huge_lock_idle_cannot_switch_off_another_accounts_idle_lock() {
    let f = Fixture::new();
    let a = f.open();
    a.set_pin("1234".into()).unwrap();
    a.add("otpauth://totp/Ent:a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&lock_idle=120".into())
        .unwrap();
    for idle in ["18446744073709551615", "9223372036854775808"] {
        let link = format!(
            "otpauth://totp/Evil:b?secret=MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U&lock_idle={idle}"
        );
        let r = a.add(link.clone());
        assert!(
            matches!(r, Err(AuthenticatorError::InvalidEnrollment { ref reason }) if reason.contains("lock_idle")),
            "{idle}: {r:?}"
        );
        assert!(matches!(
            fs::preview_link(&link, PREVIEW_NOW),
            Err(AuthenticatorError::InvalidEnrollment { .. })
        ));
        assert_eq!(
            a.lock_state().unwrap().policy.idle_timeout_seconds,
            Some(120)
        );
    }
    // The largest value the vault stores as it is still works (and changes nothing).
    a.add(format!(
        "otpauth://totp/Big:c?secret=MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U&lock_idle={}",
        i64::MAX
    ))
    .unwrap();
    assert_eq!(
        a.lock_state().unwrap().policy.idle_timeout_seconds,
        Some(120)
    );
}

/// `qr_image` with `-malloc_limit_mb=256`: an 821-byte PNG whose header declares
/// 4784128 x 73 grey pixels made the image crate allocate 349 MB before reading any
/// pixel (under its 512 MiB default limit), then fail on the missing data. It must
/// stay a typed error; bounding the memory before any allocation is the QR decoder's
/// own limit (issue 9, finding 11), and its test measures the peak.
#[test]
fn qr_image_header_bomb_is_a_typed_error() {
    let png = include_bytes!("fuzz_regressions/qr_image-oom-header-bomb.png");
    assert!(matches!(
        fs::decode_qr_image(png),
        Err(AuthenticatorError::InvalidEnrollment { .. })
    ));
}

#[test]
fn aegis_seeds_import_with_the_fuzz_password() {
    for (name, bytes) in seeds("import_aegis") {
        let r = fs::import_file(&bytes, Some("aegis"), Some("fuzz"));
        match name.as_str() {
            "encrypted_raw_only" => assert!(
                matches!(&r, Err(AuthenticatorError::InvalidFile { reason })
                    if reason.contains("no password slot")),
                "{name}: {r:?}"
            ),
            "plain_bad_entries" => assert_eq!(r.unwrap(), 1, "{name}"),
            _ => assert_eq!(r.unwrap(), 4, "{name}"),
        }
    }
}

#[test]
fn container_seeds_reach_the_parsers_and_give_typed_answers() {
    for (name, bytes) in seeds("container_link") {
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(fs::container_link(text).is_ok(), "{name}");
        // Cut anywhere, a link is a typed refusal or still a link, never internal.
        for cut in (0..text.len()).step_by(7) {
            if let Some(prefix) = text.get(..cut) {
                assert!(
                    !matches!(
                        fs::container_link(prefix),
                        Err(AuthenticatorError::Internal { .. })
                    ),
                    "{name} cut at {cut}"
                );
            }
        }
    }
    for (name, bytes) in seeds("container_sync_plaintext") {
        // Appendix A.2: a TOTP, a HOTP and a push link.
        assert_eq!(fs::container_sync_plaintext(&bytes).unwrap(), 3, "{name}");
    }
    assert!(fs::container_sync_plaintext(b"{\"tokens\": 1}").is_err());
    for (name, bytes) in seeds("container_answer") {
        let (status, body) = fs::status_and_body(&bytes).unwrap();
        assert!(fs::container_answer(status, body).is_ok(), "{name}");
    }
}
