//! 2FAS Authenticator's `.2fas` backup (schema versions 1-4, from the Android and iOS
//! apps), plain or encrypted with a backup password.
//!
//! The file is a JSON object. Plain, it holds a `services` array; encrypted, `services`
//! is empty and `servicesEncrypted` holds the JSON of that array sealed as
//! `base64(ciphertext+tag):base64(salt):base64(iv)`, with `reference` (a known text the
//! apps seal with the same key and salt) as the password check. The key is
//! PBKDF2-HMAC-SHA256 of the password, 10,000 iterations, 256 bits; the cipher is
//! AES-256-GCM with a 12-byte IV and the 16-byte tag after the ciphertext (twofas-android
//! `BackupCipherImpl`/`BackupKeyGeneratorPbkdf`/`CipherAes`, 2fas-ios
//! `ExchangeFileEncryption`). The salt is 256 bytes on Android and 32 on iOS.
//!
//! A service is `name` (the service as 2FAS shows it), `secret` (base32) and `otp` with
//! `account`, `issuer`, `digits`, `period`, `algorithm`, `counter`, `tokenType`
//! (TOTP/HOTP/STEAM) and, in schema 4, `link` (the otpauth link it was added from) and
//! `source`; `order.position` sorts them. Older schemas lack fields (schema 1 may have
//! no digits, period or algorithm, schema 2 no token type): the common defaults apply,
//! and a service without a token type but with a counter above 0 is HOTP. The stored
//! fields win over `link` (they carry the user's edits and the current HOTP counter, the
//! link is how the service was first added); the link is used only when the stored
//! secret is missing or unreadable (2FAS iOS may write a placeholder when it keeps the
//! link). Groups are not imported (accounts here have no groups).

use super::entry::{self, Fields, SecretInput};
use super::entry::{json_int as int, json_text as text};
use super::{ImportFormat, ParsedFile, TransferError};
use crate::links::{self, OtpEntry, ParsedLink};
use data_encoding::{BASE64, BASE64_NOPAD};
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use serde_json::{Map, Value};
use std::num::NonZeroU32;
use zeroize::Zeroizing;

/// PBKDF2-HMAC-SHA256 iterations of both apps (a constant in their code, not in the file).
pub const PBKDF2_ITERATIONS: u32 = 10_000;
/// The newest schema version this parser knows.
pub const NEWEST_SCHEMA: i64 = 4;
/// AES-GCM IV length both apps use.
const IV_LEN: usize = 12;

const FORMAT: ImportFormat = ImportFormat::TwoFas;

fn malformed(reason: impl Into<String>) -> TransferError {
    TransferError::malformed(FORMAT, reason)
}

/// Reads a `.2fas` backup, opening it with `password` when it is encrypted.
pub fn parse(bytes: &[u8], password: Option<&str>) -> Result<ParsedFile, TransferError> {
    let text = std::str::from_utf8(bytes).map_err(|_| malformed("the file is not UTF-8 text"))?;
    let root: Value = serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|_| malformed("the file is not JSON"))?;
    let Value::Object(root) = root else {
        return Err(malformed("the file is not a JSON object"));
    };
    match root.get("schemaVersion") {
        None | Some(Value::Null) => {}
        Some(v) => match v.as_i64() {
            Some(n) if (1..=NEWEST_SCHEMA).contains(&n) => {}
            Some(n) if n > NEWEST_SCHEMA => {
                return Err(malformed(format!(
                "schema version {n} is newer than the versions this app reads (1-{NEWEST_SCHEMA})"
            )))
            }
            _ => return Err(malformed("the schema version is not a number from 1")),
        },
    }

    let encrypted = match root.get("servicesEncrypted") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return Err(malformed("servicesEncrypted is not a string")),
    };
    if !root.contains_key("services") && encrypted.is_none() {
        return Err(malformed(
            "the file has neither services nor servicesEncrypted",
        ));
    }
    let services_json: Zeroizing<Vec<u8>>;
    let decrypted: Value;
    let services: &[Value] = match encrypted {
        None => match root.get("services") {
            Some(Value::Array(items)) => items,
            None | Some(Value::Null) => &[],
            Some(_) => return Err(malformed("services is not an array")),
        },
        Some(sealed) => {
            let password = password.ok_or(TransferError::PasswordRequired)?;
            services_json = open(&root, sealed, password)?;
            decrypted = serde_json::from_slice(&services_json)
                .map_err(|_| malformed("the decrypted services are not JSON"))?;
            match &decrypted {
                Value::Array(items) => items,
                _ => return Err(malformed("the decrypted services are not an array")),
            }
        }
    };
    // Both apps import in `order.position` order; a service without one keeps its place
    // after the ordered ones.
    let mut ordered: Vec<(usize, &Value)> = services.iter().enumerate().collect();
    ordered.sort_by_key(|(i, s)| {
        let pos = s
            .get("order")
            .and_then(|o| o.get("position"))
            .and_then(Value::as_i64)
            .unwrap_or(i64::MAX);
        (pos, *i)
    });

    Ok(ParsedFile::read_objects(
        ordered,
        "a 2FAS service",
        read_service,
    ))
}

fn read_service(s: &Map<String, Value>, position: usize) -> (String, Result<OtpEntry, String>) {
    let empty = Map::new();
    let otp = match s.get("otp") {
        Some(Value::Object(o)) => o,
        _ => &empty,
    };
    let name = text(s, "name").ok().flatten().unwrap_or("");
    let otp_issuer = text(otp, "issuer").ok().flatten().unwrap_or("");
    let issuer = if name.trim().is_empty() {
        otp_issuer
    } else {
        name
    };
    let account = match text(otp, "account").ok().flatten() {
        Some(a) if !a.trim().is_empty() => a,
        _ => text(otp, "label").ok().flatten().unwrap_or(""),
    };
    let label = entry::label(issuer, account, position);
    (label, service_entry(s, otp, issuer, account))
}

fn service_entry(
    s: &Map<String, Value>,
    otp: &Map<String, Value>,
    issuer: &str,
    account: &str,
) -> Result<OtpEntry, String> {
    let secret = text(s, "secret")?.unwrap_or("");
    let link = text(otp, "link")?.filter(|l| !l.trim().is_empty());
    let counter = int(otp, "counter")?;
    let secret_readable = !secret.trim().is_empty() && links::decode_base32_secret(secret).is_ok();
    if let (false, Some(link)) = (secret_readable, link) {
        return from_link(link, issuer, account, counter);
    }
    let kind = match text(otp, "tokenType")? {
        Some(t) if !t.trim().is_empty() => t,
        // Schema 2 and older stored no token type: only HOTP services carry a counter.
        _ if counter.is_some_and(|c| c > 0) => "HOTP",
        _ => "TOTP",
    };
    entry::build(Fields {
        kind,
        issuer,
        name: account,
        secret: SecretInput::Base32(secret),
        algorithm: text(otp, "algorithm")?,
        digits: int(otp, "digits")?,
        period: int(otp, "period")?,
        counter,
    })
}

/// The account from the service's original link, named as 2FAS names it and with the
/// stored HOTP counter (the link's is the one it had when it was added).
fn from_link(
    link: &str,
    issuer: &str,
    account: &str,
    counter: Option<i64>,
) -> Result<OtpEntry, String> {
    let parsed = links::parse_link(link).map_err(|e| match e {
        crate::error::Error::InvalidEnrollment(r) => {
            format!("its secret is unreadable and its link is not valid: {r}")
        }
        other => format!("its secret is unreadable and its link is not valid: {other}"),
    })?;
    let ParsedLink::Otp { entries, .. } = parsed else {
        return Err("its link is not an OTP link".into());
    };
    let mut entries = entries.into_iter();
    let (Some(mut e), None) = (entries.next(), entries.next()) else {
        return Err("its link does not hold exactly one account".into());
    };
    if !issuer.trim().is_empty() {
        e.issuer = issuer.trim().to_string();
    }
    if !account.trim().is_empty() {
        e.name = account.trim().to_string();
    }
    if e.kind == crate::otp::AccountKind::Hotp {
        if let Some(c) = counter {
            e.counter = u64::try_from(c).map_err(|_| "the HOTP counter is negative".to_string())?;
        }
    }
    Ok(e)
}

/// One sealed value: `base64(ciphertext+tag):base64(salt):base64(iv)`.
struct Sealed {
    ciphertext: Vec<u8>,
    salt: Vec<u8>,
    iv: [u8; IV_LEN],
}

fn base64(part: &str, what: &str, field: &str) -> Result<Vec<u8>, TransferError> {
    let part = part.trim();
    BASE64
        .decode(part.as_bytes())
        .or_else(|_| BASE64_NOPAD.decode(part.trim_end_matches('=').as_bytes()))
        .map_err(|_| malformed(format!("the {what} of {field} is not base64")))
}

fn split_sealed(value: &str, field: &str) -> Result<Sealed, TransferError> {
    let mut parts = value.split(':');
    let (Some(c), Some(s), Some(i), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed(format!(
            "{field} is not three base64 parts separated by ':'"
        )));
    };
    let ciphertext = base64(c, "ciphertext", field)?;
    let salt = base64(s, "salt", field)?;
    let iv = base64(i, "IV", field)?;
    let iv: [u8; IV_LEN] = iv
        .try_into()
        .map_err(|_| malformed(format!("the IV of {field} is not {IV_LEN} bytes")))?;
    if salt.is_empty() {
        return Err(malformed(format!("the salt of {field} is empty")));
    }
    if ciphertext.len() < aead::AES_256_GCM.tag_len() {
        return Err(malformed(format!("the ciphertext of {field} is too short")));
    }
    Ok(Sealed {
        ciphertext,
        salt,
        iv,
    })
}

fn derive_key(password: &str, salt: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    let iterations = NonZeroU32::new(PBKDF2_ITERATIONS).unwrap_or(NonZeroU32::MIN);
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        salt,
        password.as_bytes(),
        key.as_mut(),
    );
    key
}

/// AES-256-GCM open; `None` when the tag does not match (the wrong key).
fn open_gcm(key: &[u8; 32], sealed: &Sealed) -> Option<Zeroizing<Vec<u8>>> {
    let key = LessSafeKey::new(UnboundKey::new(&aead::AES_256_GCM, key).ok()?);
    let mut buf = Zeroizing::new(sealed.ciphertext.clone());
    let plain_len = key
        .open_in_place(
            Nonce::assume_unique_for_key(sealed.iv),
            Aad::empty(),
            buf.as_mut_slice(),
        )
        .ok()?
        .len();
    buf.truncate(plain_len);
    Some(buf)
}

/// Checks the password on `reference` (when the file has one), then opens the services.
fn open(
    root: &Map<String, Value>,
    services: &str,
    password: &str,
) -> Result<Zeroizing<Vec<u8>>, TransferError> {
    let services = split_sealed(services, "servicesEncrypted")?;
    let reference = match root.get("reference") {
        None | Some(Value::Null) => None,
        Some(Value::String(r)) if r.trim().is_empty() => None,
        Some(Value::String(r)) => Some(split_sealed(r, "reference")?),
        Some(_) => return Err(malformed("reference is not a string")),
    };
    let mut key = derive_key(password, &services.salt);
    if let Some(reference) = reference {
        // Both apps seal the two values with one salt; derive again only if not.
        if reference.salt != services.salt {
            key = derive_key(password, &reference.salt);
        }
        // Only the tag is checked: the Android and iOS apps seal different reference
        // texts (and Android itself checks only the tag), so its content proves
        // nothing more.
        if open_gcm(&key, &reference).is_none() {
            return Err(TransferError::WrongPassword);
        }
        if reference.salt != services.salt {
            key = derive_key(password, &services.salt);
        }
    }
    open_gcm(&key, &services).ok_or(TransferError::WrongPassword)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::otp::{AccountKind, Algorithm};
    use crate::transfer::{detect, parse_file};
    use serde_json::json;

    /// The reference text twofas-android seals (BackupContent.Reference).
    const ANDROID_REFERENCE: &str = "tRViSsLKzd86Hprh4ceC2OP7xazn4rrt4xhfEUbOjxLX8Rc3mkISXE0lWbmnWfggogbBJhtYgpK6fMl1D6mtsy92R3HkdGfwuXbzLebqVFJsR7IZ2w58t938iymwG4824igYy1wi6n2WDpO1Q1P69zwJGs2F5a1qP4MyIiDSD7NCV2OvidXQCBnDlGfmz0f1BQySRkkt4ryiJeCjD2o4QsveJ9uDBUn8ELyOrESv5R5DMDkD4iAF8TXU7KyoJujd";

    /// Seals `plain` as the apps do: PBKDF2-HMAC-SHA256 (10,000) of the password with
    /// `salt`, AES-256-GCM with `iv`, the tag after the ciphertext, three base64 parts.
    fn seal(password: &str, salt: &[u8], iv: [u8; 12], plain: &[u8]) -> String {
        let mut key = [0u8; 32];
        ring::pbkdf2::derive(
            ring::pbkdf2::PBKDF2_HMAC_SHA256,
            NonZeroU32::new(10_000).unwrap(),
            salt,
            password.as_bytes(),
            &mut key,
        );
        let key = LessSafeKey::new(UnboundKey::new(&aead::AES_256_GCM, &key).unwrap());
        let mut buf = plain.to_vec();
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(iv), Aad::empty(), &mut buf)
            .unwrap();
        format!(
            "{}:{}:{}",
            BASE64.encode(&buf),
            BASE64.encode(salt),
            BASE64.encode(&iv)
        )
    }

    fn service(name: &str, secret: &str, otp: Value, position: i64) -> Value {
        json!({
            "name": name, "secret": secret, "updatedAt": 1_700_000_000_000_i64,
            "otp": otp, "order": {"position": position},
            "icon": {"selected": "Label", "label": {"text": "GH", "backgroundColor": "Orange"},
                     "iconCollection": {"id": "a5b3fb65-4ec5-43e6-8ec1-49e24ca9e7ad"}},
            "groupId": null,
        })
    }

    fn v4_services() -> Value {
        json!([
            service(
                "GitHub",
                "JBSWY3DPEHPK3PXP",
                json!({
                "link": "otpauth://totp/GitHub:alice?secret=JBSWY3DPEHPK3PXP&issuer=GitHub",
                "label": "alice", "account": "alice", "issuer": "GitHub", "digits": 6,
                "period": 30, "algorithm": "SHA1", "tokenType": "TOTP", "source": "Link"}),
                0
            ),
            service(
                "Bank",
                "GEZDGNBVGY3TQOJQ",
                json!({
                "account": "bob", "digits": 8, "period": 30, "algorithm": "SHA256",
                "counter": 12, "tokenType": "HOTP", "source": "Manual"}),
                1
            ),
            service(
                "Steam",
                "GEZDGNBVGY3TQOJQ",
                json!({
                "account": "carol", "digits": 5, "period": 30, "algorithm": "SHA1",
                "tokenType": "STEAM", "source": "Manual"}),
                2
            ),
            service(
                "Broken",
                "GEZDGNBVGY3TQOJQ",
                json!({
                "account": "dave", "digits": 6, "period": 30, "algorithm": "SHA384",
                "tokenType": "TOTP", "source": "Manual"}),
                3
            ),
        ])
    }

    fn plain_file(schema: i64, services: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "services": services, "groups": [{"id": "g1", "name": "Work", "isExpanded": true}],
            "updatedAt": 1_700_000_000_000_i64, "schemaVersion": schema,
            "appVersionCode": 5_000_000, "appVersionName": "5.0.0", "appOrigin": "android",
        }))
        .unwrap()
    }

    /// An encrypted file as twofas-android writes it: one 256-byte salt for both values.
    fn encrypted_file(password: &str, services: &Value) -> Vec<u8> {
        let salt: Vec<u8> = (0..=255u8).collect();
        let sealed = seal(
            password,
            &salt,
            [7; 12],
            &serde_json::to_vec(services).unwrap(),
        );
        let reference = seal(password, &salt, [9; 12], ANDROID_REFERENCE.as_bytes());
        serde_json::to_vec(&json!({
            "services": [], "groups": [], "updatedAt": 1_700_000_000_000_i64, "schemaVersion": 4,
            "appVersionCode": 5_000_000, "appVersionName": "5.0.0", "appOrigin": "android",
            "servicesEncrypted": sealed, "reference": reference,
        }))
        .unwrap()
    }

    fn check_v4(p: &ParsedFile) {
        assert_eq!(p.entries.len(), 3, "{:?}", p.refused);
        let gh = &p.entries[0];
        assert_eq!((gh.issuer.as_str(), gh.name.as_str()), ("GitHub", "alice"));
        assert_eq!(gh.secret.as_slice(), b"Hello!\xde\xad\xbe\xef");
        let bank = &p.entries[1];
        assert_eq!(
            (bank.kind, bank.algorithm, bank.digits, bank.counter),
            (AccountKind::Hotp, Algorithm::Sha256, 8, 12)
        );
        assert_eq!(p.entries[2].kind, AccountKind::Steam);
        assert_eq!(p.refused.len(), 1);
        assert_eq!(p.refused[0].entry, "Broken: dave");
        assert!(p.refused[0].reason.contains("SHA384"));
    }

    #[test]
    fn reads_a_plain_v4_backup_and_refuses_the_bad_service() {
        let file = plain_file(4, v4_services());
        assert_eq!(detect(&file), Some(ImportFormat::TwoFas));
        check_v4(&parse(&file, None).unwrap());
        let (format, p) = parse_file(&file, None, None).unwrap();
        assert_eq!(format, ImportFormat::TwoFas);
        check_v4(&p);
    }

    #[test]
    fn opens_an_encrypted_backup_and_tells_a_wrong_or_missing_password() {
        let file = encrypted_file("correct horse", &v4_services());
        assert_eq!(detect(&file), Some(ImportFormat::TwoFas));
        check_v4(&parse(&file, Some("correct horse")).unwrap());
        assert_eq!(
            parse(&file, Some("wrong")).unwrap_err(),
            TransferError::WrongPassword
        );
        assert_eq!(
            parse(&file, None).unwrap_err(),
            TransferError::PasswordRequired
        );
    }

    #[test]
    fn an_ios_backup_with_its_own_salt_and_reference_text_opens() {
        // 2fas-ios: a 32-byte salt, and a reference text of its own.
        let salt = [3u8; 32];
        let services = serde_json::to_vec(&v4_services()).unwrap();
        let file = serde_json::to_vec(&json!({
            "services": [], "schemaVersion": 4, "appOrigin": "ios",
            "appVersionCode": 50000, "appVersionName": "5.0",
            "servicesEncrypted": seal("pw", &salt, [1; 12], &services),
            "reference": seal("pw", &salt, [2; 12], b"another reference text"),
        }))
        .unwrap();
        check_v4(&parse(&file, Some("pw")).unwrap());
        assert_eq!(
            parse(&file, Some("pW")).unwrap_err(),
            TransferError::WrongPassword
        );
    }

    #[test]
    fn a_reference_that_does_not_open_is_a_wrong_password_even_if_services_would() {
        let salt = [5u8; 32];
        let services = serde_json::to_vec(&v4_services()).unwrap();
        let file = serde_json::to_vec(&json!({
            "services": [], "schemaVersion": 4,
            "servicesEncrypted": seal("pw", &salt, [1; 12], &services),
            "reference": seal("other", &salt, [2; 12], ANDROID_REFERENCE.as_bytes()),
        }))
        .unwrap();
        assert_eq!(
            parse(&file, Some("pw")).unwrap_err(),
            TransferError::WrongPassword
        );
    }

    #[test]
    fn a_tampered_ciphertext_is_a_wrong_password_and_a_broken_container_is_malformed() {
        let file = encrypted_file("pw", &v4_services());
        let mut v: Value = serde_json::from_slice(&file).unwrap();
        let sealed = v["servicesEncrypted"].as_str().unwrap().to_string();
        let (c, rest) = sealed.split_once(':').unwrap();
        let mut ct = BASE64.decode(c.as_bytes()).unwrap();
        ct[0] ^= 1;
        v["servicesEncrypted"] = json!(format!("{}:{rest}", BASE64.encode(&ct)));
        let tampered = serde_json::to_vec(&v).unwrap();
        assert_eq!(
            parse(&tampered, Some("pw")).unwrap_err(),
            TransferError::WrongPassword
        );
        for bad in ["abc", "a:b", "!!:AAAA:AAAAAAAAAAAAAAAA", "AAAA:AAAA:AAAA"] {
            v["servicesEncrypted"] = json!(bad);
            let f = serde_json::to_vec(&v).unwrap();
            assert!(
                matches!(parse(&f, Some("pw")), Err(TransferError::Malformed { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn schema_1_has_no_digits_period_or_algorithm_and_defaults_apply() {
        let services = json!([{
            "name": "Google", "secret": "JBSWY3DPEHPK3PXP", "type": "Google",
            "otp": {"account": "erin@example.com"}, "order": {"position": 0},
            "icon": {"selected": "Brand", "brand": {"id": "Google"}, "label": null},
            "badge": null, "updatedAt": 1, "groupId": null,
        }]);
        let p = parse(&plain_file(1, services), None).unwrap();
        let e = &p.entries[0];
        assert_eq!(
            (e.kind, e.algorithm, e.digits, e.period),
            (AccountKind::Totp, Algorithm::Sha1, 6, 30)
        );
        assert_eq!(
            (e.issuer.as_str(), e.name.as_str()),
            ("Google", "erin@example.com")
        );
    }

    #[test]
    fn schema_2_without_a_token_type_is_totp_unless_it_counts() {
        let services = json!([
            service(
                "A",
                "JBSWY3DPEHPK3PXP",
                json!({"account": "a", "digits": 7, "period": 60, "algorithm": "SHA512"}),
                0
            ),
            service(
                "B",
                "JBSWY3DPEHPK3PXP",
                json!({"account": "b", "digits": 6, "counter": 3}),
                1
            ),
        ]);
        let p = parse(&plain_file(2, services), None).unwrap();
        let a = &p.entries[0];
        assert_eq!(
            (a.kind, a.algorithm, a.digits, a.period),
            (AccountKind::Totp, Algorithm::Sha512, 7, 60)
        );
        assert_eq!(
            (p.entries[1].kind, p.entries[1].counter),
            (AccountKind::Hotp, 3)
        );
    }

    #[test]
    fn schema_3_is_read_like_4() {
        let p = parse(&plain_file(3, v4_services()), None).unwrap();
        check_v4(&p);
    }

    #[test]
    fn stored_fields_win_over_the_link_which_fills_in_a_hidden_secret() {
        let services = json!([
            // The link is older than the user's edits (8 digits now) and its counter.
            service(
                "Edited",
                "JBSWY3DPEHPK3PXP",
                json!({
                "link": "otpauth://hotp/Old:old?secret=GEZDGNBVGY3TQOJQ&counter=1&digits=6",
                "account": "new", "digits": 8, "counter": 40, "tokenType": "HOTP"}),
                0
            ),
            // iOS may hide the secret when it keeps the link.
            service(
                "Hidden",
                "[hidden]",
                json!({
                "link": "otpauth://hotp/Hidden:h?secret=GEZDGNBVGY3TQOJQ&counter=1&digits=7",
                "account": "h", "counter": 9, "tokenType": "HOTP"}),
                1
            ),
            service(
                "Nothing",
                "",
                json!({"account": "n", "link": "not a link"}),
                2
            ),
        ]);
        let p = parse(&plain_file(4, services), None).unwrap();
        let edited = &p.entries[0];
        assert_eq!((edited.digits, edited.counter), (8, 40));
        assert_eq!(edited.secret.as_slice(), b"Hello!\xde\xad\xbe\xef");
        let hidden = &p.entries[1];
        assert_eq!((hidden.digits, hidden.counter), (7, 9));
        assert_eq!(hidden.secret.as_slice(), b"1234567890");
        assert_eq!(
            (hidden.issuer.as_str(), hidden.name.as_str()),
            ("Hidden", "h")
        );
        assert_eq!(p.refused.len(), 1);
        assert_eq!(p.refused[0].entry, "Nothing: n");
        assert!(
            p.refused[0].reason.contains("link"),
            "{}",
            p.refused[0].reason
        );
    }

    #[test]
    fn services_are_imported_by_position_and_bad_ones_named() {
        let services = json!([
            service("Second", "JBSWY3DPEHPK3PXP", json!({"account": "x"}), 5),
            service("First", "JBSWY3DPEHPK3PXP", json!({"account": "y"}), 1),
            service(
                "Zero",
                "JBSWY3DPEHPK3PXP",
                json!({"account": "z", "digits": 0}),
                2
            ),
            service(
                "Period",
                "JBSWY3DPEHPK3PXP",
                json!({"account": "p", "period": 0}),
                3
            ),
            service("Bad", "JBSWY3DP!!", json!({"account": "b"}), 4),
            service(
                "Type",
                "JBSWY3DPEHPK3PXP",
                json!({"account": "t", "tokenType": "MOTP"}),
                6
            ),
            json!("not a service"),
        ]);
        let p = parse(&plain_file(4, services), None).unwrap();
        let names: Vec<_> = p.entries.iter().map(|e| e.issuer.as_str()).collect();
        assert_eq!(names, ["First", "Second"]);
        let refused: Vec<_> = p.refused.iter().map(|r| r.entry.as_str()).collect();
        assert_eq!(
            refused,
            ["Zero: z", "Period: p", "Bad: b", "Type: t", "entry 7"]
        );
        assert!(p.refused.iter().all(|r| !r.reason.contains("JBSW")));
    }

    #[test]
    fn file_level_problems() {
        assert!(matches!(
            parse(&plain_file(5, json!([])), None),
            Err(TransferError::Malformed { .. })
        ));
        assert!(parse(b"[]", None).is_err());
        assert!(parse(b"{\"schemaVersion\": 4}", None).is_err());
        assert!(parse(b"\xff\xfe", None).is_err());
        assert!(parse(&plain_file(4, json!([])), None)
            .unwrap()
            .entries
            .is_empty());
    }

    #[test]
    fn the_real_iteration_count_opens_in_time() {
        // 10,000 PBKDF2 iterations is the only setting (fixed by the apps); every
        // encrypted test above already runs it, this one times it.
        let file = encrypted_file("pw", &json!([]));
        let start = std::time::Instant::now();
        parse(&file, Some("pw")).unwrap();
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }

    /// Writes the fuzz seeds (`fuzz/seeds/import_twofas/`) from these fixtures:
    /// `cargo test -p authenticator-core --lib write_twofas_fuzz_seeds -- --ignored`.
    #[test]
    #[ignore = "writes files into fuzz/seeds"]
    fn write_twofas_fuzz_seeds() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/import_twofas");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("plain_v4"), plain_file(4, v4_services())).unwrap();
        let v1 = json!([{"name": "Google", "secret": "JBSWY3DPEHPK3PXP", "type": "Google",
            "otp": {"account": "e"}, "order": {"position": 0}}]);
        std::fs::write(dir.join("plain_v1"), plain_file(1, v1)).unwrap();
        std::fs::write(
            dir.join("encrypted_v4"),
            encrypted_file("fuzz", &v4_services()),
        )
        .unwrap();
    }

    #[test]
    fn the_fuzz_seeds_import_through_the_fuzz_entry_point() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/import_twofas");
        let mut seen = 0;
        for f in std::fs::read_dir(dir).unwrap() {
            let bytes = std::fs::read(f.unwrap().path()).unwrap();
            let n = crate::fuzz_support::import_file(&bytes, Some("2fas"), Some("fuzz")).unwrap();
            assert!(n >= 1);
            seen += 1;
        }
        assert!(seen >= 3);
    }
}
