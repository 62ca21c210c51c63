//! The transfer service on the engine: an import is parsed, checked against the vault
//! (duplicates skipped) and stored in one transaction; an export reads the vault after a
//! fresh PIN (or biometric) check, leaves managed accounts out, and writes the format.

use super::{export, parse_file, ExportFormat, ImportFormat, NotImported, ParsedFile};
use crate::crypto;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::links::OtpEntry;
use crate::otp::{AccountKind, Algorithm};
use crate::platform::BiometricKey;
use crate::vault::AccountRow;
use zeroize::Zeroizing;

/// An account an import would add (no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportItem {
    pub kind: AccountKind,
    pub issuer: String,
    pub name: String,
    pub algorithm: Algorithm,
    pub digits: u8,
    pub period: u32,
    pub counter: u64,
}

/// What an import adds, skips and refuses.
#[derive(Debug, Clone)]
pub struct ImportPlan {
    pub format: ImportFormat,
    pub to_add: Vec<ImportItem>,
    /// Left out on purpose: already in the vault, twice in the file, trashed, ...
    pub skipped: Vec<NotImported>,
    /// Bad data, with the reason.
    pub refused: Vec<NotImported>,
}

/// What an import stored.
#[derive(Debug, Clone)]
pub struct Imported {
    pub plan: ImportPlan,
    pub account_ids: Vec<String>,
}

/// How an export proves the user is there, even with the vault already unlocked.
pub enum FreshCheck<'a> {
    /// The app PIN (ignored when no PIN is set: then the unlocked vault is enough).
    Pin(&'a str),
    /// The platform's biometric key (asks for presence).
    Biometric(&'a dyn BiometricKey),
}

/// What an export wrote.
pub struct Exported {
    pub format: ExportFormat,
    /// The file (aegis, aegis-plain, uri-list); for google, the links one a line.
    pub data: Zeroizing<Vec<u8>>,
    /// google: one migration link per QR code; empty for the other formats.
    pub links: Vec<Zeroizing<String>>,
    /// How many accounts the export holds.
    pub exported: u32,
    /// Managed accounts (push tokens, server lock policies): never exported.
    pub skipped: Vec<NotImported>,
    /// Accounts the format cannot express (google), never mangled.
    pub left_out: Vec<NotImported>,
}

fn item(e: &OtpEntry) -> ImportItem {
    ImportItem {
        kind: e.kind,
        issuer: e.issuer.clone(),
        name: e.name.clone(),
        algorithm: e.algorithm,
        digits: e.digits,
        period: e.period,
        counter: e.counter,
    }
}

/// Whether an account is managed by an enterprise server: a push token, or enrolled
/// with a lock policy (`lock_*`, `pin=True`, `app_force_unlock`), or held by a
/// privacyIDEA container (its server owns and renews it).
pub fn is_managed(a: &AccountRow) -> bool {
    a.kind == AccountKind::Push
        || a.container_serial.is_some()
        || a.lock_require_pin
        || a.lock_wipe_after.is_some()
        || a.lock_idle_seconds.is_some()
        || a.lock_min_pin_length.is_some()
        || a.lock_background_seconds.is_some()
}

impl Engine {
    /// Parses `bytes` and sorts its entries into new, skipped (duplicates) and refused.
    /// Changes nothing.
    fn plan_import(
        &mut self,
        bytes: &[u8],
        format: Option<ImportFormat>,
        password: Option<&str>,
    ) -> Result<(ImportPlan, Vec<OtpEntry>)> {
        let vk = self.require_unlocked()?;
        let (format, parsed) = parse_file(bytes, format, password)?;
        let ParsedFile {
            entries,
            refused,
            mut skipped,
        } = parsed;
        let existing = self.db.accounts()?;
        let mut fresh: Vec<OtpEntry> = Vec::new();
        for (i, e) in entries.into_iter().enumerate() {
            let label = super::entry::label(&e.issuer, &e.name, i + 1);
            if self.is_enrolled(&vk, &existing, &e)? {
                skipped.push(NotImported {
                    entry: label,
                    reason: "already in the vault".into(),
                });
            } else if fresh.iter().any(|f| {
                f.kind == e.kind
                    && f.issuer.eq_ignore_ascii_case(&e.issuer)
                    && f.name.eq_ignore_ascii_case(&e.name)
                    && crypto::ct_eq(&f.secret, &e.secret)
            }) {
                skipped.push(NotImported {
                    entry: label,
                    reason: "appears twice in the file".into(),
                });
            } else {
                fresh.push(e);
            }
        }
        let plan = ImportPlan {
            format,
            to_add: fresh.iter().map(item).collect(),
            skipped,
            refused,
        };
        Ok((plan, fresh))
    }

    /// What importing `bytes` would add, skip and refuse. Changes nothing.
    pub fn preview_import(
        &mut self,
        bytes: &[u8],
        format: Option<ImportFormat>,
        password: Option<&str>,
    ) -> Result<ImportPlan> {
        self.plan_import(bytes, format, password)
            .map(|(plan, _)| plan)
    }

    /// Imports `bytes`: every new account in one transaction (all or none).
    pub fn import_file(
        &mut self,
        bytes: &[u8],
        format: Option<ImportFormat>,
        password: Option<&str>,
    ) -> Result<Imported> {
        let (plan, fresh) = self.plan_import(bytes, format, password)?;
        let vk = self.require_unlocked()?;
        let policies: Vec<_> = fresh.iter().map(|e| e.policy).collect();
        let mut warnings = Vec::new();
        // A list of links may carry lock parameters: the same rule as `add`.
        self.check_pin_requirement(&policies, None, &mut warnings)?;
        let now = self.clock.now_unix_seconds();
        let rows = fresh
            .iter()
            .map(|e| crate::enroll::new_account_row(&vk, e, now))
            .collect::<Result<Vec<_>>>()?;
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        if !rows.is_empty() {
            self.store_accounts(&vk, rows, None, |_| Ok(()))?;
        }
        log::info!(
            "imported a {} file: {} added, {} skipped, {} refused",
            plan.format.as_str(),
            ids.len(),
            plan.skipped.len(),
            plan.refused.len()
        );
        Ok(Imported {
            plan,
            account_ids: ids,
        })
    }

    /// Exports every account that may leave the phone, after a fresh check of the user.
    /// `file_password` is required for `aegis` and refused for the plain formats.
    pub fn export(
        &mut self,
        format: ExportFormat,
        file_password: Option<&str>,
        check: FreshCheck<'_>,
    ) -> Result<Exported> {
        self.require_unlocked()?;
        match (format, file_password) {
            (ExportFormat::Aegis, None) => {
                return Err(Error::InvalidArgument(
                    "an encrypted export needs a file password".into(),
                ))
            }
            (ExportFormat::Aegis, Some("")) => {
                return Err(Error::InvalidArgument("the file password is empty".into()))
            }
            (f, Some(_)) if f.is_plain() => {
                return Err(Error::InvalidArgument(format!(
                    "the {} format is not encrypted: it takes no password",
                    f.as_str()
                )))
            }
            _ => {}
        }
        self.fresh_check(check)?;
        let slot = match (format, file_password) {
            (ExportFormat::Aegis, Some(p)) => Some(super::aegis::PasswordSlot::derive(p)?),
            _ => None,
        };
        self.export_with(format, slot.as_ref())
    }

    /// The user proves presence again (as other apps ask before they show secrets): the
    /// PIN when one is set, or the biometric prompt.
    pub(crate) fn fresh_check(&mut self, check: FreshCheck<'_>) -> Result<()> {
        match check {
            FreshCheck::Pin(pin) => {
                if self.has_pin()? {
                    self.verify_pin(pin)?;
                }
            }
            FreshCheck::Biometric(key) => self.unlock_with_biometric(key)?,
        }
        Ok(())
    }

    /// Writes the export of every account that may leave the phone (`slot`: the
    /// password slot of an encrypted `aegis` export). No check of the user here.
    pub(crate) fn export_with(
        &mut self,
        format: ExportFormat,
        slot: Option<&super::aegis::PasswordSlot>,
    ) -> Result<Exported> {
        let vk = self.require_unlocked()?;
        let mut entries = Vec::new();
        let mut skipped = Vec::new();
        for (i, a) in self.db.accounts()?.iter().enumerate() {
            if is_managed(a) {
                skipped.push(NotImported {
                    entry: super::entry::label(&a.issuer, &a.name, i + 1),
                    reason: if a.kind == AccountKind::Push {
                        "a push token: it stays on this phone".into()
                    } else if a.container_serial.is_some() {
                        "managed by its privacyIDEA container: it stays on this phone".into()
                    } else {
                        "managed by its server's lock policy: it stays on this phone".into()
                    },
                });
                continue;
            }
            entries.push(OtpEntry {
                kind: a.kind,
                issuer: a.issuer.clone(),
                name: a.name.clone(),
                secret: self.secret_of(&vk, a)?,
                algorithm: a.algorithm,
                digits: a.digits,
                period: a.period,
                counter: a.counter,
                policy: Default::default(),
                serial: None,
            });
        }
        let mut left_out = Vec::new();
        let mut links = Vec::new();
        let data = match format {
            ExportFormat::UriList => export::write_uri_list(&entries),
            ExportFormat::Google => {
                let id_bytes = crypto::random_vec(4)?;
                let id = i32::from_be_bytes([id_bytes[0], id_bytes[1], id_bytes[2], id_bytes[3]])
                    & 0x7fff_ffff;
                let (l, out) = export::write_google(&entries, id);
                left_out = out;
                let mut text = Zeroizing::new(Vec::new());
                for link in &l {
                    text.extend_from_slice(link.as_bytes());
                    text.push(b'\n');
                }
                links = l;
                text
            }
            ExportFormat::AegisPlain => Zeroizing::new(super::aegis::write_plain(&entries)),
            ExportFormat::Aegis => {
                let slot = slot.ok_or_else(|| {
                    Error::InvalidArgument("an encrypted export needs a file password".into())
                })?;
                Zeroizing::new(super::aegis::write_encrypted_with_slot(&entries, slot)?)
            }
        };
        let exported =
            u32::try_from(entries.len().saturating_sub(left_out.len())).unwrap_or(u32::MAX);
        log::info!(
            "exported {exported} accounts as {} ({} managed kept, {} left out)",
            format.as_str(),
            skipped.len(),
            left_out.len()
        );
        Ok(Exported {
            format,
            data,
            links,
            exported,
            skipped,
            left_out,
        })
    }
}
