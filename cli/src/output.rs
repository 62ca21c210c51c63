//! The output contract: JSON shapes QA scripts parse (field names and order are fixed
//! here and nowhere else) and the small text formatting helpers the commands share.

use authenticator_core::{
    Account, AccountKind, Algorithm, ChallengeSource, Code, EnrollmentResult, LockState,
    PendingTokenUpdate, PushChallenge,
};
use serde::Serialize;

/// `kind` as printed.
pub fn kind_str(k: AccountKind) -> &'static str {
    match k {
        AccountKind::Totp => "totp",
        AccountKind::Hotp => "hotp",
        AccountKind::Steam => "steam",
        AccountKind::Push => "push",
    }
}

/// `algorithm` as printed.
pub fn algorithm_str(a: Algorithm) -> &'static str {
    match a {
        Algorithm::Sha1 => "SHA1",
        Algorithm::Sha256 => "SHA256",
        Algorithm::Sha512 => "SHA512",
    }
}

/// `issuer:name`, or the name alone when the issuer is empty.
pub fn label(issuer: &str, name: &str) -> String {
    if issuer.is_empty() {
        name.to_string()
    } else {
        format!("{issuer}:{name}")
    }
}

/// A code split for reading: `123 456`, `1234 5678`, `123 4567`; Steam codes and
/// short codes unchanged.
pub fn group_code(code: &str) -> String {
    let n = code.chars().count();
    if n < 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return code.to_string();
    }
    let first = n / 2;
    let (a, b) = code.split_at(first);
    format!("{a} {b}")
}

/// Pretty JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// An account (no secret).
#[derive(Debug, Serialize)]
pub struct AccountJson {
    id: String,
    kind: &'static str,
    issuer: String,
    name: String,
    algorithm: &'static str,
    digits: u8,
    period: u32,
    counter: u64,
    weak_secret: bool,
    tls_verify: bool,
    requires_pin: bool,
    linked_otp_account_id: Option<String>,
    serial: Option<String>,
    poll_only: bool,
}

impl From<&Account> for AccountJson {
    fn from(a: &Account) -> Self {
        Self {
            id: a.id.clone(),
            kind: kind_str(a.kind),
            issuer: a.issuer.clone(),
            name: a.name.clone(),
            algorithm: algorithm_str(a.algorithm),
            digits: a.digits,
            period: a.period,
            counter: a.counter,
            weak_secret: a.weak_secret,
            tls_verify: a.tls_verify,
            requires_pin: a.requires_pin,
            linked_otp_account_id: a.linked_otp_account_id.clone(),
            serial: a.serial.clone(),
            poll_only: a.poll_only,
        }
    }
}

/// Position in a migration export.
#[derive(Debug, Serialize)]
pub struct BatchJson {
    index: u32,
    size: u32,
    batch_id: i32,
}

/// What `add` stored.
#[derive(Debug, Serialize)]
pub struct EnrollmentJson {
    accounts: Vec<AccountJson>,
    warnings: Vec<String>,
    batch: Option<BatchJson>,
}

impl From<&EnrollmentResult> for EnrollmentJson {
    fn from(r: &EnrollmentResult) -> Self {
        Self {
            accounts: r.accounts.iter().map(AccountJson::from).collect(),
            warnings: r.warnings.clone(),
            batch: r.batch.map(|b| BatchJson {
                index: b.index,
                size: b.size,
                batch_id: b.batch_id,
            }),
        }
    }
}

/// A code.
#[derive(Debug, Serialize)]
pub struct CodeJson {
    account_id: String,
    issuer: String,
    name: String,
    code: String,
    valid_until: Option<i64>,
    seconds_left: Option<i64>,
    counter: Option<u64>,
}

impl CodeJson {
    /// `seconds_left` is counted from `reference` (now, or the `--at` time).
    pub fn new(c: &Code, account: Option<&Account>, seconds_left: Option<i64>) -> Self {
        Self {
            account_id: c.account_id.clone(),
            issuer: account.map(|a| a.issuer.clone()).unwrap_or_default(),
            name: account.map(|a| a.name.clone()).unwrap_or_default(),
            code: c.code.expose().to_string(),
            valid_until: c.valid_until,
            seconds_left,
            counter: c.counter,
        }
    }
}

/// The effective lock policy.
#[derive(Debug, Serialize)]
pub struct PolicyJson {
    require_pin: bool,
    wipe_after_attempts: u32,
    idle_timeout_seconds: Option<u64>,
    min_pin_length: u8,
    background_grace_seconds: u64,
}

/// A push token rotation a server has not taken yet.
#[derive(Debug, Serialize)]
pub struct PendingTokenUpdateJson {
    account_id: String,
    serial: String,
    attempts: u32,
    last_error: Option<String>,
    last_attempt_at: Option<i64>,
}

impl From<&PendingTokenUpdate> for PendingTokenUpdateJson {
    fn from(p: &PendingTokenUpdate) -> Self {
        Self {
            account_id: p.account_id.clone(),
            serial: p.serial.clone(),
            attempts: p.attempts,
            last_error: p.last_error.clone(),
            last_attempt_at: p.last_attempt_at,
        }
    }
}

/// `status --json`.
#[derive(Debug, Serialize)]
pub struct StatusJson {
    has_pin: bool,
    locked: bool,
    attempts_left: u32,
    seconds_until_auto_lock: Option<u64>,
    biometric_enabled: bool,
    wiped: bool,
    policy: PolicyJson,
    accounts: usize,
    keystore: &'static str,
    vault: String,
    pending_push_token_updates: Vec<PendingTokenUpdateJson>,
}

impl StatusJson {
    /// Builds the status record.
    pub fn new(
        s: &LockState,
        accounts: usize,
        keystore: &'static str,
        vault: String,
        pending: &[PendingTokenUpdate],
    ) -> Self {
        Self {
            has_pin: s.has_pin,
            locked: s.locked,
            attempts_left: s.attempts_left,
            seconds_until_auto_lock: s.seconds_until_auto_lock,
            biometric_enabled: s.biometric_enabled,
            wiped: s.wiped,
            policy: PolicyJson {
                require_pin: s.policy.require_pin,
                wipe_after_attempts: s.policy.wipe_after_attempts,
                idle_timeout_seconds: s.policy.idle_timeout_seconds,
                min_pin_length: s.policy.min_pin_length,
                background_grace_seconds: s.policy.background_grace_seconds,
            },
            accounts,
            keystore,
            vault,
            pending_push_token_updates: pending.iter().map(Into::into).collect(),
        }
    }
}

/// A pending push challenge.
#[derive(Debug, Serialize)]
pub struct ChallengeJson {
    id: String,
    account_id: String,
    serial: String,
    title: String,
    question: String,
    presence_options: Vec<String>,
    decline_reasons: Vec<String>,
    expires_at: i64,
    received_via: &'static str,
    tls_verify: bool,
}

impl From<&PushChallenge> for ChallengeJson {
    fn from(c: &PushChallenge) -> Self {
        Self {
            id: c.id.clone(),
            account_id: c.account_id.clone(),
            serial: c.serial.clone(),
            title: c.title.clone(),
            question: c.question.clone(),
            presence_options: c.presence_options.clone(),
            decline_reasons: c.decline_reasons.clone(),
            expires_at: c.expires_at,
            received_via: match c.received_via {
                ChallengeSource::Push => "push",
                ChallengeSource::Poll => "poll",
            },
            tls_verify: c.tls_verify,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_grouped_for_reading() {
        assert_eq!(group_code("646738"), "646 738");
        assert_eq!(group_code("12345678"), "1234 5678");
        assert_eq!(group_code("1234567"), "123 4567");
        assert_eq!(group_code("2BCDF"), "2BCDF");
    }

    #[test]
    fn labels_drop_an_empty_issuer() {
        assert_eq!(label("ACME", "alice"), "ACME:alice");
        assert_eq!(label("", "alice"), "alice");
    }
}
