//! Aegis Authenticator vaults (`docs/vault.md` of beemdevelopment/Aegis), both ways: the
//! parser of its JSON export, plain or password-encrypted, content versions 1 to 3, and
//! the writers of a plain vault (`aegis-plain`) and an encrypted one (`aegis`) that Aegis
//! itself imports.
//!
//! An encrypted vault keeps its content sealed with AES-256-GCM under a random master
//! key; each header slot holds that master key sealed under one credential. Password
//! slots (type 1) derive their key with scrypt; raw (0) and biometric (2) slots need a
//! key that never leaves the exporting phone, so they are passed over. The same layout
//! is written back: one password slot, a fresh master key and fresh nonces every time.

use super::entry::{self, Fields, SecretInput};
use super::{ImportFormat, OtpEntry, ParsedFile, TransferError};
use crate::otp::AccountKind;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Serialize;
use serde_json::Value;
use zeroize::Zeroizing;

const FORMAT: ImportFormat = ImportFormat::Aegis;
/// The vault file version Aegis writes and reads (`VaultFile.VERSION`).
const VAULT_VERSION: u64 = 1;
/// The newest content version (`Vault.VERSION`): 1 had a `group` name per entry, 2 added
/// `icon_mime` (then `note`, `favorite`, `icon_hash`), 3 has group UUIDs in `groups`.
const DB_VERSION: u64 = 3;
const TAG_LEN: usize = 16;
const KEY_LEN: usize = 32;
/// Slot types of `Slot.java`.
const SLOT_PASSWORD: u64 = 1;

/// Aegis' scrypt parameters (`CryptoUtils`: N = 2^15, r = 8, p = 1), the same as
/// Android's disk encryption.
pub const SCRYPT_LOG_N: u8 = 15;
/// scrypt block size Aegis uses.
pub const SCRYPT_R: u32 = 8;
/// scrypt parallelism Aegis uses.
pub const SCRYPT_P: u32 = 1;

/// Limits on what a file may ask of scrypt, so that a hostile file cannot hang the phone
/// or exhaust its memory: N at most 2^20, memory (128·N·r) at most 256 MiB (8 times
/// Aegis' 32 MiB), work (N·r·p) at most 32 times Aegis'.
const MAX_LOG_N: u32 = 20;
const MAX_R: u64 = 32;
const MAX_P: u64 = 16;
const MAX_N_TIMES_R: u64 = 1 << 21;
const MAX_N_TIMES_R_TIMES_P: u64 = 1 << 23;
/// All password slots of a file together: twice the most one slot may ask, 64 times
/// Aegis' (a vault has a regular and maybe a backup password slot).
const MAX_TOTAL_WORK: u64 = 1 << 24;

// ---------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------

/// Reads an Aegis vault, opening it with `password` when it is encrypted.
pub fn parse(bytes: &[u8], password: Option<&str>) -> Result<ParsedFile, TransferError> {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    // serde's own messages can quote the input (a secret): never pass them on.
    let file: FileIn = serde_json::from_slice(bytes)
        .map_err(|_| TransferError::malformed(FORMAT, "the file is not a JSON object"))?;
    match whole_number(file.version.as_ref()) {
        Some(VAULT_VERSION) => {}
        Some(v) => {
            return Err(TransferError::malformed(
                FORMAT,
                format!("vault version {v} is not supported (only {VAULT_VERSION})"),
            ))
        }
        None => {
            return Err(TransferError::malformed(
                FORMAT,
                "the vault version is missing",
            ))
        }
    }
    let Some(Value::Object(header)) = file.header else {
        return Err(TransferError::malformed(FORMAT, "the header is missing"));
    };
    let slots = header.get("slots").unwrap_or(&Value::Null);
    let params = header.get("params").unwrap_or(&Value::Null);
    let db = match (slots, params, file.db) {
        (Value::Null, Value::Null, Some(DbField::Object(db))) => db,
        (Value::Null, Value::Null, _) => {
            return Err(TransferError::malformed(
                FORMAT,
                "the header says plain but the content is not a JSON object",
            ))
        }
        (Value::Array(slots), Value::Object(params), Some(DbField::Text(sealed))) => {
            let password = password.ok_or(TransferError::PasswordRequired)?;
            let plain = open_vault(slots, params, &sealed, password)?;
            serde_json::from_slice::<DbIn>(&plain).map_err(|_| {
                TransferError::malformed(FORMAT, "the decrypted content is not a JSON object")
            })?
        }
        (Value::Array(_), Value::Object(_), _) => {
            return Err(TransferError::malformed(
                FORMAT,
                "the header says encrypted but the content is not a base64 string",
            ))
        }
        _ => {
            return Err(TransferError::malformed(
                FORMAT,
                "the header's slots and params are neither both null nor a list and an object",
            ))
        }
    };
    read_db(db)
}

fn read_db(db: DbIn) -> Result<ParsedFile, TransferError> {
    match whole_number(db.version.as_ref()) {
        Some(v) if (1..=DB_VERSION).contains(&v) => {}
        Some(v) => {
            return Err(TransferError::malformed(
                FORMAT,
                format!("content version {v} is not supported (1 to {DB_VERSION})"),
            ))
        }
        None => {
            return Err(TransferError::malformed(
                FORMAT,
                "the content version is missing",
            ))
        }
    }
    let Some(Listed::List(entries)) = db.entries else {
        return Err(TransferError::malformed(
            FORMAT,
            "the entry list is missing",
        ));
    };
    let mut out = ParsedFile::default();
    for (i, e) in entries.into_iter().enumerate() {
        let position = i.saturating_add(1);
        let Lenient::Object(e) = e else {
            out.push(
                format!("entry {position}"),
                Err("the entry is not a JSON object".into()),
            );
            continue;
        };
        let issuer = text(e.issuer.as_ref());
        let name = text(e.name.as_ref());
        let label = entry::label(issuer, name, position);
        out.push(label, read_entry(&e, issuer, name));
    }
    Ok(out)
}

/// One entry (`VaultEntry.fromJson`, `OtpInfo.fromJson`). Groups, note, favorite and
/// icon are not kept: accounts here have none of them.
fn read_entry(e: &EntryIn, issuer: &str, name: &str) -> Result<crate::links::OtpEntry, String> {
    let kind = match &e.kind {
        Some(Value::String(k)) => k.as_str(),
        Some(_) => return Err("the token type is not text".into()),
        None => return Err("the token type is missing".into()),
    };
    let lower = kind.trim().to_ascii_lowercase();
    if lower == "motp" || lower == "yandex" {
        return Err(format!(
            "{kind} tokens are not supported (their codes use a PIN and another algorithm)"
        ));
    }
    let Some(Lenient::Object(info)) = &e.info else {
        return Err("the OTP parameters (info) are missing".into());
    };
    let secret = match &info.secret {
        Some(SecretIn::Text(s)) => s.as_str(),
        Some(SecretIn::NotText) => return Err("the secret is not text".into()),
        None => return Err("the secret is missing or empty".into()),
    };
    let algorithm = match &info.algo {
        None | Some(Value::Null) => None,
        // Aegis' own workaround: only mOTP uses MD5, a non-mOTP entry set to it is SHA1.
        Some(Value::String(a)) if a.trim().eq_ignore_ascii_case("MD5") => Some("SHA1"),
        Some(Value::String(a)) => Some(a.as_str()),
        Some(_) => return Err("the algorithm is not text".into()),
    };
    entry::build(Fields {
        kind,
        issuer,
        name,
        secret: SecretInput::Base32(secret),
        algorithm,
        digits: integer(info.digits.as_ref(), "digits")?,
        period: integer(info.period.as_ref(), "period")?,
        counter: integer(info.counter.as_ref(), "counter")?,
    })
}

/// A number field as Aegis' `getInt`/`getLong` read it (a whole number, or text holding
/// one); `None` when absent.
fn integer(v: Option<&Value>, what: &str) -> Result<Option<i64>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            })
            .map(Some)
            .ok_or_else(|| format!("{what} is not a whole number")),
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| format!("{what} is not a whole number")),
        Some(_) => Err(format!("{what} is not a whole number")),
    }
}

fn whole_number(v: Option<&Value>) -> Option<u64> {
    v.and_then(Value::as_u64)
}

fn text(v: Option<&Value>) -> &str {
    v.and_then(Value::as_str).unwrap_or("")
}

/// Finds the master key through the password slots, then opens the content.
fn open_vault(
    slots: &[Value],
    params: &serde_json::Map<String, Value>,
    sealed_b64: &str,
    password: &str,
) -> Result<Zeroizing<Vec<u8>>, TransferError> {
    let password_slots: Vec<&Value> = slots
        .iter()
        .filter(|s| s.get("type").and_then(Value::as_u64) == Some(SLOT_PASSWORD))
        .collect();
    if password_slots.is_empty() {
        return Err(TransferError::malformed(
            FORMAT,
            "the vault has no password slot (it opens only with a key kept on the exporting \
             phone): export it from Aegis with a password",
        ));
    }
    let read: Vec<Result<SlotIn, TransferError>> =
        password_slots.into_iter().map(read_password_slot).collect();
    let total_work = read
        .iter()
        .flatten()
        .try_fold(0u64, |sum, slot| sum.checked_add(slot.work));
    if total_work.is_none_or(|w| w > MAX_TOTAL_WORK) {
        return Err(TransferError::malformed(
            FORMAT,
            "the password slots together ask for more scrypt work than this app allows",
        ));
    }
    let mut first_problem = None;
    let mut tried = false;
    let mut master = None;
    for slot in read {
        match slot {
            Ok(slot) => {
                tried = true;
                if let Some(key) = slot.open(password)? {
                    master = Some(key);
                    break;
                }
            }
            Err(e) => {
                first_problem.get_or_insert(e);
            }
        }
    }
    let master = match (master, first_problem) {
        (Some(k), _) => k,
        // No slot could even be tried: say why rather than "wrong password".
        (None, Some(problem)) if !tried => return Err(problem),
        (None, _) => return Err(TransferError::WrongPassword),
    };
    let nonce = hex_field(params.get("nonce"), NONCE_LEN, "the content nonce")?;
    let tag = hex_field(params.get("tag"), TAG_LEN, "the content tag")?;
    let cleaned: String = sealed_b64
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let mut sealed = Zeroizing::new(
        data_encoding::BASE64
            .decode(cleaned.as_bytes())
            .map_err(|_| TransferError::malformed(FORMAT, "the content is not valid base64"))?,
    );
    sealed.extend_from_slice(&tag);
    let plain_len = aes_gcm_open(&master[..], &nonce, &mut sealed).ok_or_else(|| {
        // The password opened a slot, so this is damage, not a wrong password.
        TransferError::malformed(
            FORMAT,
            "the content does not open with the vault's master key (the file is damaged)",
        )
    })?;
    sealed.truncate(plain_len);
    Ok(sealed)
}

/// A password slot's fields, checked (scrypt costs within the limits) but not run.
struct SlotIn {
    log_n: u8,
    r: u32,
    p: u32,
    /// N·r·p, for the file's total budget.
    work: u64,
    salt: Vec<u8>,
    nonce: Vec<u8>,
    /// The sealed master key, then its tag.
    sealed_key: Vec<u8>,
}

fn read_password_slot(slot: &Value) -> Result<SlotIn, TransferError> {
    let n = slot.get("n").and_then(Value::as_u64);
    let r = slot.get("r").and_then(Value::as_u64);
    let p = slot.get("p").and_then(Value::as_u64);
    let (Some(n), Some(r), Some(p)) = (n, r, p) else {
        return Err(TransferError::malformed(
            FORMAT,
            "a password slot lacks its scrypt parameters (n, r, p)",
        ));
    };
    let (log_n, r, p) = checked_scrypt_params(n, r, p)?;
    let salt = hex_bytes(slot.get("salt"), "a password slot's salt")?;
    let key_params = slot.get("key_params");
    let nonce = hex_field(
        key_params.and_then(|k| k.get("nonce")),
        NONCE_LEN,
        "a password slot's nonce",
    )?;
    let tag = hex_field(
        key_params.and_then(|k| k.get("tag")),
        TAG_LEN,
        "a password slot's tag",
    )?;
    let mut sealed_key = hex_field(slot.get("key"), KEY_LEN, "a password slot's key")?;
    sealed_key.extend_from_slice(&tag);
    Ok(SlotIn {
        log_n,
        r,
        p,
        // Cannot overflow: checked_scrypt_params bounds each factor.
        work: (1u64 << log_n)
            .saturating_mul(u64::from(r))
            .saturating_mul(u64::from(p)),
        salt,
        nonce,
        sealed_key,
    })
}

impl SlotIn {
    /// `Some(master key)` when the password opens the slot, `None` when it does not (an
    /// AEAD failure).
    fn open(&self, password: &str) -> Result<Option<Zeroizing<[u8; KEY_LEN]>>, TransferError> {
        let slot_key = scrypt_key(password, &self.salt, self.log_n, self.r, self.p)?;
        let mut in_out = Zeroizing::new(self.sealed_key.clone());
        let Some(len) = aes_gcm_open(&slot_key[..], &self.nonce, &mut in_out) else {
            return Ok(None);
        };
        let mut master = Zeroizing::new([0u8; KEY_LEN]);
        match in_out.get(..len) {
            Some(plain) if plain.len() == KEY_LEN => master.copy_from_slice(plain),
            _ => {
                return Err(TransferError::malformed(
                    FORMAT,
                    "a password slot holds a master key of the wrong length",
                ))
            }
        }
        Ok(Some(master))
    }
}

/// Checks a file's scrypt parameters against the limits; returns (log2 N, r, p).
fn checked_scrypt_params(n: u64, r: u64, p: u64) -> Result<(u8, u32, u32), TransferError> {
    let too_costly = || {
        TransferError::malformed(
            FORMAT,
            format!(
                "a password slot's scrypt cost (N={n}, r={r}, p={p}) is above this app's limit"
            ),
        )
    };
    if n < 2 || !n.is_power_of_two() || r == 0 || p == 0 {
        return Err(TransferError::malformed(
            FORMAT,
            format!("a password slot has invalid scrypt parameters (N={n}, r={r}, p={p})"),
        ));
    }
    let log_n = n.trailing_zeros();
    let n_r = n.checked_mul(r).ok_or_else(too_costly)?;
    let work = n_r.checked_mul(p).ok_or_else(too_costly)?;
    if log_n > MAX_LOG_N
        || r > MAX_R
        || p > MAX_P
        || n_r > MAX_N_TIMES_R
        || work > MAX_N_TIMES_R_TIMES_P
    {
        return Err(too_costly());
    }
    match (u8::try_from(log_n), u32::try_from(r), u32::try_from(p)) {
        (Ok(l), Ok(r), Ok(p)) => Ok((l, r, p)),
        _ => Err(too_costly()),
    }
}

/// scrypt of the password's UTF-8 bytes (Aegis' `CryptoUtils.toBytes`), 32 bytes out.
fn scrypt_key(
    password: &str,
    salt: &[u8],
    log_n: u8,
    r: u32,
    p: u32,
) -> Result<Zeroizing<[u8; KEY_LEN]>, TransferError> {
    let params = scrypt::Params::new(log_n, r, p).map_err(|_| {
        TransferError::malformed(FORMAT, "a password slot has invalid scrypt parameters")
    })?;
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    scrypt::scrypt(password.as_bytes(), salt, &params, &mut key[..]).map_err(|_| {
        TransferError::malformed(FORMAT, "a password slot has invalid scrypt parameters")
    })?;
    Ok(key)
}

/// Opens `in_out` (ciphertext then tag) in place; returns the plaintext length, or
/// `None` when the key does not open it.
fn aes_gcm_open(key: &[u8], nonce: &[u8], in_out: &mut [u8]) -> Option<usize> {
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).ok()?);
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    key.open_in_place(nonce, Aad::empty(), in_out)
        .ok()
        .map(|plain| plain.len())
}

fn hex_bytes(v: Option<&Value>, what: &str) -> Result<Vec<u8>, TransferError> {
    v.and_then(Value::as_str)
        .and_then(|s| {
            data_encoding::HEXLOWER_PERMISSIVE
                .decode(s.trim().as_bytes())
                .ok()
        })
        .ok_or_else(|| TransferError::malformed(FORMAT, format!("{what} is not valid hex")))
}

fn hex_field(v: Option<&Value>, len: usize, what: &str) -> Result<Vec<u8>, TransferError> {
    let bytes = hex_bytes(v, what)?;
    if bytes.len() != len {
        return Err(TransferError::malformed(
            FORMAT,
            format!("{what} is {} bytes, not {len}", bytes.len()),
        ));
    }
    Ok(bytes)
}

// The file read into typed parts without ever failing on one entry's shape: a field of
// the wrong type becomes a value the entry check refuses, and the secret goes straight
// into a zeroized string (never into a `serde_json::Value`).

#[derive(serde::Deserialize)]
struct FileIn {
    version: Option<Value>,
    header: Option<Value>,
    db: Option<DbField>,
}

/// `db`: the content object (plain vault) or its base64 ciphertext (encrypted vault).
enum DbField {
    Object(DbIn),
    Text(String),
    Other,
}

#[derive(serde::Deserialize)]
struct DbIn {
    version: Option<Value>,
    entries: Option<Listed<Lenient<EntryIn>>>,
}

#[derive(serde::Deserialize)]
struct EntryIn {
    #[serde(rename = "type")]
    kind: Option<Value>,
    name: Option<Value>,
    issuer: Option<Value>,
    info: Option<Lenient<InfoIn>>,
}

#[derive(serde::Deserialize)]
struct InfoIn {
    secret: Option<SecretIn>,
    algo: Option<Value>,
    digits: Option<Value>,
    period: Option<Value>,
    counter: Option<Value>,
}

enum SecretIn {
    Text(Zeroizing<String>),
    NotText,
}

/// A JSON object read as `T`, or anything else.
enum Lenient<T> {
    Object(T),
    Other,
}

/// A JSON array, or anything else.
enum Listed<T> {
    List(Vec<T>),
    Other,
}

/// Consumes any JSON value the caller does not want, returning `out`.
fn drain_seq<'de, A: SeqAccess<'de>, T>(mut seq: A, out: T) -> Result<T, A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(out)
}

fn drain_map<'de, A: MapAccess<'de>, T>(mut map: A, out: T) -> Result<T, A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(out)
}

/// Implements the scalar `visit_*` methods of a visitor as "returns `$other`".
macro_rules! scalars_are {
    ($other:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($other)
        }
    };
}

impl<'de> Deserialize<'de> for DbField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DbField;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object or a string")
            }
            scalars_are!(DbField::Other);
            fn visit_str<E: de::Error>(self, s: &str) -> Result<DbField, E> {
                Ok(DbField::Text(s.to_string()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<DbField, E> {
                Ok(DbField::Text(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<DbField, A::Error> {
                drain_seq(seq, DbField::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<DbField, A::Error> {
                DbIn::deserialize(de::value::MapAccessDeserializer::new(map)).map(DbField::Object)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Lenient<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            scalars_are!(Lenient::Other);
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Lenient::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                drain_seq(seq, Lenient::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Lenient::Object)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Listed<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Listed<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list")
            }
            scalars_are!(Listed::Other);
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Listed::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<T>()? {
                    items.push(item);
                }
                Ok(Listed::List(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                drain_map(map, Listed::Other)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

impl<'de> Deserialize<'de> for SecretIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SecretIn;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            scalars_are!(SecretIn::NotText);
            fn visit_str<E: de::Error>(self, s: &str) -> Result<SecretIn, E> {
                Ok(SecretIn::Text(Zeroizing::new(s.to_string())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<SecretIn, E> {
                Ok(SecretIn::Text(Zeroizing::new(s)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<SecretIn, A::Error> {
                drain_seq(seq, SecretIn::NotText)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<SecretIn, A::Error> {
                drain_map(map, SecretIn::NotText)
            }
        }
        d.deserialize_any(V)
    }
}

// ---------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------

/// A password slot's scrypt-derived key with its salt and parameters: derived once (the
/// slow step), then used for any number of encrypted exports with the same password
/// (an automatic backup), each with a fresh master key wrapped under it.
pub struct PasswordSlot {
    salt: [u8; 32],
    n: u32,
    r: u32,
    p: u32,
    key: Zeroizing<[u8; KEY_LEN]>,
}

impl std::fmt::Debug for PasswordSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordSlot")
            .field("n", &self.n)
            .field("r", &self.r)
            .field("p", &self.p)
            .field("key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl PasswordSlot {
    /// Derives the slot key from `password` with Aegis' parameters and a random salt.
    pub fn derive(password: &str) -> Result<Self, TransferError> {
        Self::derive_with_cost(password, SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P)
    }

    /// Like [`derive`](Self::derive) with other scrypt costs (cheap ones in tests and
    /// fuzz seeds).
    pub(crate) fn derive_with_cost(
        password: &str,
        log_n: u8,
        r: u32,
        p: u32,
    ) -> Result<Self, TransferError> {
        let n = 1u32
            .checked_shl(u32::from(log_n))
            .ok_or_else(|| export_failed("scrypt N does not fit"))?;
        let mut salt = [0u8; 32];
        fill_random(&mut salt)?;
        let key = scrypt_key(password, &salt, log_n, r, p)?;
        Ok(Self { salt, n, r, p, key })
    }

    /// The slot as bytes to keep (sealed) between backups: a layout version byte, the
    /// salt, N, r and p (little-endian u32), then the derived key.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(SLOT_BYTES_LEN));
        out.push(SLOT_BYTES_VERSION);
        out.extend_from_slice(&self.salt);
        for v in [self.n, self.r, self.p] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.key[..]);
        out
    }

    /// Reads [`to_bytes`](Self::to_bytes) back; `None` when the bytes are not a slot
    /// (wrong length or layout version, scrypt parameters out of the limits).
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != SLOT_BYTES_LEN || bytes.first() != Some(&SLOT_BYTES_VERSION) {
            return None;
        }
        let u32_at = |at: usize| -> Option<u32> {
            Some(u32::from_le_bytes(
                bytes.get(at..at.checked_add(4)?)?.try_into().ok()?,
            ))
        };
        let (n, r, p) = (u32_at(33)?, u32_at(37)?, u32_at(41)?);
        checked_scrypt_params(u64::from(n), u64::from(r), u64::from(p)).ok()?;
        let mut salt = [0u8; 32];
        salt.copy_from_slice(bytes.get(1..33)?);
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        key.copy_from_slice(bytes.get(45..45 + KEY_LEN)?);
        Some(Self { salt, n, r, p, key })
    }
}

/// Layout version and length of [`PasswordSlot::to_bytes`].
const SLOT_BYTES_VERSION: u8 = 1;
const SLOT_BYTES_LEN: usize = 1 + 32 + 3 * 4 + KEY_LEN;

/// Writes a plain Aegis vault (`aegis-plain`): content version 3 in the clear. The file
/// holds the secrets; push tokens are left out.
pub fn write_plain(entries: &[OtpEntry]) -> Vec<u8> {
    let secrets = encoded_secrets(entries);
    // Only the system random generator failing stops a plain export (its entry UUIDs):
    // nothing is written then.
    let Ok(uuids) = entries_uuids(entries.len()) else {
        return Vec::new();
    };
    let file = FileOut {
        version: VAULT_VERSION,
        header: HeaderOut {
            slots: None,
            params: None,
        },
        db: db_out(entries, &secrets, &uuids),
    };
    // Cannot fail: derived `Serialize` into a `Vec`.
    pretty_json(&file).map(|z| z.to_vec()).unwrap_or_default()
}

/// Writes an encrypted Aegis vault (`aegis`): one password slot with Aegis' scrypt
/// parameters. Equivalent to [`PasswordSlot::derive`] then
/// [`write_encrypted_with_slot`].
#[cfg(test)]
pub fn write_encrypted(entries: &[OtpEntry], password: &str) -> Result<Vec<u8>, TransferError> {
    write_encrypted_with_slot(entries, &PasswordSlot::derive(password)?)
}

/// Writes an encrypted Aegis vault whose one password slot is `slot`: a fresh random
/// master key seals the content (content version 3) and is itself sealed under the slot
/// key, each with a fresh random nonce.
pub fn write_encrypted_with_slot(
    entries: &[OtpEntry],
    slot: &PasswordSlot,
) -> Result<Vec<u8>, TransferError> {
    let mut master = Zeroizing::new([0u8; KEY_LEN]);
    fill_random(&mut master[..])?;

    let mut wrapped_master = Zeroizing::new(master.to_vec());
    let (slot_nonce, slot_tag) = aes_gcm_seal(&slot.key[..], &mut wrapped_master)?;

    let secrets = encoded_secrets(entries);
    let uuids = entries_uuids(entries.len())?;
    let mut content = pretty_json(&db_out(entries, &secrets, &uuids))?;
    let (db_nonce, db_tag) = aes_gcm_seal(&master[..], &mut content)?;

    let file = FileOut {
        version: VAULT_VERSION,
        header: HeaderOut {
            slots: Some(vec![SlotOut {
                kind: SLOT_PASSWORD,
                uuid: uuid_v4()?,
                key: hex(&wrapped_master),
                key_params: ParamsOut {
                    nonce: hex(&slot_nonce),
                    tag: hex(&slot_tag),
                },
                n: slot.n,
                r: slot.r,
                p: slot.p,
                salt: hex(&slot.salt),
                // Aegis sets `repaired` whenever it wraps a master key (issue #95: old
                // slots of long passwords used another byte encoding).
                repaired: true,
                is_backup: false,
            }]),
            params: Some(ParamsOut {
                nonce: hex(&db_nonce),
                tag: hex(&db_tag),
            }),
        },
        db: data_encoding::BASE64.encode(&content),
    };
    Ok(pretty_json(&file)?.to_vec())
}

#[derive(Serialize)]
struct FileOut<D> {
    version: u64,
    header: HeaderOut,
    db: D,
}

#[derive(Serialize)]
struct HeaderOut {
    slots: Option<Vec<SlotOut>>,
    params: Option<ParamsOut>,
}

/// Field order and names of `PasswordSlot.toJson`.
#[derive(Serialize)]
struct SlotOut {
    #[serde(rename = "type")]
    kind: u64,
    uuid: String,
    key: String,
    key_params: ParamsOut,
    n: u32,
    r: u32,
    p: u32,
    salt: String,
    repaired: bool,
    is_backup: bool,
}

#[derive(Serialize)]
struct ParamsOut {
    nonce: String,
    tag: String,
}

/// `Vault.toJson`.
#[derive(Serialize)]
struct DbOut<'a> {
    version: u64,
    entries: Vec<EntryOut<'a>>,
    groups: &'static [&'static str],
    icons_optimized: bool,
}

/// `VaultEntry.toJson` of an entry without icon, note, favorite or group (`icon_mime`
/// and `icon_hash` are written only with an icon).
#[derive(Serialize)]
struct EntryOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    uuid: &'a str,
    name: &'a str,
    issuer: &'a str,
    note: &'static str,
    favorite: bool,
    icon: Option<()>,
    info: InfoOut<'a>,
    groups: &'static [&'static str],
}

/// `OtpInfo.toJson` with `TotpInfo`'s period or `HotpInfo`'s counter.
#[derive(Serialize)]
struct InfoOut<'a> {
    secret: &'a str,
    algo: &'static str,
    digits: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    period: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    counter: Option<u64>,
}

/// Base32 without padding, as Aegis' `Base32.encode` (Guava, `omitPadding`).
fn encoded_secrets(entries: &[OtpEntry]) -> Vec<Zeroizing<String>> {
    entries
        .iter()
        .map(|e| Zeroizing::new(data_encoding::BASE32_NOPAD.encode(&e.secret)))
        .collect()
}

fn entries_uuids(count: usize) -> Result<Vec<String>, TransferError> {
    (0..count).map(|_| uuid_v4()).collect()
}

fn db_out<'a>(
    entries: &'a [OtpEntry],
    secrets: &'a [Zeroizing<String>],
    uuids: &'a [String],
) -> DbOut<'a> {
    let entries = entries
        .iter()
        .zip(secrets)
        .zip(uuids)
        .filter_map(|((e, secret), uuid)| {
            let (kind, algo, digits, period, counter) = match e.kind {
                AccountKind::Totp => ("totp", e.algorithm.as_str(), e.digits, Some(e.period), None),
                AccountKind::Hotp => (
                    "hotp",
                    e.algorithm.as_str(),
                    e.digits,
                    None,
                    Some(e.counter),
                ),
                // `SteamInfo`'s fixed values.
                AccountKind::Steam => ("steam", "SHA1", 5, Some(30), None),
                AccountKind::Push => return None,
            };
            Some(EntryOut {
                kind,
                uuid,
                name: &e.name,
                issuer: &e.issuer,
                note: "",
                favorite: false,
                icon: None,
                info: InfoOut {
                    secret,
                    algo,
                    digits,
                    period,
                    counter,
                },
                groups: &[],
            })
        })
        .collect();
    DbOut {
        version: DB_VERSION,
        entries,
        groups: &[],
        icons_optimized: true,
    }
}

/// Counts the bytes a serialization writes, so that the real one goes into a buffer of
/// exactly that size (no reallocation leaves a copy of a secret behind).
struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 = self.0.saturating_add(buf.len());
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// JSON with four-space indentation, as Aegis' `toString(4)`, in a zeroized buffer.
fn pretty_json<T: Serialize>(value: &T) -> Result<Zeroizing<Vec<u8>>, TransferError> {
    fn write<W: std::io::Write, T: Serialize>(w: W, value: &T) -> Result<(), TransferError> {
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut ser = serde_json::Serializer::with_formatter(w, formatter);
        value
            .serialize(&mut ser)
            .map_err(|_| export_failed("the vault could not be written as JSON"))
    }
    let mut counter = ByteCounter(0);
    write(&mut counter, value)?;
    let mut out = Zeroizing::new(Vec::with_capacity(counter.0));
    write(&mut *out, value)?;
    Ok(out)
}

/// Seals `in_out` in place under `key` with a fresh random nonce; returns (nonce, tag).
fn aes_gcm_seal(
    key: &[u8],
    in_out: &mut [u8],
) -> Result<([u8; NONCE_LEN], [u8; TAG_LEN]), TransferError> {
    let mut nonce = [0u8; NONCE_LEN];
    fill_random(&mut nonce)?;
    let key = UnboundKey::new(&AES_256_GCM, key)
        .map(LessSafeKey::new)
        .map_err(|_| export_failed("AES-256-GCM key setup failed"))?;
    let tag = key
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), in_out)
        .map_err(|_| export_failed("AES-256-GCM sealing failed"))?;
    let mut tag_bytes = [0u8; TAG_LEN];
    tag_bytes.copy_from_slice(tag.as_ref());
    Ok((nonce, tag_bytes))
}

fn fill_random(buf: &mut [u8]) -> Result<(), TransferError> {
    SystemRandom::new()
        .fill(buf)
        .map_err(|_| export_failed("the system random number generator failed"))
}

/// A random (version 4) UUID in its usual text form.
fn uuid_v4() -> Result<String, TransferError> {
    let mut b = [0u8; 16];
    fill_random(&mut b)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        h.get(0..8).unwrap_or_default(),
        h.get(8..12).unwrap_or_default(),
        h.get(12..16).unwrap_or_default(),
        h.get(16..20).unwrap_or_default(),
        h.get(20..32).unwrap_or_default()
    ))
}

fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

/// An export-side failure (no random numbers, a crypto call refused): not the user's
/// file, but the transfer error type is shared with the readers.
fn export_failed(reason: &str) -> TransferError {
    TransferError::malformed(FORMAT, format!("cannot write the vault: {reason}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn scrypt_limits_refuse_hostile_costs_before_any_work() {
        assert!(checked_scrypt_params(1 << 15, 8, 1).is_ok());
        for (n, r, p) in [
            (1u64 << 21, 1, 1),
            (1 << 20, 8, 1),
            (1 << 15, 8, 64),
            (1 << 15, u64::MAX, 1),
            (u64::MAX, 8, 1),
            (1 << 63, 1 << 40, 1),
            (3, 8, 1),
            (1 << 10, 0, 1),
            (1 << 10, 8, 0),
            (0, 8, 1),
        ] {
            assert!(
                matches!(
                    checked_scrypt_params(n, r, p),
                    Err(TransferError::Malformed { .. })
                ),
                "{n} {r} {p}"
            );
        }
    }

    #[test]
    fn uuids_are_version_4() {
        let u = uuid_v4().unwrap();
        assert_eq!(u.len(), 36);
        assert_eq!(u.as_bytes()[14], b'4');
        assert!(matches!(u.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
        assert_eq!(u.matches('-').count(), 4);
    }

    #[test]
    fn a_slot_kept_as_bytes_comes_back_the_same() {
        let slot = PasswordSlot::derive_with_cost("pw", 4, 8, 1).unwrap();
        let bytes = slot.to_bytes();
        assert_eq!(bytes.len(), SLOT_BYTES_LEN);
        let back = PasswordSlot::from_bytes(&bytes).unwrap();
        assert_eq!(
            (back.salt, back.n, back.r, back.p, *back.key),
            (slot.salt, 16, 8, 1, *slot.key)
        );
        assert!(PasswordSlot::from_bytes(&bytes[1..]).is_none());
        let mut other_version = bytes.to_vec();
        other_version[0] = 2;
        assert!(PasswordSlot::from_bytes(&other_version).is_none());
        let mut bad_n = bytes.to_vec();
        bad_n[33] = 3;
        assert!(PasswordSlot::from_bytes(&bad_n).is_none());
        // The restored slot writes a vault the password opens.
        let file = write_encrypted_with_slot(&[], &back).unwrap();
        assert!(parse(&file, Some("pw")).unwrap().entries.is_empty());
        assert_eq!(
            parse(&file, Some("pw2")).unwrap_err(),
            TransferError::WrongPassword
        );
    }

    #[test]
    fn slot_debug_hides_the_key() {
        let slot = PasswordSlot::derive_with_cost("pw", 4, 8, 1).unwrap();
        let shown = format!("{slot:?}");
        assert!(shown.contains("redacted") && !shown.contains(&hex(&slot.key[..])));
    }
}
