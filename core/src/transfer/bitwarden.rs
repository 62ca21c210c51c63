//! Bitwarden's exports: the JSON export (plain, or protected with a file password) and
//! the CSV export. Bitwarden is a password manager: only logins that hold a TOTP secret
//! (`login.totp`) are accounts here; every other item (passwords without TOTP, notes,
//! cards, identities) is counted in one summary line of `skipped`, not listed one by one.
//!
//! The `totp` field holds an `otpauth://` link (read by the link parser), a
//! `steam://SECRET` secret (a Steam Guard account) or a bare base32 secret (TOTP, SHA1,
//! 6 digits, 30 s, named after the item and its username).
//!
//! The password-protected export (as Bitwarden's clients write and read it: importer
//! `bitwarden-password-protected-importer.ts`, `KeyGenerationService.deriveVaultExportKey`,
//! the SDK's `derive_kdf_key` and `stretch_key`): a key from the file password and the
//! `salt` string's UTF-8 bytes, by PBKDF2-SHA256 (`kdfType` 0) or Argon2id (`kdfType` 1:
//! `kdfMemory` MiB, `kdfParallelism` lanes, salt = SHA-256 of the salt string), stretched
//! by HKDF-Expand-SHA256 into an encryption key (info "enc") and a MAC key ("mac"). The
//! `encKeyValidation_DO_NOT_EDIT` and `data` fields are EncStrings of type 2,
//! `2.<iv>|<ciphertext>|<mac>` in base64: AES-256-CBC (PKCS#7) with HMAC-SHA256 over
//! iv || ciphertext. `data` holds the plain JSON export.
//!
//! An export encrypted with the account key (`"encrypted": true` without
//! `passwordProtected`) opens only inside that Bitwarden account and is refused.

use super::entry::{self, Fields, SecretInput};
use super::{ImportFormat, ParsedFile, TransferError};
use crate::links::{self, ParsedLink};
use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, KeyIvInit};
use ring::{digest, hkdf, hmac, pbkdf2};
use serde::{Deserialize, Deserializer};
use std::num::NonZeroU32;
use zeroize::Zeroizing;

/// PBKDF2 iterations accepted from a file (Bitwarden allows up to 2,000,000).
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
/// Argon2id memory accepted from a file, in MiB (Bitwarden's own maximum).
const MAX_ARGON2_MEMORY_MIB: u32 = 1024;
/// Argon2id passes accepted from a file (Bitwarden allows up to 10).
const MAX_ARGON2_ITERATIONS: u32 = 20;
/// Argon2id lanes accepted from a file (Bitwarden's own maximum).
const MAX_ARGON2_PARALLELISM: u32 = 16;

/// The fields of a JSON export this parser reads; everything else (passwords, URIs,
/// notes, folders) is skipped by serde without being copied.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonExport {
    encrypted: Option<bool>,
    password_protected: Option<bool>,
    items: Option<Vec<Item>>,
    salt: Option<String>,
    kdf_type: Option<u32>,
    kdf_iterations: Option<u32>,
    kdf_memory: Option<u32>,
    kdf_parallelism: Option<u32>,
    #[serde(rename = "encKeyValidation_DO_NOT_EDIT")]
    enc_key_validation: Option<String>,
    data: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Item {
    name: Option<String>,
    login: Option<Login>,
    deleted_date: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Login {
    username: Option<String>,
    #[serde(default, deserialize_with = "zeroizing")]
    totp: Option<Zeroizing<String>>,
}

fn zeroizing<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Zeroizing<String>>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(Zeroizing::new))
}

fn malformed(reason: impl Into<String>) -> TransferError {
    TransferError::malformed(ImportFormat::Bitwarden, reason)
}

/// The JSON error's position only: serde's message can quote the file's text.
fn json_error(e: &serde_json::Error) -> String {
    format!(
        "not a Bitwarden JSON export (line {}, column {})",
        e.line(),
        e.column()
    )
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes)
}

/// Reads a JSON export, opening a password-protected one with `password`.
pub fn parse(bytes: &[u8], password: Option<&str>) -> Result<ParsedFile, TransferError> {
    let export: JsonExport =
        serde_json::from_slice(strip_bom(bytes)).map_err(|e| malformed(json_error(&e)))?;
    if export.password_protected == Some(true) {
        let plain = open_protected(&export, password)?;
        let inner: JsonExport =
            serde_json::from_slice(&plain).map_err(|e| malformed(json_error(&e)))?;
        if inner.encrypted == Some(true) || inner.password_protected == Some(true) {
            return Err(malformed(
                "the protected data is itself an encrypted export",
            ));
        }
        return read_items(inner.items);
    }
    if export.encrypted == Some(true) {
        return Err(malformed(
            "this export is encrypted with the Bitwarden account key and opens only in \
             that account: export again as \"Password protected\" with a file password \
             instead (or as unencrypted JSON)",
        ));
    }
    read_items(export.items)
}

fn read_items(items: Option<Vec<Item>>) -> Result<ParsedFile, TransferError> {
    let items = items.ok_or_else(|| malformed("the export has no items list"))?;
    let mut out = ParsedFile::default();
    let mut others = 0usize;
    for (i, item) in items.iter().enumerate() {
        let name = item.name.as_deref().unwrap_or("");
        let login = item.login.as_ref();
        let username = login.and_then(|l| l.username.as_deref()).unwrap_or("");
        let totp = login
            .and_then(|l| l.totp.as_deref())
            .map(|t| t.trim())
            .unwrap_or("");
        if totp.is_empty() {
            others += 1;
            continue;
        }
        let label = entry::label(name, username, i + 1);
        if item.deleted_date.as_ref().is_some_and(|d| !d.is_null()) {
            out.skip(label, "in Bitwarden's trash");
            continue;
        }
        add_totp(&mut out, label, name, username, totp);
    }
    summarize_others(&mut out, others);
    Ok(out)
}

/// One summary line for the items that are not TOTP accounts.
fn summarize_others(out: &mut ParsedFile, others: usize) {
    if others > 0 {
        out.skip(
            format!("{others} other item{}", if others == 1 { "" } else { "s" }),
            "no TOTP secret (passwords, notes, cards, identities): not an authenticator \
             account",
        );
    }
}

/// Adds the account(s) of one item's `totp` field (trimmed, not empty).
fn add_totp(out: &mut ParsedFile, label: String, item_name: &str, username: &str, totp: &str) {
    let scheme = totp
        .split_once("://")
        .map(|(s, _)| s.to_ascii_lowercase())
        .unwrap_or_default();
    match scheme.as_str() {
        "otpauth" | "otpauth-migration" => match links::parse_link(totp) {
            Ok(ParsedLink::Otp { entries, .. }) => {
                for mut e in entries {
                    // A link without issuer or name takes the item's.
                    if e.issuer.is_empty() {
                        e.issuer = item_name.trim().to_string();
                    }
                    if e.name.is_empty() {
                        e.name = username.trim().to_string();
                    }
                    out.entries.push(e);
                }
            }
            Ok(ParsedLink::Push { .. } | ParsedLink::Container { .. }) => out.push(
                label,
                Err("a push token cannot be moved: enroll it again from its server".into()),
            ),
            Err(e) => out.push(
                label,
                Err(match e {
                    crate::error::Error::InvalidEnrollment(r) => r,
                    other => other.to_string(),
                }),
            ),
        },
        "steam" => {
            let secret = totp.get("steam://".len()..).unwrap_or("");
            out.push(
                label,
                entry::build(bare(item_name, username, "steam", secret)),
            );
        }
        _ => out.push(label, entry::build(bare(item_name, username, "totp", totp))),
    }
}

/// A bare secret: Bitwarden's defaults (SHA1, 6 digits, 30 s), named after the item.
fn bare<'a>(issuer: &'a str, name: &'a str, kind: &'a str, secret: &'a str) -> Fields<'a> {
    Fields {
        kind,
        issuer,
        name,
        secret: SecretInput::Base32(secret),
        algorithm: None,
        digits: None,
        period: None,
        counter: None,
    }
}

/// Reads a CSV export (`folder,favorite,type,name,notes,fields,reprompt,login_uri,
/// login_username,login_password,login_totp`; an organization's starts with
/// `collections`). Columns are found by their header name.
pub fn parse_csv(bytes: &[u8]) -> Result<ParsedFile, TransferError> {
    let bad = |reason: &str| TransferError::malformed(ImportFormat::BitwardenCsv, reason);
    let text =
        std::str::from_utf8(strip_bom(bytes)).map_err(|_| bad("the file is not UTF-8 text"))?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .byte_headers()
        .map_err(|_| bad("the header line cannot be read"))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim_ascii().eq_ignore_ascii_case(name.as_bytes()))
    };
    let totp_column = column("login_totp").ok_or_else(|| bad("there is no login_totp column"))?;
    let name_column = column("name");
    let username_column = column("login_username");
    let mut out = ParsedFile::default();
    let mut others = 0usize;
    // One record buffer for every row (it holds each row's password in turn).
    let mut record = csv::ByteRecord::new();
    let mut position = 0usize;
    loop {
        position += 1;
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(_) => {
                out.push(
                    format!("row {position}"),
                    Err("this row cannot be read".into()),
                );
                continue;
            }
        }
        let field = |column: Option<usize>| {
            column
                .and_then(|c| record.get(c))
                .and_then(|f| std::str::from_utf8(f).ok())
                .unwrap_or("")
        };
        let totp = field(Some(totp_column)).trim();
        if totp.is_empty() {
            others += 1;
            continue;
        }
        let (name, username) = (field(name_column), field(username_column));
        let label = entry::label(name, username, position);
        add_totp(&mut out, label, name, username, totp);
    }
    summarize_others(&mut out, others);
    Ok(out)
}

/// The key derivation a protected export names, checked against the caps.
enum Kdf {
    Pbkdf2 {
        iterations: NonZeroU32,
    },
    Argon2id {
        iterations: u32,
        memory_kib: u32,
        parallelism: u32,
    },
}

fn kdf(export: &JsonExport) -> Result<Kdf, TransferError> {
    let in_range = |value: Option<u32>, what: &str, max: u32| match value {
        Some(v) if (1..=max).contains(&v) => Ok(v),
        Some(v) => Err(malformed(format!(
            "{what} {v} is out of range (1 to {max})"
        ))),
        None => Err(malformed(format!("{what} is missing"))),
    };
    match export.kdf_type {
        Some(0) => {
            let iterations = in_range(
                export.kdf_iterations,
                "the PBKDF2 iteration count",
                MAX_PBKDF2_ITERATIONS,
            )?;
            let iterations = NonZeroU32::new(iterations)
                .ok_or_else(|| malformed("the PBKDF2 iteration count is 0"))?;
            Ok(Kdf::Pbkdf2 { iterations })
        }
        Some(1) => {
            let iterations = in_range(
                export.kdf_iterations,
                "the Argon2id iteration count",
                MAX_ARGON2_ITERATIONS,
            )?;
            let memory = in_range(
                export.kdf_memory,
                "the Argon2id memory (MiB)",
                MAX_ARGON2_MEMORY_MIB,
            )?;
            let parallelism = in_range(
                export.kdf_parallelism,
                "the Argon2id parallelism",
                MAX_ARGON2_PARALLELISM,
            )?;
            let memory_kib = memory
                .checked_mul(1024)
                .ok_or_else(|| malformed("the Argon2id memory is too large"))?;
            Ok(Kdf::Argon2id {
                iterations,
                memory_kib,
                parallelism,
            })
        }
        Some(other) => Err(malformed(format!("unknown key derivation type {other}"))),
        None => Err(malformed("the key derivation type (kdfType) is missing")),
    }
}

/// An EncString of type 2: AES-256-CBC with HMAC-SHA256.
struct EncString {
    iv: [u8; 16],
    ciphertext: Vec<u8>,
    mac: [u8; 32],
}

impl EncString {
    fn parse(text: &str, field: &str) -> Result<Self, TransferError> {
        let (kind, rest) = text
            .trim()
            .split_once('.')
            .ok_or_else(|| malformed(format!("{field} is not an encrypted string")))?;
        if kind != "2" {
            return Err(malformed(format!(
                "{field} is not of encryption type 2 (AES-256-CBC with HMAC-SHA256), the \
                 type of password-protected exports"
            )));
        }
        let mut parts = rest.split('|');
        let (Some(iv), Some(ciphertext), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed(format!(
                "{field} does not have the three parts iv|data|mac"
            )));
        };
        let b64 = |part: &str, what: &str| {
            data_encoding::BASE64
                .decode(part.trim().as_bytes())
                .map_err(|_| malformed(format!("the {what} of {field} is not base64")))
        };
        let iv: [u8; 16] = b64(iv, "iv")?
            .try_into()
            .map_err(|_| malformed(format!("the iv of {field} is not 16 bytes")))?;
        let mac: [u8; 32] = b64(mac, "mac")?
            .try_into()
            .map_err(|_| malformed(format!("the mac of {field} is not 32 bytes")))?;
        Ok(Self {
            iv,
            ciphertext: b64(ciphertext, "data")?,
            mac,
        })
    }
}

/// The stretched key pair.
struct Keys {
    encryption: Zeroizing<[u8; 32]>,
    mac: hmac::Key,
}

/// Why an EncString did not open.
enum OpenError {
    /// The MAC does not match: a wrong key (or a changed file).
    Mac,
    /// The MAC matches but the plaintext padding is broken.
    Padding,
}

impl Keys {
    fn open(&self, s: &EncString) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        let mut signed = Vec::with_capacity(s.iv.len().saturating_add(s.ciphertext.len()));
        signed.extend_from_slice(&s.iv);
        signed.extend_from_slice(&s.ciphertext);
        // Constant-time comparison, before any decryption.
        hmac::verify(&self.mac, &signed, &s.mac).map_err(|_| OpenError::Mac)?;
        let mut buffer = Zeroizing::new(s.ciphertext.clone());
        let decryptor = cbc::Decryptor::<aes::Aes256>::new_from_slices(&self.encryption[..], &s.iv)
            .map_err(|_| OpenError::Padding)?;
        let len = decryptor
            .decrypt_padded_mut::<Pkcs7>(&mut buffer)
            .map_err(|_| OpenError::Padding)?
            .len();
        buffer.truncate(len);
        Ok(buffer)
    }
}

fn derive_keys(password: &str, salt: &str, kdf: &Kdf) -> Result<Keys, TransferError> {
    let mut master = Zeroizing::new([0u8; 32]);
    match kdf {
        Kdf::Pbkdf2 { iterations } => pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            *iterations,
            salt.as_bytes(),
            password.as_bytes(),
            &mut master[..],
        ),
        Kdf::Argon2id {
            iterations,
            memory_kib,
            parallelism,
        } => {
            let params = argon2::Params::new(*memory_kib, *iterations, *parallelism, Some(32))
                .map_err(|_| malformed("the Argon2id parameters are not valid"))?;
            let salt_hash = digest::digest(&digest::SHA256, salt.as_bytes());
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
                .hash_password_into(password.as_bytes(), salt_hash.as_ref(), &mut master[..])
                .map_err(|_| malformed("the Argon2id parameters are not valid"))?;
        }
    }
    // HKDF-Expand only: the KDF output is the pseudorandom key.
    let prk = hkdf::Prk::new_less_safe(hkdf::HKDF_SHA256, &master[..]);
    let expand = |info: &[u8]| -> Result<Zeroizing<[u8; 32]>, TransferError> {
        let mut out = Zeroizing::new([0u8; 32]);
        let info = [info];
        prk.expand(&info, hkdf::HKDF_SHA256)
            .and_then(|okm| okm.fill(&mut out[..]))
            .map_err(|_| malformed("key stretching failed"))?;
        Ok(out)
    };
    let encryption = expand(b"enc")?;
    let mac = expand(b"mac")?;
    Ok(Keys {
        encryption,
        mac: hmac::Key::new(hmac::HMAC_SHA256, &mac[..]),
    })
}

/// Opens a password-protected export: the plain JSON export inside it.
fn open_protected(
    export: &JsonExport,
    password: Option<&str>,
) -> Result<Zeroizing<Vec<u8>>, TransferError> {
    let salt = export
        .salt
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| malformed("the salt is missing"))?;
    let kdf = kdf(export)?;
    let validation = EncString::parse(
        export
            .enc_key_validation
            .as_deref()
            .ok_or_else(|| malformed("encKeyValidation_DO_NOT_EDIT is missing"))?,
        "encKeyValidation_DO_NOT_EDIT",
    )?;
    let data = EncString::parse(
        export
            .data
            .as_deref()
            .ok_or_else(|| malformed("the data field is missing"))?,
        "data",
    )?;
    let password = match password {
        Some(p) if !p.is_empty() => p,
        _ => return Err(TransferError::PasswordRequired),
    };
    let keys = derive_keys(password, salt, &kdf)?;
    keys.open(&validation).map_err(|e| match e {
        OpenError::Mac => TransferError::WrongPassword,
        OpenError::Padding => malformed("encKeyValidation_DO_NOT_EDIT does not decrypt"),
    })?;
    keys.open(&data).map_err(|e| match e {
        OpenError::Mac => malformed("the data does not match its MAC: the file is damaged"),
        OpenError::Padding => malformed("the data does not decrypt"),
    })
}

#[cfg(test)]
#[path = "bitwarden_tests.rs"]
mod tests;
