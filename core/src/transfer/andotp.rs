//! andOTP's backups: the plain JSON (an array of entries) and the encrypted files, in
//! the current layout and the one before it (andOTP `BackupHelper.backupToFile`,
//! `EncryptedRestoreTask`, `EncryptionHelper`, `Constants`).
//!
//! - Current (andOTP 0.6.3 and later): a 4-byte big-endian PBKDF2 iteration count
//!   (andOTP picks 140,000-160,000), a 12-byte salt, a 12-byte IV, then the AES-256-GCM
//!   ciphertext with its 16-byte tag; the key is 256 bits of PBKDF2-HMAC-SHA1 of the
//!   password.
//! - Old: the key is SHA-256 of the password (UTF-8); the file is the 12-byte IV, then
//!   the ciphertext with its tag.
//!
//! Nothing in the file says which layout it is, so the current one is tried first, then
//! the old one; a password that opens neither is a wrong password.
//!
//! An entry: `secret` (base32), `issuer`, `label`, `digits`, `type` (TOTP, HOTP, STEAM,
//! MOTP), `algorithm`, `period`, `counter` (HOTP), and `tags`, `thumbnail`, `last_used`,
//! `used_frequency` that are not imported. Old versions stored no `issuer` (the label
//! then reads "Issuer:name" or "Issuer - name") and no `type` (TOTP).

use super::entry::{self, Fields, SecretInput};
use super::entry::{json_int as int, json_text as text};
use super::{ImportFormat, ParsedFile, TransferError};
use crate::links::OtpEntry;
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use serde_json::{Map, Value};
use std::num::NonZeroU32;
use zeroize::Zeroizing;

/// The most PBKDF2 iterations a file may ask for (andOTP itself uses at most 160,000):
/// a hostile file cannot make the phone derive for minutes.
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;

const FORMAT: ImportFormat = ImportFormat::AndOtp;
const ITERATIONS_LEN: usize = 4;
const SALT_LEN: usize = 12;
const IV_LEN: usize = 12;
const TAG_LEN: usize = 16;

fn malformed(reason: impl Into<String>) -> TransferError {
    TransferError::malformed(FORMAT, reason)
}

/// Reads an andOTP backup: the plain JSON, or an encrypted file opened with `password`.
pub fn parse(bytes: &[u8], password: Option<&str>) -> Result<ParsedFile, TransferError> {
    if let Some(entries) = plain_json(bytes) {
        return read_entries(&entries?);
    }
    let password = password.ok_or(TransferError::PasswordRequired)?;
    let plain = decrypt(bytes, password)?;
    let entries = serde_json::from_slice::<Value>(&plain)
        .map_err(|_| malformed("the decrypted backup is not JSON"))?;
    read_entries(&entries)
}

/// The plain backup's JSON, or `None` when the file is not JSON text (encrypted).
fn plain_json(bytes: &[u8]) -> Option<Result<Value, TransferError>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if !(t.starts_with('[') || t.starts_with('{')) {
        return None;
    }
    Some(serde_json::from_str(t).map_err(|_| malformed("the file is not valid JSON")))
}

fn open_gcm(key: &[u8], iv: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let key = LessSafeKey::new(UnboundKey::new(&aead::AES_256_GCM, key).ok()?);
    let nonce = Nonce::try_assume_unique_for_key(iv).ok()?;
    let mut buf = Zeroizing::new(sealed.to_vec());
    let plain_len = key
        .open_in_place(nonce, Aad::empty(), buf.as_mut_slice())
        .ok()?
        .len();
    buf.truncate(plain_len);
    Some(buf)
}

/// Opens an encrypted backup: the current layout, then the old one.
fn decrypt(bytes: &[u8], password: &str) -> Result<Zeroizing<Vec<u8>>, TransferError> {
    if bytes.len() < IV_LEN + TAG_LEN {
        return Err(malformed("the file is too short to be an encrypted backup"));
    }
    if let Some(plain) = decrypt_current(bytes, password) {
        return Ok(plain);
    }
    // ring's `Digest` is not zeroized on drop; the key is copied out of it at once.
    let mut key = Zeroizing::new([0u8; 32]);
    let digest = ring::digest::digest(&ring::digest::SHA256, password.as_bytes());
    key.copy_from_slice(digest.as_ref());
    let (iv, sealed) = bytes
        .split_at_checked(IV_LEN)
        .ok_or_else(|| malformed("the file is too short to be an encrypted backup"))?;
    // An iteration count beyond the limit is not refused as malformed: in an old-layout
    // file those four bytes are part of a random IV, so such a file with the wrong
    // password looks just like that. Either way nothing slow was run.
    open_gcm(key.as_ref(), iv, sealed).ok_or(TransferError::WrongPassword)
}

/// The current layout; `None` when it does not open (not this layout, or the wrong
/// password) or its iteration count is 0 or over [`MAX_PBKDF2_ITERATIONS`].
fn decrypt_current(bytes: &[u8], password: &str) -> Option<Zeroizing<Vec<u8>>> {
    let (count, rest) = bytes.split_at_checked(ITERATIONS_LEN)?;
    let (salt, rest) = rest.split_at_checked(SALT_LEN)?;
    let (iv, sealed) = rest.split_at_checked(IV_LEN)?;
    if sealed.len() < TAG_LEN {
        return None;
    }
    let iterations = u32::from_be_bytes(count.try_into().ok()?);
    if iterations > MAX_PBKDF2_ITERATIONS {
        return None;
    }
    let iterations = NonZeroU32::new(iterations)?;
    let mut key = Zeroizing::new([0u8; 32]);
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA1,
        iterations,
        salt,
        password.as_bytes(),
        key.as_mut(),
    );
    open_gcm(key.as_ref(), iv, sealed)
}

fn read_entries(root: &Value) -> Result<ParsedFile, TransferError> {
    let Value::Array(items) = root else {
        return Err(malformed("the backup is not a JSON array of entries"));
    };
    Ok(ParsedFile::read_objects(
        items.iter().enumerate(),
        "an andOTP entry",
        read_entry,
    ))
}

/// Issuer and account name from andOTP's `issuer` and `label`: the label may repeat
/// the issuer as "Issuer:name" (andOTP strips that itself), and without an issuer (old
/// versions) it may hold both as "Issuer:name" or "Issuer - name".
pub fn issuer_and_name<'a>(issuer: &'a str, label: &'a str) -> (&'a str, &'a str) {
    let issuer = issuer.trim();
    let label = label.trim();
    if !issuer.is_empty() {
        for sep in [":", " - "] {
            if let Some(rest) = label.strip_prefix(issuer).and_then(|r| r.strip_prefix(sep)) {
                return (issuer, rest.trim());
            }
        }
        return (issuer, label);
    }
    for sep in [":", " - "] {
        if let Some((i, n)) = label.split_once(sep) {
            if !i.trim().is_empty() && !n.trim().is_empty() {
                return (i.trim(), n.trim());
            }
        }
    }
    ("", label)
}

fn read_entry(o: &Map<String, Value>, position: usize) -> (String, Result<OtpEntry, String>) {
    let issuer = text(o, "issuer").ok().flatten().unwrap_or("");
    let label = text(o, "label").ok().flatten().unwrap_or("");
    let (issuer, name) = issuer_and_name(issuer, label);
    (
        entry::label(issuer, name, position),
        entry_of(o, issuer, name),
    )
}

fn entry_of(o: &Map<String, Value>, issuer: &str, name: &str) -> Result<OtpEntry, String> {
    let kind = text(o, "type")?
        .filter(|t| !t.trim().is_empty())
        .unwrap_or("TOTP");
    let counter = int(o, "counter")?;
    if kind.trim().eq_ignore_ascii_case("hotp") && counter.is_none() {
        // andOTP refuses these too: a guessed counter would give codes the server
        // does not expect.
        return Err("the HOTP counter is missing".into());
    }
    entry::build(Fields {
        kind,
        issuer,
        name,
        secret: SecretInput::Base32(text(o, "secret")?.unwrap_or("")),
        algorithm: text(o, "algorithm")?,
        digits: int(o, "digits")?,
        period: int(o, "period")?,
        counter,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::otp::{AccountKind, Algorithm};
    use crate::transfer::{detect, parse_file};
    use serde_json::json;

    fn entries() -> Value {
        json!([
            {"secret": "JBSWY3DPEHPK3PXP", "issuer": "GitHub", "label": "alice", "digits": 6,
             "type": "TOTP", "algorithm": "SHA1", "thumbnail": "Github", "last_used": 1_700_000_000_000_i64,
             "used_frequency": 3, "period": 30, "tags": ["work"]},
            {"secret": "GEZDGNBVGY3TQOJQ", "issuer": "Bank", "label": "Bank:bob", "digits": 8,
             "type": "HOTP", "algorithm": "SHA256", "thumbnail": "Default", "last_used": 0,
             "counter": 41, "tags": []},
            {"secret": "GEZDGNBVGY3TQOJQ", "issuer": "Steam", "label": "carol", "digits": 5,
             "type": "STEAM", "algorithm": "SHA1", "thumbnail": "Steam", "period": 30, "tags": []},
            {"secret": "GEZDGNBVGY3TQOJQ", "issuer": "Broken", "label": "dave", "digits": 0,
             "type": "TOTP", "algorithm": "SHA1", "period": 30, "tags": []},
        ])
    }

    fn check(p: &ParsedFile) {
        assert_eq!(p.entries.len(), 3, "{:?}", p.refused);
        let gh = &p.entries[0];
        assert_eq!((gh.issuer.as_str(), gh.name.as_str()), ("GitHub", "alice"));
        assert_eq!(gh.secret.as_slice(), b"Hello!\xde\xad\xbe\xef");
        let bank = &p.entries[1];
        assert_eq!((bank.issuer.as_str(), bank.name.as_str()), ("Bank", "bob"));
        assert_eq!(
            (bank.kind, bank.algorithm, bank.digits, bank.counter),
            (AccountKind::Hotp, Algorithm::Sha256, 8, 41)
        );
        assert_eq!(
            (p.entries[2].kind, p.entries[2].digits),
            (AccountKind::Steam, 5)
        );
        assert_eq!(p.refused.len(), 1);
        assert_eq!(p.refused[0].entry, "Broken: dave");
        assert!(p.refused[0].reason.contains("digits"));
    }

    fn seal(key: &[u8], iv: [u8; 12], plain: &[u8]) -> Vec<u8> {
        let key = LessSafeKey::new(UnboundKey::new(&aead::AES_256_GCM, key).unwrap());
        let mut buf = plain.to_vec();
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(iv), Aad::empty(), &mut buf)
            .unwrap();
        buf
    }

    /// The current layout, as `BackupHelper.backupToFile` writes it: iterations (BE),
    /// a 12-byte salt, then `EncryptionHelper.encrypt`'s IV + ciphertext + tag.
    fn current_file(password: &str, iterations: u32, plain: &[u8]) -> Vec<u8> {
        let salt = [0x5a; 12];
        let mut key = [0u8; 32];
        ring::pbkdf2::derive(
            ring::pbkdf2::PBKDF2_HMAC_SHA1,
            NonZeroU32::new(iterations).unwrap(),
            &salt,
            password.as_bytes(),
            &mut key,
        );
        let iv = [0x11; 12];
        let mut file = iterations.to_be_bytes().to_vec();
        file.extend_from_slice(&salt);
        file.extend_from_slice(&iv);
        file.extend(seal(&key, iv, plain));
        file
    }

    /// The old layout: key = SHA-256(password), file = IV + ciphertext + tag.
    fn old_file(password: &str, iv: [u8; 12], plain: &[u8]) -> Vec<u8> {
        let key = ring::digest::digest(&ring::digest::SHA256, password.as_bytes());
        let mut file = iv.to_vec();
        file.extend(seal(key.as_ref(), iv, plain));
        file
    }

    #[test]
    fn reads_a_plain_backup_and_refuses_the_bad_entry() {
        let file = serde_json::to_vec_pretty(&entries()).unwrap();
        assert_eq!(detect(&file), Some(ImportFormat::AndOtp));
        check(&parse(&file, None).unwrap());
        check(&parse_file(&file, None, None).unwrap().1);
    }

    #[test]
    fn opens_the_current_encrypted_layout() {
        let plain = serde_json::to_vec(&entries()).unwrap();
        let file = current_file("s3cret", 1_000, &plain);
        assert_eq!(detect(&file), None);
        let (format, p) = parse_file(&file, None, Some("s3cret")).unwrap();
        assert_eq!(format, ImportFormat::AndOtp);
        check(&p);
        assert_eq!(
            parse(&file, Some("wrong")).unwrap_err(),
            TransferError::WrongPassword
        );
        assert_eq!(
            parse_file(&file, None, None).unwrap_err(),
            TransferError::PasswordRequired
        );
    }

    #[test]
    #[ignore = "andOTP's real 140,000 iterations take about 10 s unoptimised; run with --ignored"]
    fn the_real_iteration_count_opens() {
        // andOTP draws 140,000-160,000 (Constants.PBKDF2_MIN/MAX_BACKUP_ITERATIONS).
        let file = current_file("pw", 140_000, b"[]");
        assert!(parse(&file, Some("pw")).unwrap().entries.is_empty());
    }

    #[test]
    fn opens_the_old_encrypted_layout() {
        let plain = serde_json::to_vec(&entries()).unwrap();
        // An IV whose first four bytes read as a small iteration count, so that the
        // current layout is really tried (and fails) before the old one.
        let file = old_file("s3cret", [0, 0, 0, 2, 9, 9, 9, 9, 9, 9, 9, 9], &plain);
        let (format, p) = parse_file(&file, None, Some("s3cret")).unwrap();
        assert_eq!(format, ImportFormat::AndOtp);
        check(&p);
        // And one whose first bytes are over the iteration limit.
        let file = old_file("s3cret", [0xff; 12], &plain);
        check(&parse(&file, Some("s3cret")).unwrap());
        assert_eq!(
            parse(&file, Some("other")).unwrap_err(),
            TransferError::WrongPassword
        );
    }

    #[test]
    fn an_iteration_count_over_the_limit_is_not_derived() {
        let mut file = current_file("pw", 1, b"[]");
        file[..4].copy_from_slice(&u32::MAX.to_be_bytes());
        let start = std::time::Instant::now();
        assert_eq!(
            parse(&file, Some("pw")).unwrap_err(),
            TransferError::WrongPassword
        );
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
        file[..4].copy_from_slice(&0u32.to_be_bytes());
        assert_eq!(
            parse(&file, Some("pw")).unwrap_err(),
            TransferError::WrongPassword
        );
    }

    #[test]
    fn short_or_garbled_files() {
        assert!(matches!(
            parse(&[0xff; 20], Some("pw")),
            Err(TransferError::Malformed { .. })
        ));
        let file = current_file("pw", 1, b"not json");
        assert!(matches!(
            parse(&file, Some("pw")),
            Err(TransferError::Malformed { .. })
        ));
        let file = current_file("pw", 1, b"{\"a\": 1}");
        assert!(matches!(
            parse(&file, Some("pw")),
            Err(TransferError::Malformed { .. })
        ));
        assert!(matches!(
            parse(b"[1, 2", None),
            Err(TransferError::Malformed { .. })
        ));
    }

    #[test]
    fn old_labels_without_an_issuer_are_split() {
        assert_eq!(issuer_and_name("", "GitHub:alice"), ("GitHub", "alice"));
        assert_eq!(issuer_and_name("", "GitHub - alice"), ("GitHub", "alice"));
        assert_eq!(issuer_and_name("", "alice"), ("", "alice"));
        assert_eq!(issuer_and_name("", ":alice"), ("", ":alice"));
        assert_eq!(
            issuer_and_name("GitHub", "GitHub:alice"),
            ("GitHub", "alice")
        );
        assert_eq!(
            issuer_and_name("GitHub", "GitHub - alice"),
            ("GitHub", "alice")
        );
        assert_eq!(
            issuer_and_name("GitHub", "other:alice"),
            ("GitHub", "other:alice")
        );
        let file = serde_json::to_vec(&json!([
            {"secret": "JBSWY3DPEHPK3PXP", "label": "Old - user", "digits": 6, "period": 30},
            {"secret": "JBSWY3DPEHPK3PXP", "label": "Older:user2"},
        ]))
        .unwrap();
        assert_eq!(detect(&file), Some(ImportFormat::AndOtp));
        let p = parse(&file, None).unwrap();
        assert_eq!(p.entries.len(), 2);
        assert_eq!(
            (
                p.entries[0].issuer.as_str(),
                p.entries[0].name.as_str(),
                p.entries[0].kind
            ),
            ("Old", "user", AccountKind::Totp)
        );
        assert_eq!(p.entries[1].issuer, "Older");
    }

    #[test]
    fn bad_entries_are_named_and_the_rest_imports() {
        let file = serde_json::to_vec(&json!([
            {"secret": "JBSWY3DPEHPK3PXP", "issuer": "A", "label": "a", "type": "MOTP"},
            {"secret": "JBSWY3DPEHPK3PXP", "issuer": "B", "label": "b", "type": "HOTP"},
            {"secret": "JBSWY3DPEHPK3PXP", "issuer": "C", "label": "c", "algorithm": "SHA384"},
            {"secret": "JBSWY3DPEHPK3PXP", "issuer": "D", "label": "d", "period": 0},
            {"secret": "1!!", "issuer": "E", "label": "e"},
            {"secret": 12, "issuer": "F", "label": "f"},
            "junk",
            {"secret": "JBSWY3DPEHPK3PXP", "issuer": "G", "label": "g", "type": "HOTP", "counter": 0},
        ]))
        .unwrap();
        let p = parse(&file, None).unwrap();
        assert_eq!(p.entries.len(), 1);
        assert_eq!(p.entries[0].issuer, "G");
        let refused: Vec<_> = p.refused.iter().map(|r| r.entry.as_str()).collect();
        assert_eq!(
            refused,
            ["A: a", "B: b", "C: c", "D: d", "E: e", "F: f", "entry 7"]
        );
        assert!(p.refused[0].reason.contains("motp"));
        assert!(p.refused[1].reason.contains("counter"));
    }

    /// Writes the fuzz seeds (`fuzz/seeds/import_andotp/`, password "fuzz", 1 iteration):
    /// `cargo test -p authenticator-core --lib write_andotp_fuzz_seeds -- --ignored`.
    #[test]
    #[ignore = "writes files into fuzz/seeds"]
    fn write_andotp_fuzz_seeds() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/import_andotp");
        std::fs::create_dir_all(&dir).unwrap();
        let plain = serde_json::to_vec(&entries()).unwrap();
        std::fs::write(dir.join("plain"), &plain).unwrap();
        std::fs::write(
            dir.join("encrypted_current"),
            current_file("fuzz", 1, &plain),
        )
        .unwrap();
        std::fs::write(
            dir.join("encrypted_old"),
            old_file("fuzz", [0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9], &plain),
        )
        .unwrap();
    }

    #[test]
    fn the_fuzz_seeds_import_through_the_fuzz_entry_point() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/import_andotp");
        let mut seen = 0;
        for f in std::fs::read_dir(dir).unwrap() {
            let bytes = std::fs::read(f.unwrap().path()).unwrap();
            let n = crate::fuzz_support::import_file(&bytes, Some("andotp"), Some("fuzz")).unwrap();
            assert!(n >= 1);
            seen += 1;
        }
        assert!(seen >= 3);
    }
}
