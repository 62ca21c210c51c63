//! Tests of the Bitwarden parsers on files built here the way Bitwarden writes them: the
//! plain JSON and CSV exports, and the password-protected JSON export encrypted as its
//! clients do (KDF over the salt string, HKDF-Expand to "enc"/"mac", EncString type 2).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::otp::{AccountKind, Algorithm};
use crate::transfer::{detect, parse_file};
use aes::cipher::BlockEncryptMut;

const PASSWORD: &str = "correct horse battery staple";

/// A plain export as Bitwarden writes it (trimmed of fields the parser ignores, but with
/// passwords, URIs and every item type).
pub(crate) fn plain_export() -> String {
    serde_json::json!({
        "encrypted": false,
        "folders": [{"id": "f1", "name": "Work"}],
        "items": [
            {"id": "1", "folderId": "f1", "type": 1, "name": "GitHub", "favorite": false,
             "login": {"uris": [{"match": null, "uri": "https://github.com"}],
                       "username": "alice", "password": "hunter2",
                       "totp": "otpauth://totp/GitHub:alice?secret=JBSWY3DPEHPK3PXP&issuer=GitHub&digits=8&algorithm=SHA256"}},
            {"id": "2", "type": 1, "name": "Bare", "login": {"username": "bob", "password": "p", "totp": "jbsw y3dp ehpk 3pxp"}},
            {"id": "3", "type": 1, "name": "Steam", "login": {"username": "gabe", "totp": "steam://JBSWY3DPEHPK3PXP"}},
            {"id": "4", "type": 1, "name": "Linked", "login": {"username": "carol", "totp": "otpauth://totp/?secret=JBSWY3DPEHPK3PXP"}},
            {"id": "5", "type": 1, "name": "NoTotp", "login": {"username": "dave", "password": "p", "totp": null}},
            {"id": "6", "type": 1, "name": "EmptyTotp", "login": {"username": "erin", "totp": ""}},
            {"id": "7", "type": 2, "name": "A note", "notes": "text", "secureNote": {"type": 0}},
            {"id": "8", "type": 3, "name": "Visa", "card": {"number": "4111111111111111"}},
            {"id": "9", "type": 4, "name": "Me", "identity": {"firstName": "A"}},
            {"id": "10", "type": 1, "name": "Broken", "login": {"username": "frank", "totp": "not base32!"}},
            {"id": "11", "type": 1, "name": "ZeroDigits", "login": {"username": "gina", "totp": "otpauth://totp/X:y?secret=JBSWY3DPEHPK3PXP&digits=0"}},
            {"id": "12", "type": 1, "name": "Trashed", "deletedDate": "2024-01-01T00:00:00Z", "login": {"username": "hal", "totp": "JBSWY3DPEHPK3PXP"}}
        ]
    })
    .to_string()
}

fn check_plain(p: &ParsedFile) {
    assert_eq!(p.entries.len(), 4, "{:?}", p.refused);
    let gh = &p.entries[0];
    assert_eq!((gh.issuer.as_str(), gh.name.as_str()), ("GitHub", "alice"));
    assert_eq!((gh.digits, gh.algorithm), (8, Algorithm::Sha256));
    let bare = &p.entries[1];
    assert_eq!((bare.issuer.as_str(), bare.name.as_str()), ("Bare", "bob"));
    assert_eq!(
        (bare.kind, bare.algorithm, bare.digits, bare.period),
        (AccountKind::Totp, Algorithm::Sha1, 6, 30)
    );
    assert_eq!(&bare.secret[..], b"Hello!\xde\xad\xbe\xef");
    assert_eq!(p.entries[2].kind, AccountKind::Steam);
    assert_eq!(p.entries[2].issuer, "Steam");
    // A link without issuer or name takes the item's.
    assert_eq!(
        (p.entries[3].issuer.as_str(), p.entries[3].name.as_str()),
        ("Linked", "carol")
    );
    assert_eq!(p.refused.len(), 2);
    assert_eq!(p.refused[0].entry, "Broken: frank");
    assert!(
        p.refused[0].reason.contains("base32"),
        "{}",
        p.refused[0].reason
    );
    assert_eq!(p.refused[1].entry, "ZeroDigits: gina");
    assert!(p.refused[1].reason.contains("digits"));
    assert_eq!(p.skipped.len(), 2, "{:?}", p.skipped);
    assert_eq!(p.skipped[0].entry, "Trashed: hal");
    // The five items without TOTP are one summary line.
    assert_eq!(p.skipped[1].entry, "5 other items");
}

#[test]
fn plain_json_reads_otpauth_steam_and_bare_secrets_and_counts_the_rest() {
    check_plain(&parse(plain_export().as_bytes(), None).unwrap());
}

pub(crate) const CSV_EXPORT: &str = "\u{feff}folder,favorite,type,name,notes,fields,reprompt,login_uri,login_username,login_password,login_totp\n\
    Work,1,login,\"Acme, Inc.\",\"line one\nline two, with comma\",,0,https://acme.test,\"al\"\"ice\",pw,JBSWY3DPEHPK3PXP\n\
    ,,login,Plain,,,0,,bob,pw,\n\
    ,,note,Just a note,text,,0,,,,\n\
    ,,login,GitHub,,,0,https://github.com,carol,pw,\"otpauth://totp/GitHub:carol?secret=JBSWY3DPEHPK3PXP&issuer=GitHub&period=60\"\n\
    ,,login,Steam,,,0,,gabe,pw,steam://JBSWY3DPEHPK3PXP\n\
    ,,login,Bad,,,0,,dan,pw,0000\n";

#[test]
fn csv_reads_quoted_fields_commas_and_newlines_and_skips_empty_totp_rows() {
    let p = parse_csv(CSV_EXPORT.as_bytes()).unwrap();
    assert_eq!(p.entries.len(), 3, "{:?}", p.refused);
    assert_eq!(p.entries[0].issuer, "Acme, Inc.");
    assert_eq!(p.entries[0].name, "al\"ice");
    assert_eq!(
        (p.entries[1].issuer.as_str(), p.entries[1].period),
        ("GitHub", 60)
    );
    assert_eq!(p.entries[2].kind, AccountKind::Steam);
    assert_eq!(p.refused.len(), 1);
    assert_eq!(p.refused[0].entry, "Bad: dan");
    assert_eq!(p.skipped.len(), 1);
    assert_eq!(p.skipped[0].entry, "2 other items");
}

#[test]
fn csv_columns_are_found_by_name_and_a_file_without_totp_column_is_malformed() {
    let org = "collections,type,name,notes,fields,reprompt,login_uri,login_username,login_password,login_totp\n\
        Team,login,Shared,,,0,,zed,pw,JBSWY3DPEHPK3PXP\n\
        Team,login,Short row\n";
    let p = parse_csv(org.as_bytes()).unwrap();
    assert_eq!(p.entries.len(), 1);
    assert_eq!(p.entries[0].name, "zed");
    assert_eq!(p.skipped[0].entry, "1 other item");
    assert!(matches!(
        parse_csv(b"name,login_username\nx,y\n"),
        Err(TransferError::Malformed { .. })
    ));
}

// --- password-protected exports ----------------------------------------------------

pub(crate) enum FixtureKdf {
    Pbkdf2(u32),
    Argon2id {
        iterations: u32,
        memory_mib: u32,
        parallelism: u32,
    },
}

fn b64(bytes: &[u8]) -> String {
    data_encoding::BASE64.encode(bytes)
}

/// RFC 5869 HKDF-Expand for one block, written out with HMAC (an independent check of
/// the parser's `ring::hkdf` use): T(1) = HMAC(PRK, info || 0x01).
fn hkdf_expand_one_block(prk: &[u8], info: &[u8]) -> [u8; 32] {
    let mut input = info.to_vec();
    input.push(1);
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, prk), &input);
    tag.as_ref().try_into().unwrap()
}

/// `2.iv|ct|mac`: AES-256-CBC/PKCS#7 under `enc`, HMAC-SHA256(iv || ct) under `mac`.
fn enc_string(plain: &[u8], enc: &[u8; 32], mac: &[u8; 32], iv: [u8; 16]) -> String {
    let mut buffer = vec![0u8; plain.len() + 16];
    buffer[..plain.len()].copy_from_slice(plain);
    let ct = cbc::Encryptor::<aes::Aes256>::new_from_slices(enc, &iv)
        .unwrap()
        .encrypt_padded_mut::<Pkcs7>(&mut buffer, plain.len())
        .unwrap()
        .to_vec();
    let mut signed = iv.to_vec();
    signed.extend_from_slice(&ct);
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, mac), &signed);
    format!("2.{}|{}|{}", b64(&iv), b64(&ct), b64(tag.as_ref()))
}

/// A password-protected export of `plain_json`, as Bitwarden's exporter writes it.
pub(crate) fn protected_export(plain_json: &str, password: &str, kdf: &FixtureKdf) -> String {
    // Bitwarden's salt is random bytes in base64; the KDF takes the string's bytes.
    let salt = b64(&[7u8; 16]);
    let mut master = [0u8; 32];
    let mut file = serde_json::json!({
        "encrypted": true,
        "passwordProtected": true,
        "salt": salt,
    });
    match *kdf {
        FixtureKdf::Pbkdf2(iterations) => {
            pbkdf2::derive(
                pbkdf2::PBKDF2_HMAC_SHA256,
                NonZeroU32::new(iterations).unwrap(),
                salt.as_bytes(),
                password.as_bytes(),
                &mut master,
            );
            file["kdfType"] = 0.into();
            file["kdfIterations"] = iterations.into();
        }
        FixtureKdf::Argon2id {
            iterations,
            memory_mib,
            parallelism,
        } => {
            let params =
                argon2::Params::new(memory_mib * 1024, iterations, parallelism, Some(32)).unwrap();
            let hashed_salt = digest::digest(&digest::SHA256, salt.as_bytes());
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
                .hash_password_into(password.as_bytes(), hashed_salt.as_ref(), &mut master)
                .unwrap();
            file["kdfType"] = 1.into();
            file["kdfIterations"] = iterations.into();
            file["kdfMemory"] = memory_mib.into();
            file["kdfParallelism"] = parallelism.into();
        }
    }
    let enc = hkdf_expand_one_block(&master, b"enc");
    let mac = hkdf_expand_one_block(&master, b"mac");
    file["encKeyValidation_DO_NOT_EDIT"] =
        enc_string(b"9b3c7e1a-4f0d-4c8e-a2b5-6d1f0e9a8c7b", &enc, &mac, [1; 16]).into();
    file["data"] = enc_string(plain_json.as_bytes(), &enc, &mac, [2; 16]).into();
    file.to_string()
}

#[test]
fn protected_pbkdf2_export_opens_with_its_password_only() {
    let file = protected_export(&plain_export(), PASSWORD, &FixtureKdf::Pbkdf2(5000));
    check_plain(&parse(file.as_bytes(), Some(PASSWORD)).unwrap());
    assert_eq!(
        parse(file.as_bytes(), Some("wrong")).unwrap_err(),
        TransferError::WrongPassword
    );
    assert_eq!(
        parse(file.as_bytes(), None).unwrap_err(),
        TransferError::PasswordRequired
    );
    assert_eq!(
        parse(file.as_bytes(), Some("")).unwrap_err(),
        TransferError::PasswordRequired
    );
}

#[test]
fn protected_argon2id_export_opens_with_its_password_only() {
    let kdf = FixtureKdf::Argon2id {
        iterations: 2,
        memory_mib: 1,
        parallelism: 2,
    };
    let file = protected_export(&plain_export(), PASSWORD, &kdf);
    check_plain(&parse(file.as_bytes(), Some(PASSWORD)).unwrap());
    assert_eq!(
        parse(file.as_bytes(), Some("wrong")).unwrap_err(),
        TransferError::WrongPassword
    );
}

#[test]
fn protected_export_with_bitwardens_default_pbkdf2_setting() {
    let file = protected_export(&plain_export(), PASSWORD, &FixtureKdf::Pbkdf2(600_000));
    check_plain(&parse(file.as_bytes(), Some(PASSWORD)).unwrap());
}

#[test]
fn protected_export_with_bitwardens_default_argon2id_setting() {
    // 3 passes, 64 MiB, 4 lanes.
    let kdf = FixtureKdf::Argon2id {
        iterations: 3,
        memory_mib: 64,
        parallelism: 4,
    };
    let file = protected_export(&plain_export(), PASSWORD, &kdf);
    check_plain(&parse(file.as_bytes(), Some(PASSWORD)).unwrap());
}

fn edited(file: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut v: serde_json::Value = serde_json::from_str(file).unwrap();
    edit(&mut v);
    v.to_string()
}

fn reason(result: Result<ParsedFile, TransferError>) -> String {
    match result {
        Err(TransferError::Malformed { format, reason }) => {
            assert_eq!(format, "bitwarden");
            reason
        }
        other => panic!(
            "expected Malformed, got {:?}",
            other.map(|p| p.entries.len())
        ),
    }
}

#[test]
fn hostile_kdf_parameters_are_refused_before_any_work() {
    let file = protected_export(&plain_export(), PASSWORD, &FixtureKdf::Pbkdf2(5000));
    for (field, value, words) in [
        (
            "kdfIterations",
            serde_json::json!(10_000_001),
            "out of range",
        ),
        ("kdfIterations", serde_json::json!(0), "out of range"),
        ("kdfIterations", serde_json::json!(-5), "line"),
        ("kdfType", serde_json::json!(7), "unknown key derivation"),
    ] {
        let f = edited(&file, |v| v[field] = value);
        assert!(
            reason(parse(f.as_bytes(), Some(PASSWORD))).contains(words),
            "{field}"
        );
    }
    let argon = |memory: u32, iterations: u32, parallelism: u32| {
        edited(&file, |v| {
            v["kdfType"] = 1.into();
            v["kdfMemory"] = memory.into();
            v["kdfIterations"] = iterations.into();
            v["kdfParallelism"] = parallelism.into();
        })
    };
    for f in [
        argon(1025, 3, 4),
        argon(64, 21, 4),
        argon(64, 3, 17),
        argon(0, 3, 4),
    ] {
        assert!(reason(parse(f.as_bytes(), Some(PASSWORD))).contains("out of range"));
    }
    let f = edited(&file, |v| {
        v["kdfType"] = 1.into();
        v["kdfIterations"] = 3.into();
    });
    assert!(reason(parse(f.as_bytes(), Some(PASSWORD))).contains("missing"));
}

#[test]
fn broken_enc_strings_are_malformed_and_a_changed_data_mac_is_not_a_wrong_password() {
    let file = protected_export(&plain_export(), PASSWORD, &FixtureKdf::Pbkdf2(5000));
    for bad in [
        "",
        "2.",
        "2.AAAA|BBBB",
        "2.a|b|c|d",
        "3.AAAAAAAAAAAAAAAAAAAAAA==|AAAA|AAAA",
        "2.!!|AAAA|AAAA",
        "2.AAAA|AAAA|AAAA",
        "0.AAAAAAAAAAAAAAAAAAAAAA==|AAAAAAAAAAAAAAAAAAAAAA==",
    ] {
        let f = edited(&file, |v| v["data"] = bad.into());
        reason(parse(f.as_bytes(), Some(PASSWORD)));
    }
    let data = serde_json::from_str::<serde_json::Value>(&file).unwrap()["data"]
        .as_str()
        .unwrap()
        .to_string();
    let (head, mac) = data.rsplit_once('|').unwrap();
    let mut mac = data_encoding::BASE64.decode(mac.as_bytes()).unwrap();
    mac[0] ^= 1;
    let f = edited(&file, |v| {
        v["data"] = format!("{head}|{}", b64(&mac)).into()
    });
    assert!(reason(parse(f.as_bytes(), Some(PASSWORD))).contains("damaged"));
}

#[test]
fn a_matching_mac_over_a_broken_ciphertext_is_a_padding_error() {
    let keys = Keys {
        encryption: Zeroizing::new([3; 32]),
        mac: hmac::Key::new(hmac::HMAC_SHA256, &[4; 32]),
    };
    for ciphertext in [vec![1u8, 2, 3], vec![0u8; 32]] {
        let mut signed = vec![5u8; 16];
        signed.extend_from_slice(&ciphertext);
        let mac = hmac::sign(&keys.mac, &signed).as_ref().try_into().unwrap();
        let s = EncString {
            iv: [5; 16],
            ciphertext,
            mac,
        };
        assert!(matches!(keys.open(&s), Err(OpenError::Padding)));
    }
}

#[test]
fn account_encrypted_exports_are_refused_with_the_way_out() {
    let file = serde_json::json!({
        "encrypted": true,
        "encKeyValidation_DO_NOT_EDIT": "2.AAAA|BBBB|CCCC",
        "folders": [],
        "items": [{"type": 1, "name": "2.xx|yy|zz", "login": {"totp": "2.aa|bb|cc"}}]
    })
    .to_string();
    let r = reason(parse(file.as_bytes(), Some(PASSWORD)));
    assert!(
        r.contains("account key") && r.contains("file password"),
        "{r}"
    );
    assert_eq!(detect(file.as_bytes()), Some(ImportFormat::Bitwarden));
}

#[test]
fn not_an_export_is_malformed_without_quoting_the_file() {
    let r = reason(parse(
        br#"{"items": [{"name": "secret-ish", "login": 5}]}"#,
        None,
    ));
    assert!(!r.contains("secret-ish"), "{r}");
    reason(parse(b"{\"encrypted\": false}", None));
    reason(parse(b"[1,2]", None));
    reason(parse(b"\xff\xfe", None));
    assert!(parse_csv(b"\xff").is_err());
}

#[test]
fn every_variant_is_detected_and_parsed_through_parse_file() {
    let plain = plain_export();
    let protected = protected_export(&plain, PASSWORD, &FixtureKdf::Pbkdf2(5000));
    for file in [&plain, &protected] {
        assert_eq!(detect(file.as_bytes()), Some(ImportFormat::Bitwarden));
        let (format, p) = parse_file(file.as_bytes(), None, Some(PASSWORD)).unwrap();
        assert_eq!(format, ImportFormat::Bitwarden);
        check_plain(&p);
    }
    assert_eq!(
        detect(CSV_EXPORT.as_bytes()),
        Some(ImportFormat::BitwardenCsv)
    );
    let (format, p) = parse_file(CSV_EXPORT.as_bytes(), None, None).unwrap();
    assert_eq!((format, p.entries.len()), (ImportFormat::BitwardenCsv, 3));
}

/// Writes the fuzz seeds (`cargo test ... write_bitwarden_fuzz_seeds -- --ignored`).
#[test]
#[ignore = "writes files into fuzz/seeds"]
fn write_bitwarden_fuzz_seeds() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds");
    let json = root.join("import_bitwarden");
    std::fs::create_dir_all(&json).unwrap();
    let plain = plain_export();
    std::fs::write(json.join("plain.json"), &plain).unwrap();
    let small = serde_json::json!({"encrypted": false, "items": [
        {"type": 1, "name": "GitHub", "login": {"username": "alice", "totp": "JBSWY3DPEHPK3PXP"}}
    ]})
    .to_string();
    // Cheap KDF settings: a fuzzer runs the KDF on every input.
    std::fs::write(
        json.join("protected_pbkdf2.json"),
        protected_export(&small, "fuzz", &FixtureKdf::Pbkdf2(1)),
    )
    .unwrap();
    std::fs::write(
        json.join("protected_argon2id.json"),
        protected_export(
            &small,
            "fuzz",
            &FixtureKdf::Argon2id {
                iterations: 1,
                memory_mib: 1,
                parallelism: 1,
            },
        ),
    )
    .unwrap();
    std::fs::write(
        json.join("account_encrypted.json"),
        r#"{"encrypted":true,"encKeyValidation_DO_NOT_EDIT":"2.AAAA|BBBB|CCCC","items":[]}"#,
    )
    .unwrap();
    let csv = root.join("import_bitwarden_csv");
    std::fs::create_dir_all(&csv).unwrap();
    std::fs::write(csv.join("export.csv"), CSV_EXPORT).unwrap();
}

/// The fuzz seeds of the three import targets (Bitwarden JSON and CSV, Ente) through the
/// targets' entry point: they open with their password "fuzz", and without it (as the
/// targets run) they stop at the password, past every check before the key derivation.
#[test]
fn import_fuzz_seeds_open_with_their_password_and_stop_at_it_without() {
    use crate::error::AuthenticatorError;
    use crate::fuzz_support::import_file;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds");
    for (target, format) in [
        ("import_bitwarden", "bitwarden"),
        ("import_bitwarden_csv", "bitwarden-csv"),
        ("import_ente", "ente"),
    ] {
        let seeds: Vec<_> = std::fs::read_dir(root.join(target))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(!seeds.is_empty(), "{target}");
        for path in seeds {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let bytes = std::fs::read(&path).unwrap();
            let opened = import_file(&bytes, Some(format), Some("fuzz"));
            let unopened = import_file(&bytes, Some(format), None);
            if name.starts_with("account_encrypted") {
                assert!(
                    matches!(opened, Err(AuthenticatorError::InvalidFile { .. })),
                    "{target}/{name}: {opened:?}"
                );
                continue;
            }
            let accounts = opened.unwrap();
            assert!(accounts >= 1, "{target}/{name}");
            if name.starts_with("protected") || name.starts_with("encrypted") {
                match unopened {
                    Err(AuthenticatorError::PasswordRequired) => {}
                    other => panic!("{target}/{name}: {other:?}"),
                }
            } else {
                assert_eq!(unopened.unwrap(), accounts, "{target}/{name}");
            }
        }
    }
}
