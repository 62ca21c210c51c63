//! Ente Auth's exports. The plain export is a list of otpauth links (with Ente's
//! `codeDisplay` parameter), read by [`super::uri_list`]. The encrypted export is JSON,
//! as Ente Auth writes it (`export_widget.dart`, `models/export/ente.dart`) and reads it
//! (`encrypted_ente_import.dart`, `ente_crypto_dart`'s `CryptoUtil`):
//!
//! ```json
//! {"version": 1,
//!  "kdfParams": {"memLimit": 268435456, "opsLimit": 16, "salt": "<base64, 16 bytes>"},
//!  "encryptedData": "<base64>", "encryptionNonce": "<base64, 24 bytes>"}
//! ```
//!
//! The key is libsodium's `crypto_pwhash` (Argon2id v1.3: `memLimit` bytes, `opsLimit`
//! passes, one lane, 32 bytes) of the password's UTF-8 bytes. The data is one
//! `crypto_secretstream_xchacha20poly1305` message, its header in `encryptionNonce`;
//! Ente decrypts it without requiring the final tag (older exporters tagged it FINAL,
//! one release tagged it MESSAGE), so any tag is accepted. The plaintext is the plain
//! export: one link a line.

use super::{uri_list, ImportFormat, ParsedFile, TransferError};
use crypto_secretstream::{Header, Key, PullStream};
use serde::Deserialize;
use zeroize::Zeroizing;

/// libsodium's smallest `memLimit` for Argon2id (8 KiB).
const MIN_MEM_LIMIT: u64 = 8192;
/// The most memory a file may ask for (libsodium's "sensitive" setting, 1 GiB).
const MAX_MEM_LIMIT: u64 = 1 << 30;
/// The most work a file may ask for, `memLimit` × `opsLimit`: Ente's own constant
/// (1 GiB × 4 = 256 MiB × 16; on a small phone it halves the memory and doubles the
/// passes, keeping the product), so a hostile file cannot ask for more than a real one.
const MAX_WORK: u64 = 4 << 30;
/// `crypto_pwhash_SALTBYTES`.
const SALT_BYTES: usize = 16;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EncryptedExport {
    version: Option<i64>,
    kdf_params: Option<KdfParams>,
    encrypted_data: Option<String>,
    encryption_nonce: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KdfParams {
    mem_limit: Option<u64>,
    ops_limit: Option<u64>,
    salt: Option<String>,
}

fn malformed(reason: impl Into<String>) -> TransferError {
    TransferError::malformed(ImportFormat::Ente, reason)
}

fn base64(text: Option<&str>, what: &str) -> Result<Vec<u8>, TransferError> {
    let text = text.ok_or_else(|| malformed(format!("{what} is missing")))?;
    data_encoding::BASE64
        .decode(text.trim().as_bytes())
        .map_err(|_| malformed(format!("{what} is not base64")))
}

/// Reads an Ente Auth export: the encrypted JSON (opened with `password`) or the plain
/// list of links.
pub fn parse(bytes: &[u8], password: Option<&str>) -> Result<ParsedFile, TransferError> {
    let text = std::str::from_utf8(bytes).map_err(|_| malformed("the file is not UTF-8 text"))?;
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if !trimmed.starts_with('{') {
        return links(text.as_bytes());
    }
    let export: EncryptedExport = serde_json::from_str(trimmed).map_err(|e| {
        malformed(format!(
            "not an Ente Auth encrypted export (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    match export.version {
        Some(1) => {}
        Some(v) => return Err(malformed(format!("export version {v} is not known"))),
        None => return Err(malformed("the export version is missing")),
    }
    let kdf = export
        .kdf_params
        .as_ref()
        .ok_or_else(|| malformed("kdfParams is missing"))?;
    let mem_limit = kdf
        .mem_limit
        .ok_or_else(|| malformed("kdfParams.memLimit is missing"))?;
    let ops_limit = kdf
        .ops_limit
        .ok_or_else(|| malformed("kdfParams.opsLimit is missing"))?;
    if !(MIN_MEM_LIMIT..=MAX_MEM_LIMIT).contains(&mem_limit) {
        return Err(malformed(format!(
            "memLimit {mem_limit} is out of range ({MIN_MEM_LIMIT} to {MAX_MEM_LIMIT} bytes)"
        )));
    }
    let work = mem_limit.checked_mul(ops_limit);
    if ops_limit == 0 || !matches!(work, Some(w) if w <= MAX_WORK) {
        return Err(malformed(format!(
            "opsLimit {ops_limit} is out of range (1 to {} with this memLimit)",
            MAX_WORK / mem_limit
        )));
    }
    let salt = base64(kdf.salt.as_deref(), "kdfParams.salt")?;
    if salt.len() != SALT_BYTES {
        return Err(malformed("kdfParams.salt is not 16 bytes"));
    }
    let header: [u8; Header::BYTES] =
        base64(export.encryption_nonce.as_deref(), "encryptionNonce")?
            .try_into()
            .map_err(|_| malformed("encryptionNonce is not 24 bytes"))?;
    let mut data = Zeroizing::new(base64(export.encrypted_data.as_deref(), "encryptedData")?);
    if data.len() < crypto_secretstream::Stream::ABYTES {
        return Err(malformed("encryptedData is too short"));
    }
    let password = match password {
        Some(p) if !p.is_empty() => p,
        _ => return Err(TransferError::PasswordRequired),
    };
    let key = derive_key(password, &salt, mem_limit, ops_limit)?;
    let mut stream = PullStream::init(Header::from(header), &Key::from(*key));
    // An AEAD failure: the password derived another key.
    stream
        .pull(&mut *data, &[])
        .map_err(|_| TransferError::WrongPassword)?;
    if std::str::from_utf8(&data)
        .map_err(|_| malformed("the decrypted export is not UTF-8 text"))?
        .trim()
        .is_empty()
    {
        // An export of no codes.
        return Ok(ParsedFile::default());
    }
    links(&data)
}

/// libsodium `crypto_pwhash(..., crypto_pwhash_ALG_ARGON2ID13)`: memlimit / 1024 KiB,
/// opslimit passes, one lane.
fn derive_key(
    password: &str,
    salt: &[u8],
    mem_limit: u64,
    ops_limit: u64,
) -> Result<Zeroizing<[u8; 32]>, TransferError> {
    let invalid = || malformed("the key derivation parameters are not valid");
    let memory_kib = u32::try_from(mem_limit / 1024).map_err(|_| invalid())?;
    let passes = u32::try_from(ops_limit).map_err(|_| invalid())?;
    let params = argon2::Params::new(memory_kib, passes, 1, Some(32)).map_err(|_| invalid())?;
    let mut key = Zeroizing::new([0u8; 32]);
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password_into(password.as_bytes(), salt, &mut key[..])
        .map_err(|_| invalid())?;
    Ok(key)
}

/// The plain export (or the decrypted one): the link list, its errors named as Ente's.
fn links(bytes: &[u8]) -> Result<ParsedFile, TransferError> {
    uri_list::parse(bytes).map_err(|e| match e {
        TransferError::Malformed { reason, .. } => malformed(reason),
        other => other,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::otp::AccountKind;
    use crate::transfer::{detect, parse_file};
    use crypto_secretstream::{PushStream, Tag};

    const PASSWORD: &str = "ente export password";

    /// The plain export Ente writes: `code.rawData` and a newline for each code, the
    /// `codeDisplay` JSON percent-encoded in the link.
    pub(crate) const PLAIN_EXPORT: &str = "otpauth://totp/GitHub:alice?secret=JBSWY3DPEHPK3PXP&issuer=GitHub&algorithm=SHA1&digits=6&period=30&codeDisplay=%7B%22pinned%22%3Atrue%2C%22trashed%22%3Afalse%7D\n\
        otpauth://hotp/Bank:bob?secret=JBSWY3DPEHPK3PXP&issuer=Bank&counter=42\n\
        otpauth://totp/Old:carol?secret=JBSWY3DPEHPK3PXP&issuer=Old&codeDisplay=%7B%22pinned%22%3Afalse%2C%22trashed%22%3Atrue%7D\n\
        otpauth://steam/Steam:gabe?secret=JBSWY3DPEHPK3PXP&issuer=Steam\n\
        otpauth://totp/Bad:dan?secret=JBSWY3DPEHPK3PXP&digits=0\n";

    /// An encrypted export as Ente Auth writes it: crypto_pwhash Argon2id13 key, one
    /// secretstream message tagged `tag`, the header as `encryptionNonce`.
    pub(crate) fn encrypted_export(
        plain: &str,
        password: &str,
        mem_limit: u64,
        ops_limit: u64,
        tag: Tag,
    ) -> String {
        let salt = [9u8; 16];
        let params =
            argon2::Params::new((mem_limit / 1024) as u32, ops_limit as u32, 1, Some(32)).unwrap();
        let mut key = [0u8; 32];
        argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
            .hash_password_into(password.as_bytes(), &salt, &mut key)
            .unwrap();
        let (header, mut stream) = PushStream::init(rand::rngs::OsRng, &Key::from(key));
        let mut data = plain.as_bytes().to_vec();
        stream.push(&mut data, &[], tag).unwrap();
        let b64 = |b: &[u8]| data_encoding::BASE64.encode(b);
        serde_json::json!({
            "version": 1,
            "kdfParams": {"memLimit": mem_limit, "opsLimit": ops_limit, "salt": b64(&salt)},
            "encryptedData": b64(&data),
            "encryptionNonce": b64(header.as_ref()),
        })
        .to_string()
    }

    fn check_plain(p: &ParsedFile) {
        assert_eq!(p.entries.len(), 3, "{:?}", p.refused);
        assert_eq!(p.entries[0].issuer, "GitHub");
        assert_eq!(
            (p.entries[1].kind, p.entries[1].counter),
            (AccountKind::Hotp, 42)
        );
        assert_eq!(p.entries[2].kind, AccountKind::Steam);
        assert_eq!(p.skipped.len(), 1);
        assert_eq!(p.skipped[0].entry, "line 3");
        assert_eq!(p.refused.len(), 1);
        assert_eq!(p.refused[0].entry, "line 5");
    }

    fn cheap(plain: &str, tag: Tag) -> String {
        encrypted_export(plain, PASSWORD, 64 * 1024, 2, tag)
    }

    #[test]
    fn encrypted_export_opens_skips_trash_and_refuses_a_bad_entry() {
        for tag in [Tag::Final, Tag::Message] {
            let file = cheap(PLAIN_EXPORT, tag);
            check_plain(&parse(file.as_bytes(), Some(PASSWORD)).unwrap());
        }
    }

    #[test]
    fn wrong_or_missing_password() {
        let file = cheap(PLAIN_EXPORT, Tag::Final);
        assert_eq!(
            parse(file.as_bytes(), Some("not it")).unwrap_err(),
            TransferError::WrongPassword
        );
        assert_eq!(
            parse(file.as_bytes(), None).unwrap_err(),
            TransferError::PasswordRequired
        );
    }

    #[test]
    fn a_changed_ciphertext_does_not_open() {
        let file = cheap(PLAIN_EXPORT, Tag::Final);
        let mut v: serde_json::Value = serde_json::from_str(&file).unwrap();
        let mut data = data_encoding::BASE64
            .decode(v["encryptedData"].as_str().unwrap().as_bytes())
            .unwrap();
        data[5] ^= 1;
        v["encryptedData"] = data_encoding::BASE64.encode(&data).into();
        assert_eq!(
            parse(v.to_string().as_bytes(), Some(PASSWORD)).unwrap_err(),
            TransferError::WrongPassword
        );
    }

    #[test]
    fn an_export_of_no_codes_is_empty() {
        let p = parse(cheap("", Tag::Final).as_bytes(), Some(PASSWORD)).unwrap();
        assert!(p.entries.is_empty() && p.refused.is_empty());
    }

    #[test]
    fn the_plain_export_is_read_as_a_link_list() {
        check_plain(&parse(PLAIN_EXPORT.as_bytes(), None).unwrap());
        assert!(matches!(
            parse(b"\n\n", None),
            Err(TransferError::Malformed { format: "ente", .. })
        ));
    }

    fn malformed_reason(file: &str) -> String {
        match parse(file.as_bytes(), Some(PASSWORD)) {
            Err(TransferError::Malformed { format, reason }) => {
                assert_eq!(format, "ente");
                reason
            }
            other => panic!(
                "expected Malformed, got {:?}",
                other.map(|p| p.entries.len())
            ),
        }
    }

    #[test]
    fn hostile_or_broken_fields_are_malformed_before_any_work() {
        let file = cheap(PLAIN_EXPORT, Tag::Final);
        let edit = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut v: serde_json::Value = serde_json::from_str(&file).unwrap();
            f(&mut v);
            v.to_string()
        };
        let cases: Vec<(String, &str)> = vec![
            (edit(&|v| v["version"] = 2.into()), "version"),
            (
                edit(&|v| v["kdfParams"]["memLimit"] = (2u64 << 30).into()),
                "memLimit",
            ),
            (
                edit(&|v| v["kdfParams"]["memLimit"] = 1024.into()),
                "memLimit",
            ),
            (edit(&|v| v["kdfParams"]["opsLimit"] = 0.into()), "opsLimit"),
            // 1 GiB and 5 passes: more work than Ente ever asks.
            (
                edit(&|v| {
                    v["kdfParams"]["memLimit"] = (1u64 << 30).into();
                    v["kdfParams"]["opsLimit"] = 5.into();
                }),
                "opsLimit",
            ),
            (
                edit(&|v| v["kdfParams"]["opsLimit"] = u64::MAX.into()),
                "opsLimit",
            ),
            (
                edit(&|v| v["kdfParams"]["salt"] = "AAAA".into()),
                "16 bytes",
            ),
            (edit(&|v| v["kdfParams"]["salt"] = "***".into()), "base64"),
            (edit(&|v| v["encryptionNonce"] = "AAAA".into()), "24 bytes"),
            (edit(&|v| v["encryptedData"] = "AAAA".into()), "too short"),
            (
                edit(&|v| v["kdfParams"] = serde_json::Value::Null),
                "kdfParams",
            ),
            (edit(&|v| v["kdfParams"]["opsLimit"] = (-1).into()), "line"),
        ];
        for (f, words) in cases {
            let r = malformed_reason(&f);
            assert!(r.contains(words), "{words}: {r}");
        }
    }

    #[test]
    fn detected_and_parsed_through_parse_file() {
        let file = cheap(PLAIN_EXPORT, Tag::Final);
        assert_eq!(detect(file.as_bytes()), Some(ImportFormat::Ente));
        let (format, p) = parse_file(file.as_bytes(), None, Some(PASSWORD)).unwrap();
        assert_eq!(format, ImportFormat::Ente);
        check_plain(&p);
        // The plain export is detected as a link list (the same parser reads it).
        assert_eq!(detect(PLAIN_EXPORT.as_bytes()), Some(ImportFormat::UriList));
        let (_, p) = parse_file(PLAIN_EXPORT.as_bytes(), Some(ImportFormat::Ente), None).unwrap();
        check_plain(&p);
    }

    /// Ente's real setting: 256 MiB, 16 passes (too slow for every run).
    #[test]
    #[ignore = "Argon2id at 256 MiB x 16 takes seconds"]
    fn encrypted_export_with_entes_default_kdf_setting() {
        let file = encrypted_export(PLAIN_EXPORT, PASSWORD, 256 << 20, 16, Tag::Final);
        check_plain(&parse(file.as_bytes(), Some(PASSWORD)).unwrap());
    }

    /// Writes the fuzz seeds (`cargo test ... write_ente_fuzz_seeds -- --ignored`).
    #[test]
    #[ignore = "writes files into fuzz/seeds"]
    fn write_ente_fuzz_seeds() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/import_ente");
        std::fs::create_dir_all(&dir).unwrap();
        let small = "otpauth://totp/GitHub:alice?secret=JBSWY3DPEHPK3PXP&issuer=GitHub\n";
        // The smallest KDF: a fuzzer runs it on every input.
        std::fs::write(
            dir.join("encrypted.json"),
            encrypted_export(small, "fuzz", 8192, 1, Tag::Final),
        )
        .unwrap();
        std::fs::write(dir.join("plain.txt"), PLAIN_EXPORT).unwrap();
    }
}
