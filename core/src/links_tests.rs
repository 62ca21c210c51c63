//! Accept/reject tables for the enrollment link parsers, built from real-world links
//! (Google, GitHub, Microsoft, privacyIDEA, Aegis exports) and their sloppy variants.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn one(link: &str) -> (OtpEntry, Vec<String>) {
    match parse_link(link).unwrap() {
        ParsedLink::Otp {
            mut entries,
            warnings,
            ..
        } => {
            assert_eq!(entries.len(), 1);
            (entries.remove(0), warnings)
        }
        other => panic!("expected an OTP link, got {other:?}"),
    }
}

fn reason(link: &str) -> String {
    match parse_link(link) {
        Err(Error::InvalidEnrollment(r)) | Err(Error::NotSupported(r)) => r,
        other => panic!("expected a rejection for {link}, got {other:?}"),
    }
}

const JB: &[u8] = b"Hello!\xde\xad\xbe\xef";

#[test]
fn accepts_real_world_and_sloppy_links() {
    // (link, issuer, name, digits, period, algorithm)
    let table: &[(&str, &str, &str, u8, u32, Algorithm)] = &[
        ("otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example", "Example", "alice@google.com", 6, 30, Algorithm::Sha1),
        ("otpauth://totp/GitHub:octocat?secret=jbswy3dpehpk3pxp&issuer=GitHub", "GitHub", "octocat", 6, 30, Algorithm::Sha1),
        ("otpauth://totp/Microsoft:user%40outlook.com?secret=JBSW%20Y3DP%20EHPK%203PXP&issuer=Microsoft", "Microsoft", "user@outlook.com", 6, 30, Algorithm::Sha1),
        ("otpauth://totp/ACME%20Co:john.doe@email.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30", "ACME Co", "john.doe@email.com", 6, 30, Algorithm::Sha1),
        ("otpauth://totp/ACME+Co:john?secret=JBSW-Y3DP-EHPK-3PXP&issuer=ACME+Co", "ACME Co", "john", 6, 30, Algorithm::Sha1),
        ("otpauth://totp/Big%20Corp%3A%20jane?secret=JBSWY3DPEHPK3PXP====", "Big Corp", "jane", 6, 30, Algorithm::Sha1),
        ("otpauth://totp/Big Corp: jane?secret=JBSWY3DPEHPK3PXP", "Big Corp", "jane", 6, 30, Algorithm::Sha1),
        ("otpauth://totp/jane?secret=JBSWY3DPEHPK3PXP", "", "jane", 6, 30, Algorithm::Sha1),
        ("otpauth://totp/?secret=JBSWY3DPEHPK3PXP&issuer=NoLabel", "NoLabel", "", 6, 30, Algorithm::Sha1),
        ("OTPAUTH://TOTP/X:y?SECRET=JBSWY3DPEHPK3PXP&ISSUER=X", "X", "y", 6, 30, Algorithm::Sha1),
        ("otpauth://totp/S:u?secret=JBSWY3DPEHPK3PXP&algorithm=sha256&digits=8&period=60", "S", "u", 8, 60, Algorithm::Sha256),
        ("otpauth://totp/S:u?secret=JBSWY3DPEHPK3PXP&algorithm=SHA-512&digits=10&period=15", "S", "u", 10, 15, Algorithm::Sha512),
        ("otpauth://totp/S:u?secret=JBSWY3DPEHPK3PXP&image=https%3A%2F%2Fexample.com%2Flogo.png&color=red&foo", "S", "u", 6, 30, Algorithm::Sha1),
        ("  otpauth://totp/S:u?secret=JBSWY3DPEHPK3PXP#frag\n", "S", "u", 6, 30, Algorithm::Sha1),
        ("otpauth://totp/bob%40defrealm?secret=JBSWY3DPEHPK3PXP&period=30&digits=6&creator=privacyidea&issuer=privacyIDEA-local&serial=TOTP00000C1B", "privacyIDEA-local", "bob@defrealm", 6, 30, Algorithm::Sha1),
    ];
    for (link, issuer, name, digits, period, alg) in table {
        let (e, _) = one(link);
        assert_eq!(e.kind, AccountKind::Totp, "{link}");
        assert_eq!(&e.issuer, issuer, "{link}");
        assert_eq!(&e.name, name, "{link}");
        assert_eq!(e.digits, *digits, "{link}");
        assert_eq!(e.period, *period, "{link}");
        assert_eq!(e.algorithm, *alg, "{link}");
        assert_eq!(&e.secret[..], JB, "{link}");
    }
}

#[test]
fn hotp_counter_and_serial() {
    let (e, w) = one("otpauth://hotp/bob%40defrealm?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=1&digits=6&creator=privacyidea&issuer=privacyIDEA-local&serial=OATH0000D9B6");
    assert_eq!(e.kind, AccountKind::Hotp);
    assert_eq!(e.counter, 1);
    assert_eq!(e.serial.as_deref(), Some("OATH0000D9B6"));
    assert!(!e.weak_secret());
    assert!(w.is_empty(), "{w:?}");
    let (e, w) = one("otpauth://hotp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    assert_eq!(e.counter, 0);
    assert!(w.iter().any(|w| w.contains("no counter")));
    let (e, _) = one(
        "otpauth://hotp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=18446744073709551615",
    );
    assert_eq!(e.counter, u64::MAX);
}

#[test]
fn issuer_mismatch_rule_uses_the_parameter_and_warns() {
    let (e, w) = one("otpauth://totp/OldName:alice?secret=JBSWY3DPEHPK3PXP&issuer=NewName");
    assert_eq!(e.issuer, "NewName");
    assert_eq!(e.name, "alice");
    assert!(
        w.iter()
            .any(|w| w.contains("OldName") && w.contains("NewName")),
        "{w:?}"
    );
    // Same issuer in a different case is no mismatch.
    let (_, w) =
        one("otpauth://totp/acme:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME");
    assert!(w.is_empty(), "{w:?}");
}

#[test]
fn weak_secrets_are_accepted_but_flagged() {
    let (e, w) = one("otpauth://totp/S:u?secret=JBSWY3DPEHPK3PXP");
    assert!(e.weak_secret());
    assert!(w.iter().any(|w| w.contains("80 bits")), "{w:?}");
    let (e, _) = one("otpauth://totp/S:u?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    assert!(!e.weak_secret());
}

#[test]
fn steam_links() {
    let (e, _) = one("otpauth://steam/Steam:gaben?secret=JBSWY3DPEHPK3PXP&issuer=Steam");
    assert_eq!(e.kind, AccountKind::Steam);
    assert_eq!(e.digits, 5);
    let (e, _) =
        one("otpauth://totp/Steam:gaben?secret=JBSWY3DPEHPK3PXP&issuer=Steam&encoder=steam");
    assert_eq!(e.kind, AccountKind::Steam);
}

#[test]
fn rejects_with_a_reason_that_says_what_is_wrong() {
    let table: &[(&str, &str)] = &[
        ("", "empty"),
        ("https://example.com/?secret=JBSWY3DPEHPK3PXP", "scheme"),
        ("otpauth:totp/x?secret=JBSWY3DPEHPK3PXP", "not a link"),
        ("otpauth://totp/x?issuer=X", "secret is missing"),
        ("otpauth://totp/x?secret=", "secret is missing or empty"),
        ("otpauth://totp/x?secret=JBSWY3DP!HPK3PXP", "not valid base32"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PX1", "not valid base32"),
        ("otpauth://motp/x?secret=JBSWY3DPEHPK3PXP", "unknown token type 'motp'"),
        ("otpauth:///x?secret=JBSWY3DPEHPK3PXP", "no type"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&algorithm=MD5", "unsupported algorithm 'MD5'"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=5", "digits must be between 6 and 10, got 5"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=11", "got 11"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=300", "digits must be between"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=six", "digits must be a number"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=0", "period must be positive"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=-30", "period must be positive"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=999999", "period must be between"),
        ("otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP&counter=-1", "counter must be a whole number"),
        ("otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP&counter=18446744073709551616", "counter must be a whole number"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&lock_wipe_after=50", "lock_wipe_after"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&lock_idle=0", "lock_idle"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&lock_idle=9223372036854775808", "lock_idle must be at most"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&lock_background=86401", "lock_background must be at most"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&lock_background=soon", "lock_background must be a number"),
        ("otpauth-migration://offline?data=", "holds no accounts"),
        ("otpauth-migration://offline?data=AAAA", "not a valid export payload"),
        ("otpauth-migration://online?data=AAAA", "unknown migration link host"),
        ("otpauth-migration://offline?data=%%%", "not valid base64"),
        ("otpauth://totp/%FF?secret=JBSWY3DPEHPK3PXP", "not valid UTF-8"),
        ("otpauth://pipush/x?url=https://p/ttype/push&ttl=10&serial=PIPU1&enrollment_credential=ab&v=2", "version 2"),
        ("otpauth://pipush/x?url=https://p/ttype/push&ttl=10&serial=PIPU1&v=1", "enrollment_credential"),
        ("otpauth://pipush/x?url=ftp://p&ttl=10&serial=PIPU1&enrollment_credential=ab&v=1", "http(s)"),
        ("otpauth://pipush/x?url=https://p&ttl=0&serial=PIPU1&enrollment_credential=ab&v=1", "expired"),
    ];
    for (link, expected) in table {
        let r = match parse_link(link) {
            Err(Error::InvalidEnrollment(r)) | Err(Error::NotSupported(r)) => r,
            other => panic!("expected a rejection for {link:?}, got {other:?}"),
        };
        assert!(
            r.contains(expected),
            "{link:?}: '{r}' does not contain '{expected}'"
        );
        // No rejection ever echoes the secret.
        assert!(!r.contains("JBSWY3DP"), "{link:?}: '{r}' leaks the secret");
    }
    let _ = reason;
}

#[test]
fn lock_policy_parameters() {
    let (e, _) = one("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&lock_pin=1&lock_wipe_after=5&lock_idle=120&lock_pin_length=6&lock_background=30");
    assert_eq!(
        e.policy,
        AccountLockPolicy {
            require_pin: true,
            wipe_after: Some(5),
            idle_seconds: Some(120),
            min_pin_length: Some(6),
            background_seconds: Some(30),
        }
    );
    let (e, _) = one("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&lock_background=0");
    assert_eq!(
        e.policy.background_seconds,
        Some(0),
        "0: lock as soon as the app leaves"
    );
    assert!(e.policy.require_pin, "a background lock implies a PIN");
    let (e, _) = one("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&lock_idle=60");
    assert!(e.policy.require_pin, "an idle timeout implies a PIN");
    let (e, _) = one("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP");
    assert_eq!(e.policy, AccountLockPolicy::default());
}

#[test]
fn push_links() {
    let link = "otpauth://pipush/alice%40defrealm?url=http%3A//127.0.0.1%3A5080/ttype/push&ttl=10&issuer=privacyIDEA-local&enrollment_credential=de56b173232b5ca50c6324b2712eb0df5418217a&v=1&serial=PIPU000099FE&sslverify=0&poll_only=True&pin=True&app_force_unlock=pin";
    match parse_link(link).unwrap() {
        ParsedLink::Push {
            enrollment,
            warnings,
        } => {
            assert_eq!(enrollment.url, "http://127.0.0.1:5080/ttype/push");
            assert_eq!(enrollment.serial, "PIPU000099FE");
            assert_eq!(enrollment.issuer, "privacyIDEA-local");
            assert_eq!(enrollment.name, "alice@defrealm");
            assert_eq!(enrollment.ttl_minutes, 10);
            assert!(!enrollment.sslverify);
            assert!(enrollment.poll_only);
            assert!(enrollment.policy.require_pin);
            assert!(warnings.iter().any(|w| w.contains("TLS")));
            let dbg = format!("{enrollment:?}");
            assert!(!dbg.contains("de56b173"), "credential leaked in Debug");
        }
        other => panic!("{other:?}"),
    }
    let pia = "pia://pipush/a?url=https://pi.example/ttype/push&ttl=5&enrollment_credential=ab&v=1&serial=PIPU2";
    match parse_link(pia).unwrap() {
        ParsedLink::Push { enrollment, .. } => {
            assert!(enrollment.sslverify);
            assert!(!enrollment.policy.require_pin);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn plain_http_push_urls_are_refused_except_to_loopback() {
    let with = |url: &str, ssl: &str| {
        format!("otpauth://pipush/a?url={url}&ttl=5&enrollment_credential=ab&v=1&serial=PIPU2{ssl}")
    };
    for url in [
        "http://pi.example/ttype/push",
        "http://10.0.0.5/ttype/push",
        "http://127.0.0.1.evil.example/ttype/push",
        "http://localhost.evil.example/ttype/push",
        "HTTP://pi.example/ttype/push",
    ] {
        let e = parse_link(&with(url, ""))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("plain http"), "{url}: {e}");
        assert!(e.contains("https"), "the error says what to do: {e}");
    }
    for url in [
        "http://127.0.0.1:5080/ttype/push",
        "http://127.8.9.10/ttype/push",
        "http://[::1]:5080/ttype/push",
        "http://localhost:5080/ttype/push",
        "http://LOCALHOST/ttype/push",
    ] {
        match parse_link(&with(url, "&sslverify=1")).unwrap() {
            ParsedLink::Push {
                enrollment,
                warnings,
            } => {
                assert!(!enrollment.sslverify, "{url}: flagged like sslverify=0");
                assert!(warnings.iter().any(|w| w.contains("TLS")), "{url}");
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(parse_link(&with("https://", "")).is_err());
    assert!(parse_link(&with("ftp://pi.example/", "")).is_err());
}

fn payload(entries: Vec<OtpParameters>, size: i32, index: i32) -> String {
    let p = MigrationPayload {
        otp_parameters: entries,
        version: 1,
        batch_size: size,
        batch_index: index,
        batch_id: 42,
    };
    let bytes = prost::Message::encode_to_vec(&p);
    data_encoding::BASE64.encode(&bytes)
}

fn param(secret: &[u8], name: &str, issuer: &str, alg: i32, digits: i32, ty: i32) -> OtpParameters {
    OtpParameters {
        secret: secret.to_vec(),
        name: name.into(),
        issuer: issuer.into(),
        algorithm: alg,
        digits,
        r#type: ty,
        counter: 7,
    }
}

#[test]
fn migration_payloads() {
    let data = payload(
        vec![
            param(b"12345678901234567890", "ACME:alice", "ACME", 1, 1, 2),
            param(b"abcdefghij", "bob@example.com", "", 2, 2, 1),
            param(
                b"12345678901234567890123456789012",
                "Corp: carol",
                "Corp",
                3,
                1,
                2,
            ),
        ],
        2,
        0,
    );
    // Percent-encoded, as Google writes it.
    let encoded: String =
        percent_encoding::utf8_percent_encode(&data, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    for link in [
        format!("otpauth-migration://offline?data={encoded}"),
        format!("otpauth-migration://offline?data={data}"), // unescaped '+' and '/'
        format!(
            "otpauth-migration://offline?data={}",
            data.replace('+', " ")
        ), // '+' already turned into a space
    ] {
        match parse_link(&link).unwrap() {
            ParsedLink::Otp {
                entries,
                batch,
                warnings,
            } => {
                assert_eq!(entries.len(), 3);
                assert_eq!(entries[0].issuer, "ACME");
                assert_eq!(
                    entries[0].name, "alice",
                    "duplicated issuer prefix stripped"
                );
                assert_eq!(entries[0].kind, AccountKind::Totp);
                assert_eq!(&entries[0].secret[..], b"12345678901234567890");
                assert_eq!(entries[1].kind, AccountKind::Hotp);
                assert_eq!(entries[1].counter, 7);
                assert_eq!(entries[1].digits, 8);
                assert_eq!(entries[1].algorithm, Algorithm::Sha256);
                assert_eq!(entries[2].name, "carol");
                assert_eq!(entries[2].algorithm, Algorithm::Sha512);
                assert_eq!(
                    batch,
                    Some(Batch {
                        index: 0,
                        size: 2,
                        id: 42
                    })
                );
                assert!(warnings.iter().any(|w| w.contains("1 of 2")));
                assert!(warnings
                    .iter()
                    .any(|w| w.contains("entry 2") && w.contains("80 bits")));
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn migration_entry_errors_name_the_entry() {
    for (p, expected) in [
        (
            param(b"12345678901234567890", "a", "X", 4, 1, 2),
            "entry 2 (X:a): unsupported algorithm MD5",
        ),
        (
            param(b"12345678901234567890", "a", "X", 9, 1, 2),
            "unknown algorithm value 9",
        ),
        (
            param(b"12345678901234567890", "a", "X", 1, 5, 2),
            "unknown digit count value 5",
        ),
        (
            param(b"12345678901234567890", "a", "X", 1, 1, 3),
            "unknown OTP type value 3",
        ),
        (param(b"", "a", "X", 1, 1, 2), "secret is empty"),
    ] {
        let data = payload(
            vec![param(b"12345678901234567890", "ok", "Y", 1, 1, 2), p],
            1,
            0,
        );
        let r = reason(&format!("otpauth-migration://offline?data={data}"));
        assert!(r.contains(expected), "'{r}' lacks '{expected}'");
    }
}

#[test]
fn otp_entry_debug_hides_the_secret() {
    let (e, _) = one("otpauth://totp/S:u?secret=JBSWY3DPEHPK3PXP");
    let d = format!("{e:?}");
    assert!(d.contains("<redacted>"));
    assert!(!d.contains("72, 101"), "{d}");
}

#[test]
fn privacyidea_day_passwords_are_time_codes_with_a_long_period() {
    let (e, _) = one("otpauth://daypassword/DYPW0000536F?secret=NW6IT27XNRXOAZEP4GILXB3GCKCANVQR&issuer=privacyIDEA&algorithm=SHA256&digits=6&period=86400");
    assert_eq!((e.kind, e.period, e.digits), (AccountKind::Totp, 86_400, 6));
    assert_eq!(e.algorithm, Algorithm::Sha256);
    assert_eq!(e.issuer, "privacyIDEA");
    // No period: one day. Up to 31 days; a plain TOTP link keeps its 3600 s limit.
    let (e, _) = one("otpauth://daypassword/D?secret=JBSWY3DPEHPK3PXP");
    assert_eq!(e.period, 86_400);
    assert_eq!(
        one("otpauth://daypassword/D?secret=JBSWY3DPEHPK3PXP&period=604800")
            .0
            .period,
        604_800
    );
    assert!(
        reason("otpauth://daypassword/D?secret=JBSWY3DPEHPK3PXP&period=99999999")
            .contains("period")
    );
    assert!(reason("otpauth://totp/D?secret=JBSWY3DPEHPK3PXP&period=86400").contains("period"));
    // The code is TOTP with that step: the same at the start and end of a day, another the next day.
    let day = 1_700_006_400u64; // a multiple of 86,400: midnight UTC
    let g = otp::TimeCodeGenerator::new(
        AccountKind::Totp,
        &e.secret,
        e.algorithm,
        e.digits,
        e.period,
    )
    .unwrap();
    assert_eq!(g.at(day), g.at(day + 86_399));
    assert_ne!(g.at(day), g.at(day + 86_400));
    assert_eq!(
        g.at(day),
        otp::totp(&e.secret, e.algorithm, 6, 86_400, day).unwrap()
    );
}

#[test]
fn edumfa_push_links_are_push_enrollments() {
    let link = "edumfa-push://edumfa/EDUP0024385F?url=https://edumfa.example/enroll/this/token&ttl=120&issuer=eduMFA&enrollment_credential=9311ee50678983c0f29d3d843f86e39405e2b427&v=1&serial=EDUP0024385F&sslverify=1";
    match parse_link(link).unwrap() {
        ParsedLink::Push { enrollment, .. } => {
            assert_eq!(enrollment.serial, "EDUP0024385F");
            assert_eq!(enrollment.url, "https://edumfa.example/enroll/this/token");
            assert_eq!(enrollment.issuer, "eduMFA");
            assert!(enrollment.sslverify);
            assert_eq!(enrollment.ttl_minutes, 120);
        }
        other => panic!("{other:?}"),
    }
    // The host part is not fixed (`edumfa-push://token/...` too), the rules are push's.
    assert!(matches!(
        parse_link("edumfa-push://token/Issuer:Account?v=1&serial=s&url=https://example.org/push&enrollment_credential=c&ttl=10"),
        Ok(ParsedLink::Push { .. })
    ));
    assert!(reason("edumfa-push://edumfa/x?url=http://example.org/push&ttl=10&serial=E&enrollment_credential=ab&v=1").contains("plain http"));
}

#[test]
fn container_links_take_the_one_parse_path() {
    let qr = "pia://container/SMPH0000D060?issuer=privacyIDEA&ttl=10&nonce=378b20b0beeded91bc0c67b975c9ed12f954a786&time=2026-12-01T06%3A32%3A38.508477%2B00%3A00&url=http%3A//127.0.0.1%3A5099/&serial=SMPH0000D060&key_algorithm=secp384r1&hash_algorithm=SHA256&ssl_verify=False&passphrase=Your%20number%3F&send_passphrase=False";
    let ParsedLink::Container { link, .. } = parse_link(qr).unwrap() else {
        panic!("not a container link");
    };
    assert_eq!(link.serial, "SMPH0000D060");
    assert_eq!(link.passphrase_prompt.as_deref(), Some("Your number?"));
    assert!(!link.tls_verify);
}
