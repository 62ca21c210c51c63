//! Transfer: importing other apps' export files and exporting to the formats other apps
//! read (records and a thin mapping onto `transfer::service`).

use super::accounts::Account;
use super::Authenticator;
use crate::error::AuthenticatorError;
use crate::otp::{AccountKind, Algorithm};
use crate::platform::BiometricKey;
use crate::transfer::service::{Exported, FreshCheck, ImportPlan};
use crate::transfer::{ExportFormat, ImportFormat, NotImported};
use std::sync::Arc;

/// An entry of a file, or an account, that was not imported or exported, and why.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TransferNote {
    /// Which entry ("GitHub: alice", "line 4", "entry 3").
    pub entry: String,
    /// Why (never a secret).
    pub reason: String,
}

/// An account an import would add.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ImportedAccountPreview {
    /// Kind.
    pub kind: AccountKind,
    /// Issuer.
    pub issuer: String,
    /// Account name.
    pub name: String,
    /// Algorithm.
    pub algorithm: Algorithm,
    /// Digits.
    pub digits: u8,
    /// Period.
    pub period: u32,
    /// HOTP counter of the next code.
    pub counter: u64,
}

/// What importing a file would do.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ImportPreview {
    /// The format read.
    pub format: ImportFormat,
    /// What it would add.
    pub accounts: Vec<ImportedAccountPreview>,
    /// Left out: already in the vault, twice in the file, trashed, ...
    pub skipped: Vec<TransferNote>,
    /// Refused for bad data.
    pub refused: Vec<TransferNote>,
}

/// What an import stored.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ImportResult {
    /// The format read.
    pub format: ImportFormat,
    /// The accounts added.
    pub imported: Vec<Account>,
    /// Left out.
    pub skipped: Vec<TransferNote>,
    /// Refused for bad data.
    pub refused: Vec<TransferNote>,
}

/// What an export produced. `data` holds the secrets: write it where the user chose
/// and drop it.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct ExportResult {
    /// The format written.
    pub format: ExportFormat,
    /// The file (for `google`: the links, one a line).
    pub data: Vec<u8>,
    /// `google`: one `otpauth-migration://offline` link per QR code, in order.
    pub links: Vec<String>,
    /// How many accounts it holds.
    pub exported: u32,
    /// Managed accounts (push tokens, server lock policies) kept on this phone.
    pub skipped: Vec<TransferNote>,
    /// Accounts the format cannot express (`google`), left out rather than mangled.
    pub left_out: Vec<TransferNote>,
}

impl std::fmt::Debug for ExportResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportResult")
            .field("format", &self.format)
            .field(
                "data",
                &format_args!("<{} bytes redacted>", self.data.len()),
            )
            .field("exported", &self.exported)
            .field("skipped", &self.skipped)
            .field("left_out", &self.left_out)
            .finish_non_exhaustive()
    }
}

fn notes(list: &[NotImported]) -> Vec<TransferNote> {
    list.iter()
        .map(|n| TransferNote {
            entry: n.entry.clone(),
            reason: n.reason.clone(),
        })
        .collect()
}

fn preview_record(p: &ImportPlan) -> ImportPreview {
    ImportPreview {
        format: p.format,
        accounts: p
            .to_add
            .iter()
            .map(|i| ImportedAccountPreview {
                kind: i.kind,
                issuer: i.issuer.clone(),
                name: i.name.clone(),
                algorithm: i.algorithm,
                digits: i.digits,
                period: i.period,
                counter: i.counter,
            })
            .collect(),
        skipped: notes(&p.skipped),
        refused: notes(&p.refused),
    }
}

fn export_record(e: Exported) -> ExportResult {
    ExportResult {
        format: e.format,
        data: e.data.to_vec(),
        links: e.links.iter().map(|l| l.to_string()).collect(),
        exported: e.exported,
        skipped: notes(&e.skipped),
        left_out: notes(&e.left_out),
    }
}

/// The name of a format on the CLI and in JSON.
#[uniffi::export]
pub fn import_format_name(format: ImportFormat) -> String {
    format.as_str().into()
}

#[uniffi::export]
impl Authenticator {
    /// What importing `file` would add, skip and refuse; the format is detected when
    /// `format` is None. Needs the unlocked vault; changes nothing. An encrypted file
    /// without `password` answers `PasswordRequired`, a wrong one `WrongPassword` (a file
    /// password: no PIN attempt is counted).
    pub fn preview_import(
        &self,
        file: Vec<u8>,
        format: Option<ImportFormat>,
        password: Option<String>,
    ) -> Result<ImportPreview, AuthenticatorError> {
        self.call(|e| {
            e.preview_import(&file, format, password.as_deref())
                .map(|p| preview_record(&p))
        })
    }

    /// Imports `file`: every new account in one transaction; duplicates of vault
    /// accounts are skipped, bad entries refused with a reason, the rest stored.
    pub fn import_file(
        &self,
        file: Vec<u8>,
        format: Option<ImportFormat>,
        password: Option<String>,
    ) -> Result<ImportResult, AuthenticatorError> {
        self.call(|e| {
            let done = e.import_file(&file, format, password.as_deref())?;
            Ok(ImportResult {
                format: done.plan.format,
                imported: Self::accounts_by_id(e, &done.account_ids)?,
                skipped: notes(&done.plan.skipped),
                refused: notes(&done.plan.refused),
            })
        })
    }

    /// Exports every account that may leave the phone. Needs the unlocked vault and the
    /// PIN again (when one is set), as a fresh check. `file_password` is required for
    /// `Aegis` and refused for the plain formats. Managed accounts are never exported.
    pub fn export_accounts(
        &self,
        format: ExportFormat,
        file_password: Option<String>,
        pin: String,
    ) -> Result<ExportResult, AuthenticatorError> {
        self.call(|e| {
            e.export(format, file_password.as_deref(), FreshCheck::Pin(&pin))
                .map(export_record)
        })
    }

    /// Like `export_accounts`, with the biometric prompt as the fresh check.
    pub fn export_accounts_with_biometric(
        &self,
        format: ExportFormat,
        file_password: Option<String>,
        key: Arc<dyn BiometricKey>,
    ) -> Result<ExportResult, AuthenticatorError> {
        self.call(|e| {
            e.export(
                format,
                file_password.as_deref(),
                FreshCheck::Biometric(key.as_ref()),
            )
            .map(export_record)
        })
    }
}

/// Whether automatic backups are on, and whether one is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct BackupStatus {
    /// A backup password is set.
    pub enabled: bool,
    /// The accounts changed since the last backup reported written.
    pub due: bool,
    /// The accounts' generation now (every change to the accounts bumps it).
    pub generation: u64,
}

/// A backup to write: an encrypted Aegis vault (`aegis` export) of the accounts at
/// `generation`. Write `data` to the user's backup folder, then call `backup_written`.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct BackupFile {
    /// The encrypted file.
    pub data: Vec<u8>,
    /// What to name it: `authenticator-backup-<UTC time>.json`.
    pub file_name: String,
    /// Pass to `backup_written` once the file is safely stored.
    pub generation: u64,
    /// How many accounts it holds.
    pub exported: u32,
    /// Managed accounts left out (they never leave the phone).
    pub skipped: Vec<TransferNote>,
}

impl std::fmt::Debug for BackupFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackupFile")
            .field("file_name", &self.file_name)
            .field("generation", &self.generation)
            .field("exported", &self.exported)
            .finish_non_exhaustive()
    }
}

#[uniffi::export]
impl Authenticator {
    /// Turns automatic encrypted backups on with `password` (None turns them off), after
    /// the PIN again as a fresh check. The core keeps the password's scrypt key sealed
    /// under the vault key; the password itself is not kept.
    pub fn set_backup_password(
        &self,
        password: Option<String>,
        pin: String,
    ) -> Result<(), AuthenticatorError> {
        self.call(|e| e.set_backup_password(password.as_deref(), FreshCheck::Pin(&pin)))
    }

    /// Whether backups are on and one is due (works while locked).
    pub fn backup_status(&self) -> Result<BackupStatus, AuthenticatorError> {
        self.call(|e| {
            e.backup_status().map(|s| BackupStatus {
                enabled: s.enabled,
                due: s.due,
                generation: s.generation,
            })
        })
    }

    /// The backup to write now, or None when backups are off or nothing changed since
    /// the last one written. Call it after every change and when the app comes to the
    /// foreground; needs the unlocked vault (no scrypt run: the stored slot key is used).
    pub fn pending_backup(&self) -> Result<Option<BackupFile>, AuthenticatorError> {
        self.call(|e| {
            let now = e.clock.now_unix_seconds();
            Ok(e.pending_backup()?.map(|b| BackupFile {
                data: b.exported.data.to_vec(),
                file_name: format!(
                    "authenticator-backup-{}.json",
                    crate::push::protocol::timestamp(now)
                        .chars()
                        .take(19)
                        .filter(|c| c.is_ascii_alphanumeric())
                        .collect::<String>()
                ),
                generation: b.generation,
                exported: b.exported.exported,
                skipped: notes(&b.exported.skipped),
            }))
        })
    }

    /// The backup of `generation` is stored: none is due until the accounts change.
    pub fn backup_written(&self, generation: u64) -> Result<(), AuthenticatorError> {
        self.call(|e| e.backup_written(generation))
    }
}
