//! Enrollment service: one path for a scanned QR text, a pasted link or a QR image.
//! `preview` says what would be added (with warnings and the code it would show now)
//! and changes nothing; `add` stores it in one transaction, refusing duplicates.

use crate::crypto::{self, Key256};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::links::{self, AccountLockPolicy, Batch, OtpEntry, ParsedLink};
use crate::lock::LockPolicy;
use crate::otp::{self, AccountKind, Algorithm};
use crate::vault::{self, AccountRow, Db};
use rusqlite::TransactionBehavior;

/// One account a link would add.
#[derive(Debug, Clone)]
pub struct PreviewItem {
    pub kind: AccountKind,
    pub issuer: String,
    pub name: String,
    pub algorithm: Algorithm,
    pub digits: u8,
    pub period: u32,
    pub counter: u64,
    pub weak_secret: bool,
    pub current_code: Option<String>,
    pub already_enrolled: bool,
    pub tls_verify: bool,
    pub policy: AccountLockPolicy,
}

/// What a link would add.
#[derive(Debug, Clone)]
pub struct Preview {
    pub items: Vec<PreviewItem>,
    pub warnings: Vec<String>,
    pub batch: Option<Batch>,
    /// The link requires a PIN and none is set: call `add_with_pin`.
    pub requires_pin: bool,
    /// Every change the link would make to the lock in force.
    pub lock_changes: Vec<crate::lock::LockChange>,
    /// A container link: what it registers.
    pub container: Option<ContainerPreview>,
}

/// What a container link would register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerPreview {
    pub serial: String,
    pub server_url: String,
    pub tls_verify: bool,
    /// The prompt to show when a passphrase is needed.
    pub passphrase_prompt: Option<String>,
    /// A passphrase must be given (prompt, or the user-store password).
    pub needs_passphrase: bool,
    /// Unix second the link expires at (by the server's time in the link).
    pub expires_at: Option<i64>,
}

/// What `add` stored.
#[derive(Debug, Clone)]
pub struct Added {
    pub account_ids: Vec<String>,
    pub warnings: Vec<String>,
    pub batch: Option<Batch>,
    /// The container registered (container links).
    pub container: Option<String>,
}

/// Where [`Engine::prepare_add`] stopped.
pub(crate) enum AddStep {
    /// Stored.
    Done(Added),
    /// A container registration, ready for its finalize request.
    Register(Box<crate::container::service::RegistrationJob>),
}

/// A fresh random account id (16 hex characters).
pub fn new_account_id() -> Result<String> {
    Ok(data_encoding::HEXLOWER.encode(&crypto::random_vec(8)?))
}

/// The vault row of a new OTP account read from a link or an import file: a fresh id,
/// the secret sealed under `vk` with the row's AAD, the entry's lock policy (stored
/// with the other rows of its transaction by [`Engine::store_accounts`]).
pub(crate) fn new_account_row(vk: &Key256, e: &OtpEntry, now: i64) -> Result<AccountRow> {
    let id = new_account_id()?;
    Ok(AccountRow {
        sealed_secret: crypto::seal(vk, &vault::secret_aad(&id), &e.secret)?,
        id,
        kind: e.kind,
        issuer: e.issuer.clone(),
        name: e.name.clone(),
        algorithm: e.algorithm,
        digits: e.digits,
        period: e.period,
        counter: e.counter,
        weak_secret: e.weak_secret(),
        serial: e.serial.clone(),
        lock_require_pin: e.policy.require_pin,
        lock_wipe_after: e.policy.wipe_after,
        lock_idle_seconds: e.policy.idle_seconds,
        lock_min_pin_length: e.policy.min_pin_length,
        lock_background_seconds: e.policy.background_seconds,
        sort_order: 0,
        created_at: now,
        container_serial: None,
    })
}

/// Decodes a QR code in PNG or JPEG bytes into its text (under the limits of
/// [`crate::qr_image`]).
pub fn decode_qr_image(bytes: &[u8]) -> Result<String> {
    crate::qr_image::decode_qr(bytes)
}

pub(crate) fn code_now(e: &OtpEntry, now: i64) -> Option<String> {
    let t = u64::try_from(now).ok()?;
    match e.kind {
        AccountKind::Totp => otp::totp(&e.secret, e.algorithm, e.digits, e.period, t).ok(),
        AccountKind::Steam => otp::steam(&e.secret, t).ok(),
        AccountKind::Hotp => otp::hotp(&e.secret, e.algorithm, e.digits, e.counter).ok(),
        AccountKind::Push => None,
    }
}

impl Engine {
    /// True if an account with the same kind, issuer, name and secret is stored.
    pub(crate) fn is_enrolled(
        &self,
        vk: &Key256,
        existing: &[AccountRow],
        e: &OtpEntry,
    ) -> Result<bool> {
        for a in existing {
            if a.kind == e.kind
                && a.issuer.eq_ignore_ascii_case(&e.issuer)
                && a.name.eq_ignore_ascii_case(&e.name)
            {
                let s = self.secret_of(vk, a)?;
                if crypto::ct_eq(&s, &e.secret) {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// Parses `link` and reports what `add` would store, with every change it would
    /// make to the lock in force. Changes nothing.
    pub fn preview(&mut self, link: &str) -> Result<Preview> {
        let mut p = self.preview_accounts(link)?;
        let state = self.state()?;
        let before = self.effective_policy()?;
        let after = p
            .items
            .iter()
            .fold(before, |acc, i| acc.with_account(&i.policy));
        let limit_now = self.wipe_limit(&state)?;
        // What `add` does (`vault::protect_counted_attempts`): while wrong PINs are
        // counted, the new limit never goes below that count + 1.
        let mut floor = state.wipe_floor.unwrap_or(0);
        if state.failed_attempts > 0 {
            floor = floor.max(state.failed_attempts + 1);
        }
        p.lock_changes = crate::lock::lock_changes(
            &LockPolicy {
                wipe_after_attempts: limit_now,
                ..before
            },
            &LockPolicy {
                wipe_after_attempts: after.wipe_after_attempts.max(floor),
                ..after
            },
        );
        Ok(p)
    }

    fn preview_accounts(&mut self, link: &str) -> Result<Preview> {
        let vk = self.require_unlocked()?;
        let has_pin = self.has_pin()?;
        let now = self.clock.now_unix_seconds();
        match links::parse_link(link)? {
            ParsedLink::Otp {
                entries,
                batch,
                warnings,
            } => {
                let existing = self.db.accounts()?;
                let mut items = Vec::new();
                let mut requires_pin = false;
                for e in &entries {
                    requires_pin |= e.policy.require_pin && !has_pin;
                    items.push(PreviewItem {
                        kind: e.kind,
                        issuer: e.issuer.clone(),
                        name: e.name.clone(),
                        algorithm: e.algorithm,
                        digits: e.digits,
                        period: e.period,
                        counter: e.counter,
                        weak_secret: e.weak_secret(),
                        current_code: code_now(e, now),
                        already_enrolled: self.is_enrolled(&vk, &existing, e)?,
                        tls_verify: true,
                        policy: e.policy,
                    });
                }
                Ok(Preview {
                    items,
                    warnings,
                    batch,
                    requires_pin,
                    lock_changes: Vec::new(),
                    container: None,
                })
            }
            ParsedLink::Push {
                enrollment,
                warnings,
            } => {
                // The link's ttl runs from when the user first saw it.
                self.push_links_seen
                    .entry(enrollment.serial.clone())
                    .or_insert(now);
                let already = self.push_account_with_serial(&enrollment.serial)?.is_some();
                Ok(Preview {
                    items: vec![PreviewItem {
                        kind: AccountKind::Push,
                        issuer: enrollment.issuer.clone(),
                        name: enrollment.name.clone(),
                        algorithm: Algorithm::Sha256,
                        digits: 0,
                        period: 0,
                        counter: 0,
                        weak_secret: false,
                        current_code: None,
                        already_enrolled: already,
                        tls_verify: enrollment.sslverify,
                        policy: enrollment.policy,
                    }],
                    warnings,
                    batch: None,
                    requires_pin: enrollment.policy.require_pin && !has_pin,
                    lock_changes: Vec::new(),
                    container: None,
                })
            }
            ParsedLink::Container { link, warnings } => {
                let prompt = link.passphrase_prompt.clone().or_else(|| {
                    link.send_passphrase
                        .then(|| "Please enter the passphrase of your user store.".to_string())
                });
                Ok(Preview {
                    items: Vec::new(),
                    warnings,
                    batch: None,
                    requires_pin: false,
                    lock_changes: Vec::new(),
                    container: Some(ContainerPreview {
                        serial: link.serial.clone(),
                        server_url: link.server_url.clone(),
                        tls_verify: link.tls_verify,
                        passphrase_prompt: prompt,
                        needs_passphrase: link.needs_passphrase(),
                        expires_at: link.expires_at(),
                    }),
                })
            }
        }
    }

    /// Checks the PIN requirements of accounts about to be added.
    pub(crate) fn check_pin_requirement(
        &self,
        policies: &[AccountLockPolicy],
        new_pin: Option<&str>,
        warnings: &mut Vec<String>,
    ) -> Result<Option<u8>> {
        let has_pin = self.has_pin()?;
        let mut after = self.effective_policy()?;
        for p in policies {
            after = after.with_account(p);
        }
        if has_pin {
            if new_pin.is_some() {
                return Err(Error::InvalidArgument(
                    "a PIN is already set; use add without a new PIN".into(),
                ));
            }
            if after.min_pin_length > crate::lock::MIN_PIN_LENGTH {
                warnings.push(format!(
                    "this account requires a PIN of at least {} digits; change your PIN if it is shorter",
                    after.min_pin_length
                ));
            }
            return Ok(None);
        }
        match (after.require_pin, new_pin) {
            (true, None) => Err(Error::PinRequired),
            (_, Some(pin)) => {
                crate::lock::validate_pin(pin, after.min_pin_length)?;
                Ok(Some(after.min_pin_length))
            }
            (false, None) => Ok(None),
        }
    }

    /// Stores what `link` describes, up to the network step of a container
    /// registration: OTP and push links are stored (`Done`); a container link comes back
    /// checked and signed, for the facade to finalize (`Register`). `new_pin` sets the
    /// first PIN in the same transaction when the link requires one and none is set;
    /// `passphrase` is the one a container link asks for (ignored by other links; a
    /// container link with a prompt and none is refused with `PassphraseRequired` before
    /// anything is sent).
    pub(crate) fn prepare_add(
        &mut self,
        link: &str,
        new_pin: Option<&str>,
        passphrase: Option<&str>,
    ) -> Result<AddStep> {
        let vk = self.require_unlocked()?;
        match links::parse_link(link)? {
            ParsedLink::Otp {
                entries,
                batch,
                mut warnings,
            } => {
                let existing = self.db.accounts()?;
                let mut fresh = Vec::new();
                let mut skipped = 0;
                for e in entries {
                    if self.is_enrolled(&vk, &existing, &e)? {
                        skipped += 1;
                    } else {
                        fresh.push(e);
                    }
                }
                if fresh.is_empty() {
                    return Err(Error::AlreadyEnrolled);
                }
                if skipped > 0 {
                    warnings.push(format!(
                        "{skipped} account(s) were already enrolled and were skipped"
                    ));
                }
                let policies: Vec<_> = fresh.iter().map(|e| e.policy).collect();
                let pin_min = self.check_pin_requirement(&policies, new_pin, &mut warnings)?;
                let now = self.clock.now_unix_seconds();
                let rows = fresh
                    .iter()
                    .map(|e| new_account_row(&vk, e, now))
                    .collect::<Result<Vec<_>>>()?;
                let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
                self.store_accounts(&vk, rows, new_pin.zip(pin_min), |_| Ok(()))?;
                Ok(AddStep::Done(Added {
                    account_ids: ids,
                    warnings,
                    batch,
                    container: None,
                }))
            }
            ParsedLink::Push {
                enrollment,
                warnings,
            } => self
                .enroll_push(&vk, enrollment, warnings, new_pin)
                .map(AddStep::Done),
            ParsedLink::Container { link, warnings } => self
                .prepare_registration(&vk, link, warnings, passphrase, new_pin)
                .map(|job| AddStep::Register(Box::new(job))),
        }
    }

    /// Inserts `rows` (and the first PIN, and whatever `extra` writes) in one transaction.
    pub(crate) fn store_accounts(
        &mut self,
        vk: &Key256,
        mut rows: Vec<AccountRow>,
        new_pin: Option<(&str, u8)>,
        extra: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<()>,
    ) -> Result<()> {
        // The PIN wrap (KDF calibration takes time) is computed before the transaction.
        let pin_wrap = match new_pin {
            Some((pin, min_len)) => {
                crate::lock::validate_pin(pin, min_len)?;
                Some(self.wrap_for_pin(vk, Some(pin))?)
            }
            None => None,
        };
        let tx = self
            .db
            .conn()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let first = Db::next_sort_order(&tx)?;
        for (order, r) in (first..).zip(rows.iter_mut()) {
            r.sort_order = order;
            Db::insert_account(&tx, r)?;
        }
        extra(&tx)?;
        // New accounts may lower the wipe limit: never below the failures counted + 1.
        crate::vault::protect_counted_attempts(&tx)?;
        if let Some(w) = &pin_wrap {
            Engine::store_wrap(&tx, w)?;
        }
        tx.commit()?;
        for r in &rows {
            log::info!("added {} account {}", r.kind.as_str(), r.id);
        }
        self.accounts_changed();
        Ok(())
    }
}
