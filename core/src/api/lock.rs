//! The lock: PIN, unlock, idle timeout, the app's lifecycle, policies, biometric
//! unlock and starting over.

use super::{guard, Authenticator};
pub use crate::engine::LockState;
use crate::error::{AuthenticatorError, Error};
use crate::lock::LockPolicy;
use crate::platform::{BiometricKey, Keystore};
use std::sync::Arc;

/// Deletes the vault at `db_path` (the file, its `-wal` and `-shm`) and the device key
/// (and the old format's raw key):
/// "Start over" after an open that keeps failing (a device key the platform lost), once
/// the user confirmed that every account in it is gone. Missing files are not an error.
/// No `Authenticator` may be open on the file.
#[uniffi::export]
pub fn discard_vault(
    db_path: String,
    keystore: Arc<dyn Keystore>,
) -> Result<(), AuthenticatorError> {
    guard(|| {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let path = format!("{db_path}{suffix}");
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(Error::Storage(format!(
                        "could not delete the vault file{suffix}: {e}"
                    )))
                }
            }
        }
        keystore.delete_legacy_device_key()?;
        keystore.delete_device_key()?;
        Ok(())
    })
}

#[uniffi::export]
impl Authenticator {
    /// Lock status and the policy in force.
    pub fn lock_state(&self) -> Result<LockState, AuthenticatorError> {
        self.call(|e| e.lock_status())
    }

    /// The app left the screen (Android: `ProcessLifecycleOwner` stop, screen off; iOS:
    /// scene phase `.background`). Locks at once unless the policy grants a background
    /// grace (`background_grace_seconds`), which then runs from now.
    pub fn app_backgrounded(&self) -> Result<(), AuthenticatorError> {
        self.call(|e| e.app_backgrounded())
    }

    /// The app is on the screen again: locks if the grace or the idle timeout passed
    /// while it was away (time asleep counts), and returns the lock status, so the shell
    /// shows the PIN screen when `locked`.
    pub fn app_foregrounded(&self) -> Result<LockState, AuthenticatorError> {
        self.call(|e| e.app_foregrounded())
    }

    /// Sets the first PIN.
    pub fn set_pin(&self, new_pin: String) -> Result<(), AuthenticatorError> {
        let pin = zeroize::Zeroizing::new(new_pin);
        self.call(|e| e.set_pin(&pin))
    }

    /// Changes the PIN (a wrong old PIN counts as a failed attempt).
    pub fn change_pin(&self, old_pin: String, new_pin: String) -> Result<(), AuthenticatorError> {
        let (old, new) = (
            zeroize::Zeroizing::new(old_pin),
            zeroize::Zeroizing::new(new_pin),
        );
        self.call(|e| e.change_pin(&old, &new))
    }

    /// Removes the PIN (refused while a policy requires one).
    pub fn remove_pin(&self, pin: String) -> Result<(), AuthenticatorError> {
        let pin = zeroize::Zeroizing::new(pin);
        self.call(|e| e.remove_pin(&pin))
    }

    /// Unlocks with the PIN: `WrongPin { attempts_left }`, or `Wiped` at the limit.
    pub fn unlock(&self, pin: String) -> Result<(), AuthenticatorError> {
        let pin = zeroize::Zeroizing::new(pin);
        self.call(|e| e.unlock(&pin))
    }

    /// Locks now.
    pub fn lock(&self) -> Result<(), AuthenticatorError> {
        self.call(|e| e.lock())
    }

    /// The user did something: restarts the idle timer.
    pub fn report_activity(&self) -> Result<(), AuthenticatorError> {
        self.call(|e| e.report_activity())
    }

    /// Sets the app's own lock policy (requiring a PIN needs one set).
    pub fn set_app_policy(&self, policy: LockPolicy) -> Result<(), AuthenticatorError> {
        self.call(|e| e.set_app_policy(policy))
    }

    /// The app's own lock policy (the effective one is in `lock_state`).
    pub fn app_policy(&self) -> Result<LockPolicy, AuthenticatorError> {
        self.call(|e| {
            e.require_not_wiped()?;
            e.app_policy()
        })
    }

    /// Adds a biometric unlock: the vault key wrapped by a platform key that needs user
    /// presence (vault unlocked, PIN set).
    pub fn enable_biometric_unlock(
        &self,
        key: Arc<dyn BiometricKey>,
    ) -> Result<(), AuthenticatorError> {
        self.call(|e| e.enable_biometric(key.as_ref()))
    }

    /// Removes the biometric unlock.
    pub fn disable_biometric_unlock(&self) -> Result<(), AuthenticatorError> {
        self.call(|e| e.disable_biometric())
    }

    /// Unlocks through the platform key (`BiometricInvalidated` turns it off).
    pub fn unlock_with_biometric(
        &self,
        key: Arc<dyn BiometricKey>,
    ) -> Result<(), AuthenticatorError> {
        self.call(|e| e.unlock_with_biometric(key.as_ref()))
    }

    /// After `Wiped`: starts again with an empty vault.
    pub fn start_over(&self) -> Result<(), AuthenticatorError> {
        self.call(|e| e.start_over())
    }
}
