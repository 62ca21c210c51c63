//! Foundation behaviour through the public API: enrollment (links, migration, QR
//! images), duplicates, accounts, codes (RFC vectors, oathtool cross-check, HOTP
//! counters that never repeat), and a vault file free of plaintext secrets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use authenticator_core::{AccountKind, Algorithm, AuthenticatorError};
use common::*;

const TOTP_LINK: &str = "otpauth://totp/ACME:alice@example.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME";
const HOTP_LINK: &str =
    "otpauth://hotp/Corp:bob?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=0&issuer=Corp";

#[test]
fn preview_changes_nothing_and_shows_the_current_code() {
    let f = Fixture::new();
    let a = f.open();
    let p = a.preview(TOTP_LINK.into()).unwrap();
    assert_eq!(p.accounts.len(), 1);
    assert_eq!(p.accounts[0].current_code.as_deref(), Some("646738"));
    assert!(p.accounts[0].weak_secret);
    assert!(!p.accounts[0].already_enrolled);
    assert!(!p.requires_pin);
    assert!(a.list_accounts().unwrap().is_empty());
}

#[test]
fn add_list_code_rename_reorder_delete() {
    let f = Fixture::new();
    let a = f.open();
    let r = a.add(TOTP_LINK.into()).unwrap();
    assert_eq!(r.accounts.len(), 1);
    let totp = r.accounts[0].clone();
    assert_eq!(totp.issuer, "ACME");
    assert_eq!(totp.name, "alice@example.com");
    assert_eq!(totp.kind, AccountKind::Totp);
    let c = a.code_at(totp.id.clone(), 1_577_836_800).unwrap();
    assert_eq!(c.code, "646738");
    assert_eq!(c.valid_until, Some(1_577_836_830));
    assert_eq!(c.seconds_left, Some(30));
    f.clock.advance(12);
    assert_eq!(a.code(totp.id.clone()).unwrap().seconds_left, Some(18));

    let hotp = a.add(HOTP_LINK.into()).unwrap().accounts[0].clone();
    let ids: Vec<_> = a
        .list_accounts()
        .unwrap()
        .into_iter()
        .map(|x| x.id)
        .collect();
    assert_eq!(
        ids,
        vec![totp.id.clone(), hotp.id.clone()],
        "stable insertion order"
    );
    a.reorder_accounts(vec![hotp.id.clone(), totp.id.clone()])
        .unwrap();
    let ids: Vec<_> = a
        .list_accounts()
        .unwrap()
        .into_iter()
        .map(|x| x.id)
        .collect();
    assert_eq!(ids, vec![hotp.id.clone(), totp.id.clone()]);
    assert!(matches!(
        a.reorder_accounts(vec![hotp.id.clone()]),
        Err(AuthenticatorError::InvalidArgument { .. })
    ));

    a.rename_account(totp.id.clone(), "work".into()).unwrap();
    assert!(a.list_accounts().unwrap().iter().any(|x| x.name == "work"));
    assert!(matches!(
        a.rename_account("nope".into(), "x".into()),
        Err(AuthenticatorError::NotFound { .. })
    ));
    a.delete_account(totp.id.clone()).unwrap();
    assert_eq!(a.list_accounts().unwrap().len(), 1);
    assert!(matches!(
        a.code(totp.id.clone()),
        Err(AuthenticatorError::NotFound { .. })
    ));
    // Survives a reopen.
    drop(a);
    let a = f.open();
    assert_eq!(a.list_accounts().unwrap()[0].id, hotp.id);
}

#[test]
fn duplicates_are_refused_and_nothing_is_written() {
    let f = Fixture::new();
    let a = f.open();
    a.add(TOTP_LINK.into()).unwrap();
    let before = a.list_accounts().unwrap();
    assert!(matches!(
        a.add(TOTP_LINK.into()),
        Err(AuthenticatorError::AlreadyEnrolled)
    ));
    // Same account, spelled differently (lower case, spaces): still a duplicate.
    assert!(matches!(
        a.add(
            "otpauth://totp/acme:Alice@example.com?secret=jbsw y3dp ehpk 3pxp&issuer=ACME".into()
        ),
        Err(AuthenticatorError::AlreadyEnrolled)
    ));
    assert!(a.preview(TOTP_LINK.into()).unwrap().accounts[0].already_enrolled);
    assert_eq!(a.list_accounts().unwrap(), before);
    // A different secret under the same name is a different account.
    a.add("otpauth://totp/ACME:alice@example.com?secret=GEZDGNBVGY3TQOJQ&issuer=ACME".into())
        .unwrap();
    assert_eq!(a.list_accounts().unwrap().len(), 2);
}

#[test]
fn bad_input_is_a_typed_error_and_changes_nothing() {
    let f = Fixture::new();
    let a = f.open();
    a.add(TOTP_LINK.into()).unwrap();
    let bytes_before = a.list_accounts().unwrap();
    for bad in [
        "otpauth://totp/x?secret=JBSWY3DP!HPK3PXP",
        "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=12",
        "not a link",
        "otpauth-migration://offline?data=AAAA",
    ] {
        match a.add(bad.into()) {
            Err(AuthenticatorError::InvalidEnrollment { reason }) => {
                assert!(!reason.contains("JBSWY3DP"), "{reason}")
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
    assert_eq!(a.list_accounts().unwrap(), bytes_before);
}

#[test]
fn hotp_counter_is_committed_before_the_code_and_never_repeats() {
    let f = Fixture::new();
    let a = f.open();
    let id = a.add(HOTP_LINK.into()).unwrap().accounts[0].id.clone();
    let c0 = a.code(id.clone()).unwrap();
    assert_eq!((c0.code.as_str(), c0.counter), ("755224", Some(0)));
    let c1 = a.code(id.clone()).unwrap();
    assert_eq!((c1.code.as_str(), c1.counter), ("287082", Some(1)));
    // A restart (simulating a crash right after the code was shown) continues.
    drop(a);
    let a = f.open();
    let c2 = a.code(id.clone()).unwrap();
    assert_eq!((c2.code.as_str(), c2.counter), ("359152", Some(2)));
    assert_eq!(a.list_accounts().unwrap()[0].counter, 3);
}

#[test]
fn time_codes_cover_totp_and_skip_hotp() {
    let f = Fixture::new();
    let a = f.open();
    a.add(TOTP_LINK.into()).unwrap();
    let h = a.add(HOTP_LINK.into()).unwrap().accounts[0].clone();
    let codes = a.time_codes_at(1_577_836_800).unwrap();
    assert_eq!(codes.len(), 1);
    assert_eq!(codes[0].code, "646738");
    // HOTP counter untouched.
    assert_eq!(
        a.list_accounts()
            .unwrap()
            .iter()
            .find(|x| x.id == h.id)
            .unwrap()
            .counter,
        0
    );
}

#[test]
fn migration_batch_imports_every_entry_in_one_go() {
    // Built with Google Authenticator's export: two TOTP entries and one HOTP entry.
    // (MigrationPayload protobuf, base64; generated by the unit tests' encoder.)
    let f = Fixture::new();
    let a = f.open();
    let link = migration_link();
    let p = a.preview(link.clone()).unwrap();
    assert_eq!(p.accounts.len(), 2);
    assert_eq!(p.batch.map(|b| (b.index, b.size)), Some((0, 2)));
    let r = a.add(link.clone()).unwrap();
    assert_eq!(r.accounts.len(), 2);
    assert_eq!(r.accounts[0].issuer, "ACME");
    assert_eq!(r.accounts[0].name, "alice");
    assert_eq!(r.accounts[1].algorithm, Algorithm::Sha256);
    assert!(matches!(
        a.add(link),
        Err(AuthenticatorError::AlreadyEnrolled)
    ));
}

/// A hand-encoded MigrationPayload (protobuf wire format) so this test does not share
/// the encoder with the code under test.
fn migration_link() -> String {
    fn field_bytes(tag: u8, bytes: &[u8]) -> Vec<u8> {
        let mut v = vec![(tag << 3) | 2, bytes.len() as u8];
        v.extend_from_slice(bytes);
        v
    }
    fn field_varint(tag: u8, value: u8) -> Vec<u8> {
        vec![tag << 3, value]
    }
    let mut e1 = field_bytes(1, b"12345678901234567890");
    e1.extend(field_bytes(2, b"ACME:alice"));
    e1.extend(field_bytes(3, b"ACME"));
    e1.extend(field_varint(4, 1));
    e1.extend(field_varint(5, 1));
    e1.extend(field_varint(6, 2));
    let mut e2 = field_bytes(1, b"12345678901234567890123456789012");
    e2.extend(field_bytes(2, b"bob"));
    e2.extend(field_bytes(3, b"Corp"));
    e2.extend(field_varint(4, 2));
    e2.extend(field_varint(5, 2));
    e2.extend(field_varint(6, 2));
    let mut payload = field_bytes(1, &e1);
    payload.extend(field_bytes(1, &e2));
    payload.extend(field_varint(2, 1));
    payload.extend(field_varint(3, 2));
    payload.extend(field_varint(4, 0));
    payload.extend(field_varint(5, 9));
    let b64 = data_encoding_b64(&payload);
    format!("otpauth-migration://offline?data={b64}")
}

fn data_encoding_b64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn qr_image(text: &str, jpeg: bool) -> Vec<u8> {
    let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
    let img = code
        .render::<image::Luma<u8>>()
        .min_dimensions(300, 300)
        .build();
    let mut out = std::io::Cursor::new(Vec::new());
    let format = if jpeg {
        image::ImageFormat::Jpeg
    } else {
        image::ImageFormat::Png
    };
    image::DynamicImage::ImageLuma8(img)
        .write_to(&mut out, format)
        .unwrap();
    out.into_inner()
}

#[test]
fn qr_images_png_and_jpeg_go_through_the_same_parse_path() {
    let f = Fixture::new();
    let a = f.open();
    let png = qr_image(TOTP_LINK, false);
    assert_eq!(
        authenticator_core::decode_qr_image(png.clone()).unwrap(),
        TOTP_LINK
    );
    let p = a.preview_qr_image(png.clone()).unwrap();
    assert_eq!(p.accounts[0].current_code.as_deref(), Some("646738"));
    a.add_qr_image(png).unwrap();
    let jpeg = qr_image(HOTP_LINK, true);
    let r = a.add_qr_image(jpeg).unwrap();
    assert_eq!(r.accounts[0].kind, AccountKind::Hotp);
    assert!(matches!(
        a.add_qr_image(b"not an image".to_vec()),
        Err(AuthenticatorError::InvalidEnrollment { .. })
    ));
    let blank = {
        let img = image::GrayImage::from_pixel(200, 200, image::Luma([255u8]));
        let mut out = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageLuma8(img)
            .write_to(&mut out, image::ImageFormat::Png)
            .unwrap();
        out.into_inner()
    };
    match a.add_qr_image(blank) {
        Err(AuthenticatorError::InvalidEnrollment { reason }) => {
            assert!(reason.contains("no QR code"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(a.list_accounts().unwrap().len(), 2);
}

#[test]
fn vault_file_never_holds_a_secret_in_plaintext() {
    let f = Fixture::new();
    let a = f.open();
    // Distinctive 32-byte secrets, easy to spot in the file.
    let secrets: Vec<Vec<u8>> = (0..20u8).map(|i| vec![0xA0 ^ i; 32]).collect();
    for (i, s) in secrets.iter().enumerate() {
        let b32 = base32(s);
        a.add(format!(
            "otpauth://totp/Scan:user{i}?secret={b32}&issuer=Scan"
        ))
        .unwrap();
        a.code(a.list_accounts().unwrap()[i].id.clone()).unwrap();
    }
    let bytes = vault_bytes(&f.path);
    assert!(bytes.len() > 4096);
    for s in &secrets {
        assert!(!contains(&bytes, s), "raw secret found in the vault files");
        assert!(
            !contains(&bytes, base32(s).as_bytes()),
            "base32 secret found"
        );
    }
    // The device key is not in the file either.
    let dk = f.keystore.key.lock().unwrap().clone().unwrap();
    assert!(!contains(&bytes, &dk));
}

fn base32(bytes: &[u8]) -> String {
    const A: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let mut buffer = 0u32;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            out.push(A[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(A[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Codes for a few hundred random secrets, times and settings agree with `oathtool`.
#[test]
fn codes_agree_with_oathtool() {
    let f = Fixture::new();
    let a = f.open();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let algs = [("SHA1", "sha1"), ("SHA256", "sha256"), ("SHA512", "sha512")];
    let mut checked = 0;
    for i in 0..300 {
        let len = [10usize, 16, 20, 32, 64][(next() % 5) as usize];
        let secret: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let (alg, oath_alg) = algs[(next() % 3) as usize];
        let digits = 6 + (next() % 3) as u8; // oathtool supports 6..8
        let hotp = i % 4 == 0;
        let b32 = base32(&secret);
        let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        let (link, expected) = if hotp {
            let counter = next() % 1_000_000;
            let out = std::process::Command::new("oathtool")
                .args([
                    "--hotp",
                    "-d",
                    &digits.to_string(),
                    "-c",
                    &counter.to_string(),
                    &hex,
                ])
                .output()
                .expect("oathtool must be installed (see .ci/run)");
            (
                format!("otpauth://hotp/T:o{i}?secret={b32}&digits={digits}&counter={counter}&algorithm=SHA1"),
                String::from_utf8(out.stdout).unwrap().trim().to_string(),
            )
        } else {
            let period = [30u32, 60, 15][(next() % 3) as usize];
            let t = 1_000_000_000 + (next() % 2_000_000_000) as i64;
            let out = std::process::Command::new("oathtool")
                .args([
                    &format!("--totp={oath_alg}"),
                    "-d",
                    &digits.to_string(),
                    "-s",
                    &format!("{period}s"),
                    "-N",
                    &format!("@{t}"),
                    &hex,
                ])
                .output()
                .expect("oathtool must be installed (see .ci/run)");
            let link = format!("otpauth://totp/T:o{i}?secret={b32}&digits={digits}&period={period}&algorithm={alg}");
            let id = a.add(link.clone()).unwrap().accounts[0].id.clone();
            let got = a.code_at(id, t).unwrap().code;
            let want = String::from_utf8(out.stdout).unwrap().trim().to_string();
            assert_eq!(got, want, "{link} at {t}");
            checked += 1;
            continue;
        };
        let id = a.add(link.clone()).unwrap().accounts[0].id.clone();
        assert_eq!(a.code(id).unwrap().code, expected, "{link}");
        checked += 1;
    }
    assert_eq!(checked, 300);
}
