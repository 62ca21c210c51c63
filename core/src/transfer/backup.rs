//! Automatic encrypted backups: the user sets a backup password once; the core keeps
//! its scrypt slot key sealed under the vault key, and whenever the accounts changed
//! since the last backup it writes a fresh encrypted `aegis` export (a new master key
//! each time, no scrypt run) for the shell to put where the user chose.

use super::aegis::PasswordSlot;
use super::service::{Exported, FreshCheck};
use super::ExportFormat;
use crate::engine::Engine;
use crate::error::{Error, Result};
use rusqlite::params;
use zeroize::Zeroizing;

/// AAD of the sealed backup slot in `vault_state.backup_slot`.
const BACKUP_SLOT_AAD: &[u8] = b"authcore/v1/vault_state/backup_slot";

/// Whether automatic backups are on, and whether one is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupStatus {
    pub enabled: bool,
    /// The accounts changed since the last backup the shell reported written.
    pub due: bool,
    /// The accounts' generation now.
    pub generation: u64,
}

/// A backup to write: an encrypted Aegis vault of the accounts at `generation`.
pub struct BackupFile {
    pub exported: Exported,
    pub generation: u64,
}

impl Engine {
    /// Turns automatic backups on with `password` (or off with None), after a fresh
    /// check of the user. The next `pending_backup` is due at once.
    pub fn set_backup_password(
        &mut self,
        password: Option<&str>,
        check: FreshCheck<'_>,
    ) -> Result<()> {
        self.require_unlocked()?;
        self.fresh_check(check)?;
        let vk = self.require_unlocked()?;
        let sealed = match password {
            Some("") => {
                return Err(Error::InvalidArgument(
                    "the backup password is empty".into(),
                ))
            }
            Some(p) => {
                let slot = PasswordSlot::derive(p)?;
                Some(crate::crypto::seal(&vk, BACKUP_SLOT_AAD, &slot.to_bytes())?)
            }
            None => None,
        };
        self.db.conn().execute(
            "UPDATE vault_state SET backup_slot = ?1, backup_generation = NULL WHERE id = 1",
            params![sealed],
        )?;
        log::info!(
            "automatic backups turned {}",
            if password.is_some() { "on" } else { "off" }
        );
        Ok(())
    }

    /// The sealed backup slot (if backups are on) and the status, from one read of
    /// `vault_state`.
    fn backup_state(&mut self) -> Result<(Option<Vec<u8>>, BackupStatus)> {
        let (slot, generation, written): (Option<Vec<u8>>, i64, Option<i64>) =
            self.db.conn().query_row(
                "SELECT backup_slot, accounts_generation, backup_generation FROM vault_state WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
        let status = BackupStatus {
            enabled: slot.is_some(),
            due: slot.is_some() && written != Some(generation),
            generation: u64::try_from(generation).unwrap_or(0),
        };
        Ok((slot, status))
    }

    /// Whether backups are on and one is due.
    pub fn backup_status(&mut self) -> Result<BackupStatus> {
        self.backup_state().map(|(_, status)| status)
    }

    /// The backup to write now, if backups are on and the accounts changed since the
    /// last one written (`None` otherwise). Needs the unlocked vault (no fresh check:
    /// the file is encrypted under the backup password).
    pub fn pending_backup(&mut self) -> Result<Option<BackupFile>> {
        let vk = self.require_unlocked()?;
        let (sealed, status) = self.backup_state()?;
        if !status.due {
            return Ok(None);
        }
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let raw: Zeroizing<Vec<u8>> = crate::crypto::open(&vk, BACKUP_SLOT_AAD, &sealed)?;
        let slot = PasswordSlot::from_bytes(&raw)
            .ok_or_else(|| Error::Storage("the stored backup key is malformed".into()))?;
        let exported = self.export_with(ExportFormat::Aegis, Some(&slot))?;
        Ok(Some(BackupFile {
            exported,
            generation: status.generation,
        }))
    }

    /// The shell wrote the backup of `generation`: no backup is due until the accounts
    /// change again.
    pub fn backup_written(&mut self, generation: u64) -> Result<()> {
        let g = i64::try_from(generation)
            .map_err(|_| Error::InvalidArgument("generation out of range".into()))?;
        self.db.conn().execute(
            "UPDATE vault_state SET backup_generation = ?1 WHERE id = 1 AND backup_slot IS NOT NULL AND ?1 <= accounts_generation",
            params![g],
        )?;
        Ok(())
    }
}
