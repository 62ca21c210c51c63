//! Accounts and codes: listing, renaming, ordering and deleting accounts, and the
//! codes of OTP accounts.

use super::Authenticator;
use crate::engine::{CodeValue, Engine};
use crate::error::{AuthenticatorError, Error};
use crate::otp::{AccountKind, Algorithm};
use crate::vault::{AccountRow, PushTokenRow};

/// An account as the UI shows it (no secret).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Account {
    /// Stable id.
    pub id: String,
    /// TOTP, HOTP, Steam or Push.
    pub kind: AccountKind,
    /// Issuer (may be empty).
    pub issuer: String,
    /// Account name.
    pub name: String,
    /// HMAC algorithm (OTP accounts).
    pub algorithm: Algorithm,
    /// Code length (OTP accounts).
    pub digits: u8,
    /// TOTP period in seconds.
    pub period: u32,
    /// HOTP: the counter the next code will use.
    pub counter: u64,
    /// The secret is shorter than 128 bits.
    pub weak_secret: bool,
    /// Push: TLS is verified for this token's server (false = the server said
    /// `sslverify=0`: warn the user).
    pub tls_verify: bool,
    /// The enrolling server requires an app PIN for this account.
    pub requires_pin: bool,
    /// Push: the token has no push service (`poll_only=True`): challenges only arrive
    /// by polling.
    pub poll_only: bool,
    /// Push accounts: the OTP account of the same issuer and name, whose manual code is
    /// the fallback when a push does not arrive.
    pub linked_otp_account_id: Option<String>,
    /// Token serial, when the server gave one.
    pub serial: Option<String>,
    /// Display position.
    pub sort_order: i64,
    /// The privacyIDEA container that manages this account (it is never exported).
    pub container_serial: Option<String>,
}

/// A code to show.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Code {
    /// The account.
    pub account_id: String,
    /// The code (redacted in `Debug` and the foreign `toString`).
    pub code: crate::redact::OtpCode,
    /// TOTP/Steam: unix second at which the code stops being valid.
    pub valid_until: Option<i64>,
    /// TOTP/Steam: seconds left, counted from the time the code was asked for.
    pub seconds_left: Option<u32>,
    /// TOTP/Steam: the period.
    pub period: Option<u32>,
    /// HOTP: the counter this code used.
    pub counter: Option<u64>,
}

pub(super) fn to_account(
    a: &AccountRow,
    all: &[AccountRow],
    token: Option<PushTokenRow>,
) -> Account {
    let linked = if a.kind == AccountKind::Push {
        all.iter()
            .find(|o| {
                o.kind != AccountKind::Push
                    && o.issuer.eq_ignore_ascii_case(&a.issuer)
                    && o.name.eq_ignore_ascii_case(&a.name)
            })
            .map(|o| o.id.clone())
    } else {
        None
    };
    Account {
        id: a.id.clone(),
        kind: a.kind,
        issuer: a.issuer.clone(),
        name: a.name.clone(),
        algorithm: a.algorithm,
        digits: a.digits,
        period: a.period,
        counter: a.counter,
        weak_secret: a.weak_secret,
        tls_verify: token.as_ref().is_none_or(|t| t.sslverify),
        requires_pin: a.lock_require_pin,
        poll_only: token.as_ref().is_some_and(|t| t.poll_only),
        linked_otp_account_id: linked,
        serial: a.serial.clone(),
        sort_order: a.sort_order,
        container_serial: a.container_serial.clone(),
    }
}

impl Authenticator {
    pub(super) fn accounts_by_id(e: &Engine, ids: &[String]) -> Result<Vec<Account>, Error> {
        let all = e.accounts()?;
        let mut out = Vec::new();
        for id in ids {
            if let Some(a) = all.iter().find(|a| &a.id == id) {
                out.push(to_account(a, &all, Self::token_of(e, a)?));
            }
        }
        Ok(out)
    }

    pub(super) fn token_of(e: &Engine, a: &AccountRow) -> Result<Option<PushTokenRow>, Error> {
        if a.kind == AccountKind::Push {
            e.db.push_token(&a.id)
        } else {
            Ok(None)
        }
    }

    /// `at` is the time the code was asked for: `seconds_left` counts from it.
    pub(super) fn to_code(account_id: String, c: CodeValue, at: i64) -> Code {
        Code {
            account_id,
            seconds_left: c
                .valid_until
                .map(|v| u32::try_from(v.saturating_sub(at).max(0)).unwrap_or(u32::MAX)),
            code: c.code,
            valid_until: c.valid_until,
            period: c.period,
            counter: c.counter,
        }
    }
}

#[uniffi::export]
impl Authenticator {
    /// Accounts in display order.
    pub fn list_accounts(&self) -> Result<Vec<Account>, AuthenticatorError> {
        self.call(|e| {
            let all = e.accounts()?;
            all.iter()
                .map(|a| Ok(to_account(a, &all, Self::token_of(e, a)?)))
                .collect()
        })
    }

    /// Renames an account.
    pub fn rename_account(
        &self,
        account_id: String,
        new_name: String,
    ) -> Result<(), AuthenticatorError> {
        self.call(|e| e.rename(&account_id, &new_name))
    }

    /// Sets the display order (every account id exactly once).
    pub fn reorder_accounts(&self, account_ids: Vec<String>) -> Result<(), AuthenticatorError> {
        self.call(|e| e.reorder(&account_ids))
    }

    /// Deletes an account (needs the vault unlocked).
    pub fn delete_account(&self, account_id: String) -> Result<(), AuthenticatorError> {
        self.call(|e| e.delete(&account_id))
    }

    // ---------------------------------------------------------------- codes

    /// The current code of an account (HOTP: the next one; its counter is committed
    /// first, so no code is ever shown twice).
    pub fn code(&self, account_id: String) -> Result<Code, AuthenticatorError> {
        self.call(|e| {
            let now = e.clock.now_unix_seconds();
            let c = e.code_at(&account_id, now)?;
            Ok(Self::to_code(account_id.clone(), c, now))
        })
    }

    /// The code of an account at `unix_time` (TOTP/Steam; HOTP ignores the time).
    pub fn code_at(&self, account_id: String, unix_time: i64) -> Result<Code, AuthenticatorError> {
        self.call(|e| {
            let c = e.code_at(&account_id, unix_time)?;
            Ok(Self::to_code(account_id.clone(), c, unix_time))
        })
    }

    /// Current codes of every TOTP/Steam account (HOTP codes are only given on request).
    pub fn time_codes(&self) -> Result<Vec<Code>, AuthenticatorError> {
        self.call(|e| {
            let now = e.clock.now_unix_seconds();
            let codes = e.time_codes_at(now)?;
            Ok(codes
                .into_iter()
                .map(|(id, c)| Self::to_code(id, c, now))
                .collect())
        })
    }

    /// Codes of every TOTP/Steam account at `unix_time`.
    pub fn time_codes_at(&self, unix_time: i64) -> Result<Vec<Code>, AuthenticatorError> {
        self.call(|e| {
            let codes = e.time_codes_at(unix_time)?;
            Ok(codes
                .into_iter()
                .map(|(id, c)| Self::to_code(id, c, unix_time))
                .collect())
        })
    }
}
