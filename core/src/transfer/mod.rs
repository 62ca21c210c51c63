//! Moving accounts in and out: the pure parsers of other apps' export files and the
//! writers of the formats other apps read. Nothing here touches the vault; the service
//! on top (`service.rs`) stores an import in one transaction and reads the vault for an
//! export.
//!
//! Every parser turns a whole file into a [`ParsedFile`]: the accounts it could read
//! (as the same [`OtpEntry`] a scanned link gives), the entries it refused with a reason
//! naming the entry, and the entries it skipped on purpose (trashed, not an OTP). Only a
//! file-level problem is an error: not a known format, a password needed or wrong, a
//! broken container.

pub mod aegis;
#[cfg(test)]
mod aegis_fixtures;
pub mod andotp;
pub mod backup;
pub mod bitwarden;
pub mod ente;
pub mod entry;
pub mod export;
pub mod freeotp_plus;
pub mod service;
pub mod twofas;
pub mod uri_list;

use crate::links::OtpEntry;
use serde_json::{Map, Value};

/// The export formats, as named on the CLI (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ExportFormat {
    /// Aegis's encrypted vault (one password slot, scrypt N=2^15, r=8, p=1).
    Aegis,
    /// Aegis's plain vault.
    AegisPlain,
    /// One otpauth link a line.
    UriList,
    /// Google Authenticator `otpauth-migration://offline` links, one per QR code.
    Google,
}

impl ExportFormat {
    /// The name used on the CLI and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Aegis => "aegis",
            Self::AegisPlain => "aegis-plain",
            Self::UriList => "uri-list",
            Self::Google => "google",
        }
    }

    /// Parses a CLI name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Aegis, Self::AegisPlain, Self::UriList, Self::Google]
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// True for the formats that carry secrets in the clear.
    pub fn is_plain(self) -> bool {
        !matches!(self, Self::Aegis)
    }
}

/// The import formats, as named on the CLI (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ImportFormat {
    /// Aegis JSON vault (versions 1-3), plain or encrypted.
    Aegis,
    /// 2FAS `.2fas` backup (schema 1-4), plain or encrypted.
    TwoFas,
    /// Bitwarden JSON export, plain or password-protected.
    Bitwarden,
    /// Bitwarden CSV export.
    BitwardenCsv,
    /// andOTP JSON backup, plain or encrypted (new PBKDF2 and old SHA-256 key).
    AndOtp,
    /// FreeOTP+ JSON export.
    FreeOtpPlus,
    /// Ente Auth export: the plain text list or the encrypted JSON.
    Ente,
    /// One otpauth (or otpauth-migration) link a line.
    UriList,
}

impl ImportFormat {
    /// The name used on the CLI and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Aegis => "aegis",
            Self::TwoFas => "2fas",
            Self::Bitwarden => "bitwarden",
            Self::BitwardenCsv => "bitwarden-csv",
            Self::AndOtp => "andotp",
            Self::FreeOtpPlus => "freeotp-plus",
            Self::Ente => "ente",
            Self::UriList => "uri-list",
        }
    }

    /// Parses a CLI name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Aegis,
            Self::TwoFas,
            Self::Bitwarden,
            Self::BitwardenCsv,
            Self::AndOtp,
            Self::FreeOtpPlus,
            Self::Ente,
            Self::UriList,
        ]
        .into_iter()
        .find(|f| f.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// An entry of a file that was not imported, and why. `entry` names it for the user
/// (issuer and name, or its position); `reason` never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotImported {
    /// Which entry ("GitHub: alice", or "entry 3").
    pub entry: String,
    /// Why.
    pub reason: String,
}

/// What a parser read from a file.
#[derive(Debug, Default)]
pub struct ParsedFile {
    /// Accounts ready to store, in file order.
    pub entries: Vec<OtpEntry>,
    /// Entries with bad data (digits 0, SHA384, an undecodable secret, ...).
    pub refused: Vec<NotImported>,
    /// Entries left out on purpose (trashed, not an OTP item, ...).
    pub skipped: Vec<NotImported>,
}

impl ParsedFile {
    /// Adds one entry's outcome: an account, or a refusal with its reason.
    pub fn push(&mut self, label: String, outcome: Result<OtpEntry, String>) {
        match outcome {
            Ok(e) => self.entries.push(e),
            Err(reason) => self.refused.push(NotImported {
                entry: label,
                reason,
            }),
        }
    }

    /// Reads the entries of a JSON export, in the order given, each with its 0-based
    /// index in the file: an object goes to `read` (which labels it and gives its
    /// outcome), anything else is refused as "not {what} (not a JSON object)".
    pub fn read_objects<'a>(
        items: impl IntoIterator<Item = (usize, &'a Value)>,
        what: &str,
        read: impl Fn(&Map<String, Value>, usize) -> (String, Result<OtpEntry, String>),
    ) -> Self {
        let mut out = Self::default();
        for (i, item) in items {
            let position = i.saturating_add(1);
            match item {
                Value::Object(o) => {
                    let (label, outcome) = read(o, position);
                    out.push(label, outcome);
                }
                _ => out.push(
                    format!("entry {position}"),
                    Err(format!("not {what} (not a JSON object)")),
                ),
            }
        }
        out
    }

    /// Records an entry left out on purpose.
    pub fn skip(&mut self, label: String, reason: impl Into<String>) {
        self.skipped.push(NotImported {
            entry: label,
            reason: reason.into(),
        });
    }
}

/// A file-level failure of an import. Mapped to the public error in `error.rs`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    /// The file is encrypted and no password was given.
    #[error("this file is encrypted: a password is needed")]
    PasswordRequired,
    /// The password does not open the file (a file password, never the app PIN).
    #[error("the password does not open this file")]
    WrongPassword,
    /// Not a format this core reads.
    #[error("not a known export format")]
    UnknownFormat,
    /// The file looks like `format` but cannot be read; `reason` says where.
    #[error("cannot read this {format} file: {reason}")]
    Malformed {
        /// The format's CLI name.
        format: &'static str,
        /// What is wrong (never a secret).
        reason: String,
    },
}

impl TransferError {
    /// A malformed-file error for `format`.
    pub fn malformed(format: ImportFormat, reason: impl Into<String>) -> Self {
        Self::Malformed {
            format: format.as_str(),
            reason: reason.into(),
        }
    }
}

/// Guesses the format of a file from its content (no file names: the shells' pickers
/// often lose them).
pub fn detect(bytes: &[u8]) -> Option<ImportFormat> {
    let text = std::str::from_utf8(bytes).ok()?;
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with('{') || t.starts_with('[') {
        let v: serde_json::Value = serde_json::from_str(t).ok()?;
        return detect_json(&v);
    }
    let first = t.lines().find(|l| !l.trim().is_empty())?.trim();
    let lower = first.to_ascii_lowercase();
    if lower.starts_with("otpauth://") || lower.starts_with("otpauth-migration://") {
        // Ente's plain export is an otpauth list too (with its own `codeDisplay`
        // parameter); the list parser reads both.
        return Some(ImportFormat::UriList);
    }
    if lower.starts_with("folder,") || lower.contains(",login_totp") {
        return Some(ImportFormat::BitwardenCsv);
    }
    None
}

fn detect_json(v: &serde_json::Value) -> Option<ImportFormat> {
    use serde_json::Value;
    match v {
        Value::Array(items) => {
            // andOTP: a bare array of entries with "secret" and "type"; its encrypted
            // form is binary and never reaches here.
            let first = items.first()?;
            // Old andOTP versions wrote no "type" (TOTP then), but always a "label".
            (first.get("secret").is_some()
                && (first.get("type").is_some() || first.get("label").is_some()))
            .then_some(ImportFormat::AndOtp)
        }
        Value::Object(o) => {
            if o.contains_key("header") && o.contains_key("db") {
                Some(ImportFormat::Aegis)
            } else if o.contains_key("services") || o.contains_key("servicesEncrypted") {
                Some(ImportFormat::TwoFas)
            } else if o.contains_key("tokens") && o.contains_key("tokenOrder") {
                Some(ImportFormat::FreeOtpPlus)
            } else if o.contains_key("encrypted")
                && (o.contains_key("items") || o.contains_key("data"))
            {
                Some(ImportFormat::Bitwarden)
            } else if o.contains_key("kdfParams") && o.contains_key("encryptedData") {
                Some(ImportFormat::Ente)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Parses `bytes` as `format` (or the detected format), opening it with `password` when
/// it is encrypted.
pub fn parse_file(
    bytes: &[u8],
    format: Option<ImportFormat>,
    password: Option<&str>,
) -> Result<(ImportFormat, ParsedFile), TransferError> {
    let format = match format {
        Some(f) => f,
        None => detect(bytes)
            .or_else(|| binary_format(bytes))
            .ok_or(TransferError::UnknownFormat)?,
    };
    let parsed = match format {
        ImportFormat::UriList => uri_list::parse(bytes)?,
        ImportFormat::Bitwarden => bitwarden::parse(bytes, password)?,
        ImportFormat::BitwardenCsv => bitwarden::parse_csv(bytes)?,
        ImportFormat::Ente => ente::parse(bytes, password)?,
        ImportFormat::Aegis => aegis::parse(bytes, password)?,
        ImportFormat::TwoFas => twofas::parse(bytes, password)?,
        ImportFormat::AndOtp => andotp::parse(bytes, password)?,
        ImportFormat::FreeOtpPlus => freeotp_plus::parse(bytes, password)?,
    };
    Ok((format, parsed))
}

/// Formats that are not text: andOTP's encrypted backup (binary: header, IV, sealed JSON).
fn binary_format(bytes: &[u8]) -> Option<ImportFormat> {
    (std::str::from_utf8(bytes).is_err() && bytes.len() > 12 + 16).then_some(ImportFormat::AndOtp)
}
