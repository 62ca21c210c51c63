//! Test fixtures for the Aegis reader and writers: vault files built by hand from
//! Aegis' `docs/vault.md` and its `VaultFile`/`Slot`/`VaultEntry` source (content
//! versions 1, 2 and 3, plain and encrypted, with password, raw and biometric slots),
//! sealed with direct `scrypt` and `ring` calls, and an independent decryptor that reads
//! what the writers produce the way vault.md (and its decrypt.py) says to.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::aegis::{self, PasswordSlot};
use super::{detect, parse_file, ImportFormat, OtpEntry, TransferError};
use crate::otp::{AccountKind, Algorithm};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::{json, Value};
use zeroize::Zeroizing;

/// `JBSWY3DPEHPK3PXP`: the bytes of "Hello!\xde\xad\xbe\xef".
const SECRET_B32: &str = "JBSWY3DPEHPK3PXP";
const SECRET: &[u8] = b"Hello!\xde\xad\xbe\xef";
const PASSWORD: &str = "correct horse battery staple";
/// Cheap scrypt for fixtures (N = 2^10).
const CHEAP_LOG_N: u8 = 10;

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    SystemRandom::new().fill(&mut b).unwrap();
    b
}

fn hex(b: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(b)
}

fn unhex(s: &str) -> Vec<u8> {
    data_encoding::HEXLOWER_PERMISSIVE
        .decode(s.as_bytes())
        .unwrap()
}

/// AES-256-GCM as Aegis' `CryptoUtils.encrypt`: ciphertext and tag kept apart.
fn seal(key: &[u8], plain: &[u8]) -> (Vec<u8>, [u8; 12], Vec<u8>) {
    let nonce: [u8; 12] = random();
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).unwrap());
    let mut data = plain.to_vec();
    let tag = key
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut data)
        .unwrap();
    (data, nonce, tag.as_ref().to_vec())
}

fn open(key: &[u8], nonce: &[u8], ciphertext: &[u8], tag: &[u8]) -> Option<Vec<u8>> {
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).ok()?);
    let mut data = [ciphertext, tag].concat();
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let len = key
        .open_in_place(nonce, Aad::empty(), &mut data)
        .ok()?
        .len();
    data.truncate(len);
    Some(data)
}

fn scrypt32(password: &[u8], salt: &[u8], log_n: u8, r: u32, p: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    scrypt::scrypt(
        password,
        salt,
        &scrypt::Params::new(log_n, r, p).unwrap(),
        &mut out,
    )
    .unwrap();
    out
}

/// One header slot of a fixture.
enum SlotSpec {
    /// Type 1: scrypt of the password (log2 N, r, p) wraps the master key.
    Password(&'static str, u8, u32, u32),
    /// Type 0: a raw AES key.
    Raw,
    /// Type 2: a key in the Android KeyStore (here: random, lost).
    Biometric,
}

fn slot_json(spec: &SlotSpec, master: &[u8; 32]) -> Value {
    let uuid = "a8325752-c1be-458a-9b3e-5e0a8154d9ec";
    match spec {
        SlotSpec::Password(password, log_n, r, p) => {
            let salt: [u8; 32] = random();
            let key = scrypt32(password.as_bytes(), &salt, *log_n, *r, *p);
            let (wrapped, nonce, tag) = seal(&key, master);
            json!({
                "type": 1, "uuid": uuid, "key": hex(&wrapped),
                "key_params": {"nonce": hex(&nonce), "tag": hex(&tag)},
                "n": 1u64 << log_n, "r": r, "p": p, "salt": hex(&salt), "repaired": true
            })
        }
        SlotSpec::Raw | SlotSpec::Biometric => {
            let key: [u8; 32] = random();
            let (wrapped, nonce, tag) = seal(&key, master);
            json!({
                "type": if matches!(spec, SlotSpec::Raw) { 0 } else { 2 },
                "uuid": uuid, "key": hex(&wrapped),
                "key_params": {"nonce": hex(&nonce), "tag": hex(&tag)}
            })
        }
    }
}

/// A plain vault file (`header.slots` and `params` null, `db` an object).
pub(super) fn plain_vault(db: &Value) -> Vec<u8> {
    serde_json::to_vec_pretty(&json!({
        "version": 1,
        "header": {"slots": null, "params": null},
        "db": db
    }))
    .unwrap()
}

/// An encrypted vault: a random master key seals the content (its JSON text) and each
/// slot seals the master key; `db` is the base64 ciphertext. `java_slashes` writes `/`
/// as `\/` in the base64, as Android's org.json does.
fn encrypted_vault(db: &Value, slots: &[SlotSpec], java_slashes: bool) -> Vec<u8> {
    let master: [u8; 32] = random();
    let content = serde_json::to_vec_pretty(db).unwrap();
    let (sealed, nonce, tag) = seal(&master, &content);
    let file = json!({
        "version": 1,
        "header": {
            "slots": slots.iter().map(|s| slot_json(s, &master)).collect::<Vec<_>>(),
            "params": {"nonce": hex(&nonce), "tag": hex(&tag)}
        },
        "db": data_encoding::BASE64.encode(&sealed)
    });
    let text = serde_json::to_string_pretty(&file).unwrap();
    if java_slashes {
        text.replace('/', "\\/").into_bytes()
    } else {
        text.into_bytes()
    }
}

fn info(secret: &str, algo: &str, digits: u32, period: Option<u32>, counter: Option<u64>) -> Value {
    let mut i = json!({"secret": secret, "algo": algo, "digits": digits});
    if let Some(p) = period {
        i["period"] = json!(p);
    }
    if let Some(c) = counter {
        i["counter"] = json!(c);
    }
    i
}

/// The accounts every version's fixture holds: TOTP, HOTP (counter 42), Steam.
fn good_infos() -> Vec<(&'static str, &'static str, &'static str, Value)> {
    vec![
        (
            "totp",
            "GitHub",
            "alice",
            info(SECRET_B32, "SHA1", 6, Some(30), None),
        ),
        (
            "hotp",
            "Bank",
            "bob",
            info(SECRET_B32, "SHA256", 8, None, Some(42)),
        ),
        (
            "steam",
            "Steam",
            "carol",
            info(SECRET_B32, "SHA1", 5, Some(30), None),
        ),
        (
            "totp",
            "Cloud",
            "dave",
            info(SECRET_B32, "SHA512", 7, Some(60), None),
        ),
    ]
}

/// Content version 1: a `group` name per entry, `icon` (JPEG base64 or null), no
/// `icon_mime`, `note` or `favorite`, no group list.
pub(super) fn db_v1() -> Value {
    let entries: Vec<Value> = good_infos()
        .into_iter()
        .enumerate()
        .map(|(i, (t, issuer, name, info))| {
            json!({
                "type": t, "uuid": format!("00000000-0000-4000-8000-00000000000{i}"),
                "name": name, "issuer": issuer,
                "group": if i == 0 { json!("Work") } else { Value::Null },
                "icon": if i == 1 { json!("/9j/4AAQSkZJRg==") } else { Value::Null },
                "info": info
            })
        })
        .collect();
    json!({"version": 1, "entries": entries})
}

/// Content version 2: `icon_mime` added, `note` and `favorite` present, still `group`.
pub(super) fn db_v2() -> Value {
    let entries: Vec<Value> = good_infos()
        .into_iter()
        .enumerate()
        .map(|(i, (t, issuer, name, info))| {
            json!({
                "type": t, "uuid": format!("00000000-0000-4000-8000-00000000001{i}"),
                "name": name, "issuer": issuer, "note": "a note", "favorite": i == 2,
                "icon": null, "icon_mime": null, "group": "Personal", "info": info
            })
        })
        .collect();
    json!({"version": 2, "entries": entries})
}

/// Content version 3: group UUIDs in `groups`, a group list, `icon_hash`, and
/// `icons_optimized`.
pub(super) fn db_v3() -> Value {
    let group = "11111111-2222-4333-8444-555555555555";
    let entries: Vec<Value> = good_infos()
        .into_iter()
        .enumerate()
        .map(|(i, (t, issuer, name, info))| {
            let (icon, mime, hash) = if i == 3 {
                (
                    json!("PHN2Zz48L3N2Zz4="),
                    json!("image/svg+xml"),
                    json!(hex(&[7; 32])),
                )
            } else {
                (Value::Null, Value::Null, Value::Null)
            };
            json!({
                "type": t, "uuid": format!("00000000-0000-4000-8000-00000000002{i}"),
                "name": name, "issuer": issuer, "note": "", "favorite": false,
                "icon": icon, "icon_mime": mime, "icon_hash": hash, "info": info,
                "groups": if i == 0 { json!([group]) } else { json!([]) }
            })
        })
        .collect();
    json!({
        "version": 3, "entries": entries,
        "groups": [{"uuid": group, "name": "Work"}],
        "icons_optimized": true
    })
}

/// Content version 3 with one good entry among bad ones.
fn db_with_bad_entries() -> Value {
    let e = |t: &str, issuer: &str, info: Value| {
        json!({"type": t, "uuid": "00000000-0000-4000-8000-000000000000",
               "name": "x", "issuer": issuer, "info": info, "groups": []})
    };
    let mut motp = info(SECRET_B32, "MD5", 6, Some(10), None);
    motp["pin"] = json!("1234");
    let mut yandex = info(SECRET_B32, "SHA256", 8, Some(30), None);
    yandex["pin"] = json!("123456");
    json!({"version": 3, "groups": [], "entries": [
        e("motp", "MOTP", motp),
        e("yandex", "Yandex", yandex),
        e("totp", "ZeroDigits", info(SECRET_B32, "SHA1", 0, Some(30), None)),
        e("totp", "ZeroPeriod", info(SECRET_B32, "SHA1", 6, Some(0), None)),
        e("totp", "Sha384", info(SECRET_B32, "SHA384", 6, Some(30), None)),
        e("totp", "BadSecret", info("NOT*BASE32!", "SHA1", 6, Some(30), None)),
        e("hotp", "NegativeCounter", json!({"secret": SECRET_B32, "algo": "SHA1", "digits": 6, "counter": -1})),
        e("foo", "UnknownType", info(SECRET_B32, "SHA1", 6, Some(30), None)),
        json!(17),
        json!({"type": "totp", "name": "x", "issuer": "NoInfo"}),
        e("totp", "NumberSecret", json!({"secret": 12345, "algo": "SHA1", "digits": 6, "period": 30})),
        e("totp", "Good", info(SECRET_B32, "MD5", 6, Some(30), None)),
    ]})
}

fn export_entries() -> Vec<OtpEntry> {
    let e = |kind, issuer: &str, name: &str, algorithm, digits, period, counter| OtpEntry {
        kind,
        issuer: issuer.into(),
        name: name.into(),
        secret: Zeroizing::new(SECRET.to_vec()),
        algorithm,
        digits,
        period,
        counter,
        policy: Default::default(),
        serial: None,
    };
    vec![
        e(
            AccountKind::Totp,
            "GitHub",
            "alice",
            Algorithm::Sha1,
            6,
            30,
            0,
        ),
        e(
            AccountKind::Hotp,
            "Bank",
            "bob",
            Algorithm::Sha256,
            8,
            30,
            42,
        ),
        e(
            AccountKind::Steam,
            "Steam",
            "carol",
            Algorithm::Sha1,
            5,
            30,
            0,
        ),
        e(
            AccountKind::Totp,
            "Ünïcode \"q\"",
            "d/ave",
            Algorithm::Sha512,
            7,
            60,
            0,
        ),
    ]
}

fn cheap_slot() -> PasswordSlot {
    PasswordSlot::derive_with_cost(PASSWORD, CHEAP_LOG_N, 8, 1).unwrap()
}

fn assert_same_accounts(parsed: &super::ParsedFile, expected: &[OtpEntry]) {
    assert!(parsed.refused.is_empty(), "{:?}", parsed.refused);
    assert_eq!(parsed.entries.len(), expected.len());
    for (got, want) in parsed.entries.iter().zip(expected) {
        assert_eq!(got.kind, want.kind);
        assert_eq!(got.issuer, want.issuer);
        assert_eq!(got.name, want.name);
        assert_eq!(&got.secret[..], &want.secret[..]);
        assert_eq!(got.algorithm, want.algorithm);
        assert_eq!(got.digits, want.digits);
        assert_eq!(got.period, want.period);
        assert_eq!(got.counter, want.counter);
    }
}

/// The accounts of `good_infos`, as imported.
fn assert_good_accounts(parsed: &super::ParsedFile) {
    assert!(parsed.refused.is_empty(), "{:?}", parsed.refused);
    assert!(parsed.skipped.is_empty());
    let got: Vec<_> = parsed
        .entries
        .iter()
        .map(|e| {
            (
                e.kind,
                e.issuer.as_str(),
                e.name.as_str(),
                e.algorithm,
                e.digits,
                e.period,
                e.counter,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                AccountKind::Totp,
                "GitHub",
                "alice",
                Algorithm::Sha1,
                6,
                30,
                0
            ),
            (
                AccountKind::Hotp,
                "Bank",
                "bob",
                Algorithm::Sha256,
                8,
                30,
                42
            ),
            (
                AccountKind::Steam,
                "Steam",
                "carol",
                Algorithm::Sha1,
                5,
                30,
                0
            ),
            (
                AccountKind::Totp,
                "Cloud",
                "dave",
                Algorithm::Sha512,
                7,
                60,
                0
            ),
        ]
    );
    assert!(parsed.entries.iter().all(|e| &e.secret[..] == SECRET));
}

fn parse_aegis(bytes: &[u8], password: Option<&str>) -> Result<super::ParsedFile, TransferError> {
    let (format, parsed) = parse_file(bytes, None, password)?;
    assert_eq!(format, ImportFormat::Aegis);
    Ok(parsed)
}

fn malformed_reason(r: Result<super::ParsedFile, TransferError>) -> String {
    match r {
        Err(TransferError::Malformed { format, reason }) => {
            assert_eq!(format, "aegis");
            reason
        }
        other => panic!(
            "expected Malformed, got {:?}",
            other.map(|p| p.entries.len())
        ),
    }
}

// ----- reading every version -------------------------------------------------------------

#[test]
fn plain_vaults_of_every_content_version() {
    for db in [db_v1(), db_v2(), db_v3()] {
        let file = plain_vault(&db);
        assert_eq!(detect(&file), Some(ImportFormat::Aegis));
        // No password needed, and one given is ignored.
        assert_good_accounts(&parse_aegis(&file, None).unwrap());
        assert_good_accounts(&parse_aegis(&file, Some("unused")).unwrap());
    }
}

#[test]
fn encrypted_vaults_of_every_content_version() {
    for (db, java_slashes) in [(db_v1(), false), (db_v2(), true), (db_v3(), false)] {
        let file = encrypted_vault(
            &db,
            &[SlotSpec::Password(PASSWORD, CHEAP_LOG_N, 8, 1)],
            java_slashes,
        );
        assert_eq!(detect(&file), Some(ImportFormat::Aegis));
        assert_good_accounts(&parse_aegis(&file, Some(PASSWORD)).unwrap());
    }
}

#[test]
fn an_encrypted_vault_needs_the_right_password() {
    let file = encrypted_vault(
        &db_v3(),
        &[SlotSpec::Password(PASSWORD, CHEAP_LOG_N, 8, 1)],
        false,
    );
    assert_eq!(
        parse_aegis(&file, None).unwrap_err(),
        TransferError::PasswordRequired
    );
    let wrong = parse_aegis(&file, Some("wrong password")).unwrap_err();
    assert_eq!(wrong, TransferError::WrongPassword);
    assert!(!format!("{wrong:?} {wrong}").contains("wrong password"));
}

#[test]
fn biometric_and_raw_slots_are_passed_over_and_every_password_slot_tried() {
    // Biometric first, then a regular password slot and a backup password slot.
    let file = encrypted_vault(
        &db_v3(),
        &[
            SlotSpec::Biometric,
            SlotSpec::Raw,
            SlotSpec::Password("the regular one", CHEAP_LOG_N, 8, 1),
            SlotSpec::Password(PASSWORD, CHEAP_LOG_N - 1, 8, 2),
        ],
        false,
    );
    assert_good_accounts(&parse_aegis(&file, Some(PASSWORD)).unwrap());
    assert_good_accounts(&parse_aegis(&file, Some("the regular one")).unwrap());
    assert_eq!(
        parse_aegis(&file, Some("neither")).unwrap_err(),
        TransferError::WrongPassword
    );
}

#[test]
fn a_vault_without_password_slot_says_so() {
    for slots in [
        vec![SlotSpec::Raw],
        vec![SlotSpec::Biometric],
        vec![SlotSpec::Raw, SlotSpec::Biometric],
        vec![],
    ] {
        let file = encrypted_vault(&db_v3(), &slots, false);
        let reason = malformed_reason(parse_aegis(&file, Some(PASSWORD)));
        assert!(reason.contains("no password slot"), "{reason}");
        // Without a password the answer is still "a password is needed".
        assert_eq!(
            parse_aegis(&file, None).unwrap_err(),
            TransferError::PasswordRequired
        );
    }
}

#[test]
fn hostile_scrypt_costs_are_refused_without_running_them() {
    let file = encrypted_vault(
        &db_v3(),
        &[SlotSpec::Password(PASSWORD, CHEAP_LOG_N, 8, 1)],
        false,
    );
    for (n, r, p) in [
        (1u64 << 30, 8, 1),
        (1 << 20, 8, 1),
        (1 << 15, 8, 1000),
        (1000, 8, 1),
    ] {
        let mut v: Value = serde_json::from_slice(&file).unwrap();
        v["header"]["slots"][0]["n"] = json!(n);
        v["header"]["slots"][0]["r"] = json!(r);
        v["header"]["slots"][0]["p"] = json!(p);
        let started = std::time::Instant::now();
        let reason = malformed_reason(parse_aegis(
            &serde_json::to_vec(&v).unwrap(),
            Some(PASSWORD),
        ));
        assert!(reason.contains("scrypt"), "{reason}");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }
    // Slots each within the limit, together above the file's budget.
    let mut v: Value = serde_json::from_slice(&encrypted_vault(
        &db_v3(),
        &[
            SlotSpec::Password(PASSWORD, 4, 8, 1),
            SlotSpec::Password(PASSWORD, 4, 8, 1),
            SlotSpec::Password(PASSWORD, 4, 8, 1),
        ],
        false,
    ))
    .unwrap();
    for slot in v["header"]["slots"].as_array_mut().unwrap() {
        slot["n"] = json!(1u64 << 18);
        slot["p"] = json!(4);
    }
    let started = std::time::Instant::now();
    let reason = malformed_reason(parse_aegis(
        &serde_json::to_vec(&v).unwrap(),
        Some(PASSWORD),
    ));
    assert!(reason.contains("together"), "{reason}");
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    // A too costly slot does not stop another slot that the password opens.
    let mut v: Value = serde_json::from_slice(&encrypted_vault(
        &db_v3(),
        &[
            SlotSpec::Password("other", CHEAP_LOG_N, 8, 1),
            SlotSpec::Password(PASSWORD, CHEAP_LOG_N, 8, 1),
        ],
        false,
    ))
    .unwrap();
    v["header"]["slots"][0]["n"] = json!(1u64 << 40);
    assert_good_accounts(&parse_aegis(&serde_json::to_vec(&v).unwrap(), Some(PASSWORD)).unwrap());
}

#[test]
fn damaged_encrypted_vaults_are_malformed_not_wrong_password() {
    let file = encrypted_vault(
        &db_v3(),
        &[SlotSpec::Password(PASSWORD, CHEAP_LOG_N, 8, 1)],
        false,
    );
    let base: Value = serde_json::from_slice(&file).unwrap();

    // The content's ciphertext changed: the slot opens, the content does not.
    let mut v = base.clone();
    let mut sealed = data_encoding::BASE64
        .decode(v["db"].as_str().unwrap().as_bytes())
        .unwrap();
    sealed[0] ^= 1;
    v["db"] = json!(data_encoding::BASE64.encode(&sealed));
    let reason = malformed_reason(parse_aegis(
        &serde_json::to_vec(&v).unwrap(),
        Some(PASSWORD),
    ));
    assert!(reason.contains("damaged"), "{reason}");

    type Damage = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Damage)> = vec![
        ("base64", Box::new(|v| v["db"] = json!("not base64 !!"))),
        (
            "nonce",
            Box::new(|v| v["header"]["params"]["nonce"] = json!("abcd")),
        ),
        ("tag", Box::new(|v| v["header"]["params"]["tag"] = json!(5))),
        (
            "salt",
            Box::new(|v| v["header"]["slots"][0]["salt"] = json!("zz")),
        ),
        (
            "key",
            Box::new(|v| v["header"]["slots"][0]["key"] = json!("00")),
        ),
        (
            "scrypt",
            Box::new(|v| v["header"]["slots"][0]["n"] = json!("x")),
        ),
        (
            "content",
            Box::new(|v| v["db"] = json!({"version": 3, "entries": []})),
        ),
        ("neither", Box::new(|v| v["header"]["params"] = Value::Null)),
    ];
    for (word, damage) in cases {
        let mut v = base.clone();
        damage(&mut v);
        let reason = malformed_reason(parse_aegis(
            &serde_json::to_vec(&v).unwrap(),
            Some(PASSWORD),
        ));
        assert!(reason.contains(word), "{word}: {reason}");
    }
}

#[test]
fn bad_entries_are_refused_by_name_and_the_rest_imports() {
    for file in [
        plain_vault(&db_with_bad_entries()),
        encrypted_vault(
            &db_with_bad_entries(),
            &[SlotSpec::Password(PASSWORD, CHEAP_LOG_N, 8, 1)],
            false,
        ),
    ] {
        let parsed = parse_aegis(&file, Some(PASSWORD)).unwrap();
        assert_eq!(parsed.entries.len(), 1);
        // Aegis' own rule: MD5 outside mOTP is read as SHA1.
        assert_eq!(parsed.entries[0].issuer, "Good");
        assert_eq!(parsed.entries[0].algorithm, Algorithm::Sha1);
        let refused: Vec<(&str, &str)> = parsed
            .refused
            .iter()
            .map(|r| (r.entry.as_str(), r.reason.as_str()))
            .collect();
        let expect_words = [
            ("MOTP: x", "motp"),
            ("Yandex: x", "yandex"),
            ("ZeroDigits: x", "digits"),
            ("ZeroPeriod: x", "period"),
            ("Sha384: x", "SHA384"),
            ("BadSecret: x", "base32"),
            ("NegativeCounter: x", "negative"),
            ("UnknownType: x", "foo"),
            ("entry 9", "not a JSON object"),
            ("NoInfo: x", "info"),
            ("NumberSecret: x", "secret"),
        ];
        assert_eq!(refused.len(), expect_words.len(), "{refused:?}");
        for ((entry, reason), (want_entry, word)) in refused.iter().zip(expect_words) {
            assert_eq!(*entry, want_entry);
            assert!(reason.contains(word), "{entry}: {reason}");
            assert!(!reason.contains(SECRET_B32), "{reason}");
        }
    }
}

#[test]
fn file_level_problems_are_malformed() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"{\"version\": 1}".to_vec(), "header"),
        (b"[1, 2]".to_vec(), "JSON"),
        (
            b"{\"version\": 1, \"header\": {\"slots\": null, \"params\": null}, \"db\": \"abc\"}"
                .to_vec(),
            "plain",
        ),
        (plain_vault(&json!({"version": 3})), "entry list"),
        (
            plain_vault(&json!({"version": 3, "entries": {"a": 1}})),
            "entry list",
        ),
        (
            plain_vault(&json!({"version": 4, "entries": []})),
            "content version 4",
        ),
        (plain_vault(&json!({"entries": []})), "content version"),
        (
            serde_json::to_vec(
                &json!({"version": 2, "header": {"slots": null, "params": null}, "db": db_v3()}),
            )
            .unwrap(),
            "vault version 2",
        ),
    ];
    for (file, word) in cases {
        let reason = malformed_reason(super::aegis::parse(&file, Some(PASSWORD)));
        assert!(reason.contains(word), "{word}: {reason}");
    }
    // A byte-order mark and an empty list are fine.
    let mut bom = "\u{feff}".as_bytes().to_vec();
    bom.extend(plain_vault(
        &json!({"version": 3, "entries": [], "groups": []}),
    ));
    assert!(super::aegis::parse(&bom, None).unwrap().entries.is_empty());
}

#[test]
fn no_input_panics() {
    // A few truncations and byte flips of real files (the fuzz target does many more).
    let files = [
        plain_vault(&db_v3()),
        encrypted_vault(&db_v1(), &[SlotSpec::Password(PASSWORD, 4, 8, 1)], true),
    ];
    for file in &files {
        for cut in (0..file.len()).step_by(37) {
            let _ = super::aegis::parse(&file[..cut], Some(PASSWORD));
        }
        for at in (0..file.len()).step_by(53) {
            let mut f = file.clone();
            f[at] ^= 0x20;
            let _ = super::aegis::parse(&f, Some(PASSWORD));
        }
    }
}

// ----- writing ---------------------------------------------------------------------------

#[test]
fn plain_export_round_trips_and_has_aegis_fields() {
    let entries = export_entries();
    let file = aegis::write_plain(&entries);
    assert_eq!(detect(&file), Some(ImportFormat::Aegis));
    assert_same_accounts(&parse_aegis(&file, None).unwrap(), &entries);
    let v: Value = serde_json::from_slice(&file).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["header"], json!({"slots": null, "params": null}));
    check_content_fields(&v["db"], &entries);
}

#[test]
fn encrypted_export_round_trips_with_hotp_counter() {
    let entries = export_entries();
    let slot = cheap_slot();
    let file = aegis::write_encrypted_with_slot(&entries, &slot).unwrap();
    assert_eq!(detect(&file), Some(ImportFormat::Aegis));
    let parsed = parse_aegis(&file, Some(PASSWORD)).unwrap();
    assert_same_accounts(&parsed, &entries);
    assert_eq!(parsed.entries[1].counter, 42);
    assert_eq!(
        parse_aegis(&file, Some("nope")).unwrap_err(),
        TransferError::WrongPassword
    );
    // The same slot again: a new master key, new nonces, the same salt.
    let again = aegis::write_encrypted_with_slot(&entries, &slot).unwrap();
    let (a, b): (Value, Value) = (
        serde_json::from_slice(&file).unwrap(),
        serde_json::from_slice(&again).unwrap(),
    );
    let (sa, sb) = (&a["header"]["slots"][0], &b["header"]["slots"][0]);
    assert_eq!(sa["salt"], sb["salt"]);
    assert_ne!(sa["key"], sb["key"]);
    assert_ne!(sa["key_params"]["nonce"], sb["key_params"]["nonce"]);
    assert_ne!(
        a["header"]["params"]["nonce"],
        b["header"]["params"]["nonce"]
    );
    assert_same_accounts(&parse_aegis(&again, Some(PASSWORD)).unwrap(), &entries);
}

#[test]
fn push_tokens_are_left_out_of_an_export() {
    let mut entries = export_entries();
    entries.push(OtpEntry {
        kind: AccountKind::Push,
        issuer: "privacyIDEA".into(),
        name: "PIPU0001".into(),
        secret: Zeroizing::new(vec![1, 2, 3]),
        algorithm: Algorithm::Sha1,
        digits: 6,
        period: 30,
        counter: 0,
        policy: Default::default(),
        serial: None,
    });
    let parsed = parse_aegis(&aegis::write_plain(&entries), None).unwrap();
    assert_eq!(parsed.entries.len(), 4);
    let shown = format!("{:?}", entries[0]);
    assert!(
        shown.contains("redacted") && !shown.contains("72, 101"),
        "{shown}"
    );
}

/// The independent decryptor: vault.md's steps (and decrypt.py's) with `scrypt` and
/// `ring` called directly, none of the code under test. Uses `write_encrypted`, so
/// Aegis' real scrypt cost (N = 2^15, r = 8, p = 1) is checked too.
#[test]
fn encrypted_export_opens_by_the_published_steps() {
    let entries = export_entries();
    let file = aegis::write_encrypted(&entries, PASSWORD).unwrap();
    let v: Value = serde_json::from_slice(&file).unwrap();
    assert_eq!(v["version"], 1);
    let header = &v["header"];
    let slots = header["slots"].as_array().unwrap();
    assert_eq!(slots.len(), 1);
    let slot = &slots[0];
    let mut keys: Vec<&str> = slot
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "is_backup",
            "key",
            "key_params",
            "n",
            "p",
            "r",
            "repaired",
            "salt",
            "type",
            "uuid"
        ]
    );
    assert_eq!(slot["type"], 1);
    assert_eq!(
        (slot["n"].as_u64(), slot["r"].as_u64(), slot["p"].as_u64()),
        (Some(32768), Some(8), Some(1))
    );
    assert_eq!(slot["repaired"], true);
    assert_eq!(slot["is_backup"], false);
    assert_uuid_v4(slot["uuid"].as_str().unwrap());

    // 1. scrypt(password UTF-8, salt, N, r, p) → 32-byte slot key.
    let salt = unhex(slot["salt"].as_str().unwrap());
    assert_eq!(salt.len(), 32);
    let n = slot["n"].as_u64().unwrap();
    let slot_key = scrypt32(
        PASSWORD.as_bytes(),
        &salt,
        n.trailing_zeros() as u8,
        slot["r"].as_u64().unwrap() as u32,
        slot["p"].as_u64().unwrap() as u32,
    );
    // 2. AES-256-GCM(slot key, key_params.nonce) opens key ‖ key_params.tag → master key.
    let key_nonce = unhex(slot["key_params"]["nonce"].as_str().unwrap());
    let key_tag = unhex(slot["key_params"]["tag"].as_str().unwrap());
    assert_eq!((key_nonce.len(), key_tag.len()), (12, 16));
    let master = open(
        &slot_key,
        &key_nonce,
        &unhex(slot["key"].as_str().unwrap()),
        &key_tag,
    )
    .expect("the slot opens with the password");
    assert_eq!(master.len(), 32);
    // 3. AES-256-GCM(master key, params.nonce) opens base64(db) ‖ params.tag.
    let db_nonce = unhex(header["params"]["nonce"].as_str().unwrap());
    let db_tag = unhex(header["params"]["tag"].as_str().unwrap());
    assert_eq!((db_nonce.len(), db_tag.len()), (12, 16));
    assert_ne!(db_nonce, key_nonce);
    let sealed = data_encoding::BASE64
        .decode(v["db"].as_str().unwrap().as_bytes())
        .unwrap();
    let content = open(&master, &db_nonce, &sealed, &db_tag).expect("the content opens");
    let db: Value = serde_json::from_slice(&content).unwrap();
    check_content_fields(&db, &entries);
    // A wrong password does not open the slot.
    let wrong = scrypt32(b"wrong", &salt, 15, 8, 1);
    assert!(open(
        &wrong,
        &key_nonce,
        &unhex(slot["key"].as_str().unwrap()),
        &key_tag
    )
    .is_none());
}

fn assert_uuid_v4(u: &str) {
    let parts: Vec<&str> = u.split('-').collect();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12],
        "{u}"
    );
    assert!(u
        .chars()
        .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert!(parts[2].starts_with('4'), "{u}");
    assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"), "{u}");
}

/// The content as Aegis' `Vault.toJson`/`VaultEntry.toJson`/`*Info.toJson` write it.
fn check_content_fields(db: &Value, entries: &[OtpEntry]) {
    assert_eq!(db["version"], 3);
    assert_eq!(db["groups"], json!([]));
    assert_eq!(db["icons_optimized"], true);
    let out = db["entries"].as_array().unwrap();
    assert_eq!(out.len(), entries.len());
    let mut uuids = std::collections::HashSet::new();
    for (e, want) in out.iter().zip(entries) {
        let mut keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["favorite", "groups", "icon", "info", "issuer", "name", "note", "type", "uuid"]
        );
        assert_uuid_v4(e["uuid"].as_str().unwrap());
        assert!(uuids.insert(e["uuid"].as_str().unwrap().to_string()));
        assert_eq!(e["name"], want.name.as_str());
        assert_eq!(e["issuer"], want.issuer.as_str());
        assert_eq!(e["note"], "");
        assert_eq!(e["favorite"], false);
        assert_eq!(e["icon"], Value::Null);
        assert_eq!(e["groups"], json!([]));
        let info = &e["info"];
        // Base32 without padding (Aegis' Base32.encode).
        assert_eq!(info["secret"], "JBSWY3DPEHPK3PXP");
        match want.kind {
            AccountKind::Totp => {
                assert_eq!(e["type"], "totp");
                assert_eq!(
                    info,
                    &json!({"secret": SECRET_B32, "algo": want.algorithm.as_str(),
                            "digits": want.digits, "period": want.period})
                );
            }
            AccountKind::Hotp => {
                assert_eq!(e["type"], "hotp");
                assert_eq!(
                    info,
                    &json!({"secret": SECRET_B32, "algo": want.algorithm.as_str(),
                            "digits": want.digits, "counter": want.counter})
                );
            }
            AccountKind::Steam => {
                assert_eq!(e["type"], "steam");
                assert_eq!(
                    info,
                    &json!({"secret": SECRET_B32, "algo": "SHA1", "digits": 5, "period": 30})
                );
            }
            AccountKind::Push => unreachable!(),
        }
    }
}

#[test]
fn exports_are_indented_like_aegis() {
    let file = String::from_utf8(aegis::write_plain(&export_entries())).unwrap();
    assert!(
        file.starts_with("{\n    \"version\": 1,\n    \"header\": {\n        \"slots\": null,"),
        "{file}"
    );
}

/// Writes the fuzz seeds (`fuzz/seeds/import_aegis/`) when AEGIS_WRITE_SEEDS is set.
#[test]
fn write_fuzz_seeds() {
    let Some(dir) = std::env::var_os("AEGIS_WRITE_SEEDS") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let fuzz_pw = "fuzz";
    let seeds: Vec<(&str, Vec<u8>)> = vec![
        ("plain_v1", plain_vault(&db_v1())),
        ("plain_v2", plain_vault(&db_v2())),
        ("plain_v3", plain_vault(&db_v3())),
        ("plain_bad_entries", plain_vault(&db_with_bad_entries())),
        (
            "encrypted_v3",
            encrypted_vault(
                &db_v3(),
                &[SlotSpec::Biometric, SlotSpec::Password(fuzz_pw, 4, 1, 1)],
                true,
            ),
        ),
        (
            "encrypted_raw_only",
            encrypted_vault(&db_v1(), &[SlotSpec::Raw], false),
        ),
        ("export_plain", aegis::write_plain(&export_entries())),
        (
            "export_encrypted",
            aegis::write_encrypted_with_slot(
                &export_entries(),
                &PasswordSlot::derive_with_cost(fuzz_pw, 4, 1, 1).unwrap(),
            )
            .unwrap(),
        ),
    ];
    for (name, bytes) in seeds {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}
