//! Lock policy: PIN rules, attempts before wipe, idle timeout, and how the effective
//! policy is computed as the strictest of the app's settings and every enrolled
//! account's server requirements.

use crate::error::{Error, Result};
use crate::links::AccountLockPolicy;
use serde::{Deserialize, Serialize};

/// Shortest PIN ever accepted.
pub const MIN_PIN_LENGTH: u8 = 4;
/// Longest PIN accepted.
pub const MAX_PIN_LENGTH: u8 = 16;
/// Default and maximum number of consecutive wrong PINs before the wipe
/// (NIST SP 800-63B rev. 4 ceiling for activation secrets).
pub const MAX_WIPE_AFTER: u32 = 10;

/// Longest background grace a policy may set (one day).
pub const MAX_BACKGROUND_GRACE: u64 = 86_400;

/// A lock policy: the app's own settings, or the effective one in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, uniffi::Record)]
#[serde(default)]
pub struct LockPolicy {
    /// An app PIN must be set.
    pub require_pin: bool,
    /// Consecutive wrong PINs that wipe all provisioned data (1..=10).
    pub wipe_after_attempts: u32,
    /// Seconds of inactivity after which the PIN is asked again (None: never).
    pub idle_timeout_seconds: Option<u64>,
    /// Minimum PIN length (4..=16).
    pub min_pin_length: u8,
    /// Seconds the vault may stay unlocked after the app left the screen (0: lock at
    /// once, the default; at most one day). Only applies with a PIN.
    #[uniffi(default = 0)]
    pub background_grace_seconds: u64,
}

impl Default for LockPolicy {
    fn default() -> Self {
        Self {
            require_pin: false,
            wipe_after_attempts: MAX_WIPE_AFTER,
            idle_timeout_seconds: None,
            min_pin_length: MIN_PIN_LENGTH,
            background_grace_seconds: 0,
        }
    }
}

impl LockPolicy {
    /// Checks the values are within the documented bounds.
    pub fn validate(&self) -> Result<()> {
        if !(1..=MAX_WIPE_AFTER).contains(&self.wipe_after_attempts) {
            return Err(Error::InvalidArgument(format!(
                "wipe_after_attempts must be between 1 and {MAX_WIPE_AFTER}"
            )));
        }
        if !(MIN_PIN_LENGTH..=MAX_PIN_LENGTH).contains(&self.min_pin_length) {
            return Err(Error::InvalidArgument(format!(
                "min_pin_length must be between {MIN_PIN_LENGTH} and {MAX_PIN_LENGTH}"
            )));
        }
        if self.background_grace_seconds > MAX_BACKGROUND_GRACE {
            return Err(Error::InvalidArgument(format!(
                "background_grace_seconds must be at most {MAX_BACKGROUND_GRACE}"
            )));
        }
        if self.idle_timeout_seconds == Some(0) {
            return Err(Error::InvalidArgument(
                "idle_timeout_seconds must be at least 1 (or none)".into(),
            ));
        }
        Ok(())
    }

    /// The stricter of two policies, field by field.
    pub fn strictest(self, other: LockPolicy) -> LockPolicy {
        LockPolicy {
            require_pin: self.require_pin || other.require_pin,
            wipe_after_attempts: self.wipe_after_attempts.min(other.wipe_after_attempts),
            idle_timeout_seconds: match (self.idle_timeout_seconds, other.idle_timeout_seconds) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            min_pin_length: self.min_pin_length.max(other.min_pin_length),
            background_grace_seconds: self
                .background_grace_seconds
                .min(other.background_grace_seconds),
        }
    }

    /// Applies an account's server requirements on top of this policy.
    pub fn with_account(self, a: &AccountLockPolicy) -> LockPolicy {
        self.strictest(LockPolicy {
            require_pin: a.require_pin,
            wipe_after_attempts: a
                .wipe_after
                .unwrap_or(MAX_WIPE_AFTER)
                .clamp(1, MAX_WIPE_AFTER),
            idle_timeout_seconds: a.idle_seconds,
            min_pin_length: a
                .min_pin_length
                .unwrap_or(MIN_PIN_LENGTH)
                .clamp(MIN_PIN_LENGTH, MAX_PIN_LENGTH),
            background_grace_seconds: a
                .background_seconds
                .unwrap_or(MAX_BACKGROUND_GRACE)
                .min(MAX_BACKGROUND_GRACE),
        })
    }
}

/// A lock setting a link (or a settings change) would change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LockSetting {
    /// An app PIN becomes required.
    RequirePin,
    /// Consecutive wrong PINs before the wipe.
    WipeAfterAttempts,
    /// Idle seconds before the PIN is asked again.
    IdleTimeout,
    /// Minimum PIN length.
    MinPinLength,
    /// Seconds the vault stays unlocked once the app left the screen.
    BackgroundGrace,
}

/// One change to the lock in force, for the enrollment preview.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LockChange {
    /// Which setting.
    pub setting: LockSetting,
    /// Its value now (`None`: off / never; booleans as 0 or 1).
    pub current: Option<u64>,
    /// Its value after the change.
    pub proposed: Option<u64>,
    /// One line for the user, e.g. "the vault will be wiped after 3 wrong PINs (now 10)".
    pub description: String,
}

/// Every field in which `after` differs from `before`, described for the user.
pub fn lock_changes(before: &LockPolicy, after: &LockPolicy) -> Vec<LockChange> {
    let mut out = Vec::new();
    if before.require_pin != after.require_pin {
        out.push(LockChange {
            setting: LockSetting::RequirePin,
            current: Some(u64::from(before.require_pin)),
            proposed: Some(u64::from(after.require_pin)),
            description: if after.require_pin {
                "an app PIN will be required".into()
            } else {
                "an app PIN will no longer be required".into()
            },
        });
    }
    if before.wipe_after_attempts != after.wipe_after_attempts {
        out.push(LockChange {
            setting: LockSetting::WipeAfterAttempts,
            current: Some(u64::from(before.wipe_after_attempts)),
            proposed: Some(u64::from(after.wipe_after_attempts)),
            description: format!(
                "all accounts will be wiped after {} wrong PINs in a row (now {})",
                after.wipe_after_attempts, before.wipe_after_attempts
            ),
        });
    }
    if before.idle_timeout_seconds != after.idle_timeout_seconds {
        let show = |v: Option<u64>| v.map_or("never".to_string(), |s| format!("after {s} s"));
        out.push(LockChange {
            setting: LockSetting::IdleTimeout,
            current: before.idle_timeout_seconds,
            proposed: after.idle_timeout_seconds,
            description: format!(
                "the app will lock when idle {} (now {})",
                show(after.idle_timeout_seconds),
                show(before.idle_timeout_seconds)
            ),
        });
    }
    if before.min_pin_length != after.min_pin_length {
        out.push(LockChange {
            setting: LockSetting::MinPinLength,
            current: Some(u64::from(before.min_pin_length)),
            proposed: Some(u64::from(after.min_pin_length)),
            description: format!(
                "the PIN must have at least {} digits (now {})",
                after.min_pin_length, before.min_pin_length
            ),
        });
    }
    if before.background_grace_seconds != after.background_grace_seconds {
        let show = |s: u64| match s {
            0 => "as soon as it leaves the screen".to_string(),
            s => format!("{s} s after it leaves the screen"),
        };
        out.push(LockChange {
            setting: LockSetting::BackgroundGrace,
            current: Some(before.background_grace_seconds),
            proposed: Some(after.background_grace_seconds),
            description: format!(
                "the app will lock {} (now {})",
                show(after.background_grace_seconds),
                show(before.background_grace_seconds)
            ),
        });
    }
    out
}

/// Checks a proposed PIN: digits only, `min_len..=16` long. The message never
/// contains the PIN.
pub fn validate_pin(pin: &str, min_len: u8) -> Result<()> {
    if !pin.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::InvalidPin("a PIN may contain digits only".into()));
    }
    let len = pin.len();
    if len < usize::from(min_len) || len > usize::from(MAX_PIN_LENGTH) {
        return Err(Error::InvalidPin(format!(
            "a PIN must have between {min_len} and {MAX_PIN_LENGTH} digits"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn strictest_takes_each_field_from_the_stricter_side() {
        let app = LockPolicy {
            require_pin: false,
            wipe_after_attempts: 8,
            idle_timeout_seconds: Some(300),
            min_pin_length: 4,
            background_grace_seconds: 60,
        };
        let acc = AccountLockPolicy {
            require_pin: true,
            wipe_after: Some(5),
            idle_seconds: Some(120),
            min_pin_length: Some(6),
            background_seconds: Some(10),
        };
        let p = app.with_account(&acc);
        assert!(p.require_pin);
        assert_eq!(p.wipe_after_attempts, 5);
        assert_eq!(p.idle_timeout_seconds, Some(120));
        assert_eq!(p.min_pin_length, 6);
        assert_eq!(p.background_grace_seconds, 10);
        // A server can only shorten the app's grace, never lengthen it.
        let longer = app.with_account(&AccountLockPolicy {
            background_seconds: Some(600),
            ..AccountLockPolicy::default()
        });
        assert_eq!(longer.background_grace_seconds, 60);
        let relaxed = app.with_account(&AccountLockPolicy::default());
        assert_eq!(relaxed, app);
    }

    #[test]
    fn policy_bounds_and_old_json() {
        let mut p = LockPolicy::default();
        assert_eq!(p.background_grace_seconds, 0, "default: lock at once");
        p.background_grace_seconds = MAX_BACKGROUND_GRACE + 1;
        assert!(p.validate().is_err());
        // A policy stored before the field existed reads as "lock at once".
        let old: LockPolicy = serde_json::from_str(
            r#"{"require_pin":true,"wipe_after_attempts":5,"idle_timeout_seconds":60,"min_pin_length":6}"#,
        )
        .unwrap();
        assert_eq!(old.background_grace_seconds, 0);
        assert_eq!(old.wipe_after_attempts, 5);
    }

    #[test]
    fn lock_changes_lists_every_changed_field() {
        let before = LockPolicy {
            background_grace_seconds: 300,
            ..LockPolicy::default()
        };
        assert!(lock_changes(&before, &before).is_empty());
        let after = before.with_account(&AccountLockPolicy {
            require_pin: true,
            wipe_after: Some(3),
            idle_seconds: Some(60),
            min_pin_length: Some(6),
            background_seconds: Some(0),
        });
        let c = lock_changes(&before, &after);
        let settings: Vec<_> = c.iter().map(|c| c.setting).collect();
        assert_eq!(
            settings,
            [
                LockSetting::RequirePin,
                LockSetting::WipeAfterAttempts,
                LockSetting::IdleTimeout,
                LockSetting::MinPinLength,
                LockSetting::BackgroundGrace
            ]
        );
        assert_eq!((c[1].current, c[1].proposed), (Some(10), Some(3)));
        assert!(
            c[1].description.contains("after 3 wrong PINs"),
            "{}",
            c[1].description
        );
        assert_eq!((c[2].current, c[2].proposed), (None, Some(60)));
    }

    #[test]
    fn pin_rules() {
        assert!(validate_pin("1234", 4).is_ok());
        assert!(validate_pin("123", 4).is_err());
        assert!(validate_pin("12345", 6).is_err());
        assert!(validate_pin("12a4", 4).is_err());
        assert!(validate_pin(&"1".repeat(17), 4).is_err());
        let msg = validate_pin("98765x", 4).unwrap_err().to_string();
        assert!(!msg.contains("98765"));
    }
}
