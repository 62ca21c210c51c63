//! The inner, non-FFI core: owns the database, the keystore, the clock and the
//! in-memory vault key, and implements the lock (PIN, attempts, wipe, idle timeout,
//! biometric wrap), accounts and codes. The exported `Authenticator` wraps one of these
//! behind a mutex; enrollment and push extend it in their own modules.

use crate::crypto::{self, Key256};
use crate::device_key;
use crate::error::{Error, Result};
use crate::links::AccountLockPolicy;
use crate::lock::{self, LockPolicy};
use crate::otp::{self, AccountKind};
use crate::platform::{BiometricKey, Clock, DeviceKeyInfo, KeyProtection, Keystore};
use crate::vault::{self, AccountRow, Db, VaultState};
use rusqlite::{params, TransactionBehavior};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

/// PBKDF2 work settings (tests lower them; the shipped default calibrates to ~250 ms).
#[derive(Debug, Clone, Copy)]
pub struct KdfSettings {
    /// Calibration target.
    pub target: Duration,
    /// Never fewer iterations than this.
    pub floor: u32,
}

impl Default for KdfSettings {
    fn default() -> Self {
        Self {
            target: crypto::PBKDF2_TARGET,
            floor: crypto::PBKDF2_MIN_ITERATIONS,
        }
    }
}

/// A code and when it stops being valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeValue {
    /// The code (digits, or Steam characters); redacted in `Debug`.
    pub code: crate::redact::OtpCode,
    /// TOTP/Steam: unix second at which it stops being valid.
    pub valid_until: Option<i64>,
    /// TOTP/Steam: the period.
    pub period: Option<u32>,
    /// HOTP: the counter used.
    pub counter: Option<u64>,
}

/// Lock status, as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LockState {
    /// A PIN is set.
    pub has_pin: bool,
    /// The PIN must be entered before codes or answers.
    pub locked: bool,
    /// Seconds until the idle lock (when unlocked with a PIN and a timeout applies).
    pub seconds_until_auto_lock: Option<u64>,
    /// Wrong PINs left before the wipe.
    pub attempts_left: u32,
    /// The effective policy.
    pub policy: LockPolicy,
    /// Biometric unlock is set up.
    pub biometric_enabled: bool,
    /// The vault was wiped; call `start_over`.
    pub wiped: bool,
    /// Where the device key that every PIN check needs lives (`None` once wiped). A
    /// vault of the old format reports `Software` until its first unlock re-keys it.
    pub protection: Option<KeyProtection>,
}

/// The inner core.
pub struct Engine {
    pub(crate) db: Db,
    pub(crate) path: PathBuf,
    pub(crate) keystore: Arc<dyn Keystore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) kdf: KdfSettings,
    /// Present while unlocked.
    vault_key: Option<Key256>,
    /// Key for data readable while locked (push server keys); None after a wipe.
    pub(crate) device_data_key: Option<Key256>,
    /// The keystore's kind and protection (asked once per open; None for a vault of the
    /// old format until it is re-keyed, and after a wipe).
    key_info: Option<DeviceKeyInfo>,
    /// A vault of the old format (schema < 7) with a PIN: its raw device key, kept until
    /// the next correct PIN re-keys the vault to the PRF.
    legacy_device_key: Option<Key256>,
    pub(crate) wiped: bool,
    /// When the user last did something (the idle timer runs from here).
    last_activity: Instant,
    /// When the app left the screen, while it is away (the background grace runs from here).
    backgrounded_at: Option<Instant>,
    /// Prepared generators (each holding a zeroizing copy of its secret) of every
    /// time-based account in display order, built on first use while unlocked so a
    /// screen of codes costs only the HMACs; dropped on lock and on any change to the
    /// account list.
    time_plan: Option<Vec<(String, otp::TimeCodeGenerator)>>,
    /// When each push enrollment link was first seen (its `ttl` runs from then).
    pub(crate) push_links_seen: std::collections::HashMap<String, i64>,
    /// RSA size of new phone keys (4096; tests may lower it).
    pub(crate) phone_key_bits: usize,
    /// HTTP for the push protocol.
    pub(crate) transport: Arc<dyn crate::push::transport::Transport>,
    /// Unix second of each container's last failed automatic synchronization (backs
    /// the next automatic attempt off; in memory: a restart may retry at once).
    pub(crate) auto_sync_failures: std::collections::HashMap<String, i64>,
    /// Challenges whose answer is being sent (claimed under the engine lock before the
    /// network call): one answer in flight per challenge.
    pub(crate) answers_in_flight: std::collections::HashSet<String>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("path", &self.path)
            .field("unlocked", &self.vault_key.is_some())
            .field("wiped", &self.wiped)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Opens the vault at `path`, creating it on first use.
    pub fn open(
        path: PathBuf,
        keystore: Arc<dyn Keystore>,
        clock: Arc<dyn Clock>,
        kdf: KdfSettings,
        transport: Arc<dyn crate::push::transport::Transport>,
    ) -> Result<Self> {
        let db = Db::open(&path)?;
        let mut engine = Engine {
            db,
            path,
            keystore,
            clock,
            kdf,
            vault_key: None,
            device_data_key: None,
            key_info: None,
            legacy_device_key: None,
            wiped: false,
            last_activity: Instant::default(),
            backgrounded_at: None,
            time_plan: None,
            push_links_seen: std::collections::HashMap::new(),
            phone_key_bits: crate::push::protocol::PHONE_KEY_BITS,
            transport,
            auto_sync_failures: std::collections::HashMap::new(),
            answers_in_flight: std::collections::HashSet::new(),
        };
        match engine.db.state()? {
            None => engine.initialise()?,
            Some(state) if state.wiped => {
                engine.wiped = true;
                engine.finish_wipe();
            }
            Some(state) => {
                let legacy = state.key_scheme == vault::KEY_SCHEME_LEGACY;
                let ddk = if legacy {
                    let dk = device_key::legacy_key(engine.keystore.as_ref())?;
                    let ddk = crypto::legacy_device_data_key(&dk)?;
                    engine.legacy_device_key = Some(dk);
                    ddk
                } else {
                    let info = engine
                        .keystore
                        .device_key_info()
                        .map_err(device_key::keystore_error)?;
                    engine.key_info = Some(info);
                    device_key::device_data_key(engine.keystore.as_ref(), info.kind)?
                };
                // A wrong device key (keystore reset, wrong keystore) must not look like
                // a wrong PIN: that would burn attempts and end in a wipe.
                match &state.device_key_check {
                    Some(check) => {
                        crypto::open(&ddk, vault::DEVICE_KEY_CHECK_AAD, check).map_err(|_| {
                            Error::Keystore("the device key does not match this vault".into())
                        })?;
                    }
                    None => {
                        let check = device_key_check(&ddk)?;
                        engine.db.conn().execute(
                            "UPDATE vault_state SET device_key_check = ?1 WHERE id = 1",
                            [check],
                        )?;
                    }
                }
                engine.device_data_key = Some(ddk);
                if state.pin_salt.is_some() {
                    // A crash between the last counter commit and the wipe: finish it.
                    // (The policy is an aggregate over every account: only read it here.)
                    if state.failed_attempts >= engine.wipe_limit(&state)? {
                        engine.wipe_all()?;
                        return Ok(engine);
                    }
                } else {
                    let vk = engine.unwrap_vault_key(&state, None).map_err(|_| {
                        Error::Keystore("the device key does not open this vault".into())
                    })?;
                    if legacy {
                        // Nothing to wait for: re-key now.
                        engine.rekey(&vk, &state, None)?;
                    }
                    engine.vault_key = Some(vk);
                }
            }
        }
        engine.last_activity = engine.now();
        log::info!(
            "vault opened (wiped: {}, unlocked: {})",
            engine.wiped,
            engine.vault_key.is_some()
        );
        Ok(engine)
    }

    /// The keystore's kind and protection, asked once.
    fn key_info(&mut self) -> Result<DeviceKeyInfo> {
        if let Some(info) = self.key_info {
            return Ok(info);
        }
        let info = self
            .keystore
            .device_key_info()
            .map_err(device_key::keystore_error)?;
        self.key_info = Some(info);
        Ok(info)
    }

    /// The vault key from `state`'s wrap: with the raw device key for a vault of the old
    /// format, else with the keystore's PRF (of the PIN key, or of a constant).
    fn unwrap_vault_key(&mut self, state: &VaultState, pin_key: Option<&Key256>) -> Result<Key256> {
        let kek = match &self.legacy_device_key {
            Some(dk) if state.key_scheme == vault::KEY_SCHEME_LEGACY => {
                crypto::legacy_kek(dk, pin_key, &state.kek_salt)?
            }
            _ => {
                let kind = self.key_info()?.kind;
                self.kek(kind, pin_key, &state.kek_salt)?
            }
        };
        open_vault_key(state, &kek)
    }

    /// The KEK from the keystore's PRF.
    fn kek(
        &self,
        kind: crate::platform::DeviceKeyKind,
        pin_key: Option<&Key256>,
        kek_salt: &[u8],
    ) -> Result<Key256> {
        match pin_key {
            Some(pk) => device_key::kek_with_pin(self.keystore.as_ref(), kind, pk, kek_salt),
            None => device_key::kek_without_pin(self.keystore.as_ref(), kind, kek_salt),
        }
    }

    /// Re-keys a vault of the old format to the keystore's PRF, in one transaction: the
    /// vault key's wrap (same PIN salt and iterations), the device-key check, and every
    /// value sealed under the device-data key (push servers' public keys). Then the old
    /// raw key is deleted from the keystore (best effort: it opens nothing any more).
    fn rekey(&mut self, vk: &Key256, state: &VaultState, pin_key: Option<&Key256>) -> Result<()> {
        let old_ddk = self
            .device_data_key
            .clone()
            .ok_or_else(|| Error::Internal("re-key without a device-data key".into()))?;
        let kind = self.key_info()?.kind;
        let kek_salt = crypto::random_vec(32)?;
        let kek = self.kek(kind, pin_key, &kek_salt)?;
        let wrapped = crypto::seal(&kek, vault::VAULT_KEY_AAD, vk.as_bytes())?;
        let ddk = device_key::device_data_key(self.keystore.as_ref(), kind)?;
        let check = device_key_check(&ddk)?;
        let tx = self
            .db
            .conn()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Another process may have re-keyed it meanwhile: then nothing is left to do.
        let current = vault::read_state(&tx)?
            .ok_or_else(|| Error::Storage("the vault state row is missing".into()))?;
        if current.key_scheme == vault::KEY_SCHEME_LEGACY
            && current.wrapped_vault_key == state.wrapped_vault_key
        {
            let sealed: Vec<(String, Vec<u8>)> = {
                let mut stmt =
                    tx.prepare("SELECT account_id, server_public_key FROM push_tokens")?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            for (id, blob) in sealed {
                let aad = vault::server_key_aad(&id);
                let plain = crypto::open(&old_ddk, &aad, &blob)?;
                let resealed = crypto::seal(&ddk, &aad, &plain)?;
                tx.execute(
                    "UPDATE push_tokens SET server_public_key = ?2 WHERE account_id = ?1",
                    params![id, resealed],
                )?;
            }
            tx.execute(
                "UPDATE vault_state SET wrapped_vault_key = ?1, kek_salt = ?2, device_key_check = ?3,
                     key_scheme = ?4, failed_attempts = 0, wipe_floor = NULL
                 WHERE id = 1",
                params![wrapped, kek_salt, check, vault::KEY_SCHEME_PRF],
            )?;
            tx.commit()?;
            log::info!("vault re-keyed to the keystore's PRF");
        } else {
            drop(tx);
        }
        self.device_data_key = Some(ddk);
        self.legacy_device_key = None;
        if let Err(e) = self.keystore.delete_legacy_device_key() {
            log::warn!("the old device key could not be deleted ({e})");
        }
        Ok(())
    }

    /// First open (or start over after a wipe): new vault key wrapped under the PRF.
    fn initialise(&mut self) -> Result<()> {
        self.key_info = None;
        self.legacy_device_key = None;
        let kind = self.key_info()?.kind;
        let vk = Key256::random()?;
        let kek_salt = crypto::random_vec(32)?;
        let kek = self.kek(kind, None, &kek_salt)?;
        let wrapped = crypto::seal(&kek, vault::VAULT_KEY_AAD, vk.as_bytes())?;
        let ddk = device_key::device_data_key(self.keystore.as_ref(), kind)?;
        let check = device_key_check(&ddk)?;
        let now = self.clock.now_unix_seconds();
        let tx = self
            .db
            .conn()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM vault_state", [])?;
        tx.execute(
            "INSERT INTO vault_state (id, wrapped_vault_key, kek_salt, created_at, device_key_check, key_scheme)
             VALUES (1, ?1, ?2, ?3, ?4, ?5)",
            params![wrapped, kek_salt, now, check, vault::KEY_SCHEME_PRF],
        )?;
        tx.commit()?;
        self.device_data_key = Some(ddk);
        self.vault_key = Some(vk);
        self.wiped = false;
        Ok(())
    }

    /// Whether an app PIN is set.
    pub(crate) fn has_pin(&self) -> Result<bool> {
        Ok(self.state()?.pin_salt.is_some())
    }

    pub(crate) fn state(&self) -> Result<VaultState> {
        self.db
            .state()?
            .ok_or_else(|| Error::Storage("the vault state row is missing".into()))
    }

    // ------------------------------------------------------------------ policy

    /// The app's own policy.
    pub fn app_policy(&self) -> Result<LockPolicy> {
        Ok(app_policy_of(&self.state()?))
    }

    /// The strictest of the app's policy and every account's requirements.
    pub fn effective_policy(&self) -> Result<LockPolicy> {
        effective_policy_in(self.db.conn_ref(), &self.state()?)
    }

    /// Consecutive wrong PINs that wipe the vault now: the policy's, but never below
    /// the floor a policy change left while wrong PINs were counted.
    pub(crate) fn wipe_limit(&self, state: &VaultState) -> Result<u32> {
        wipe_limit_in(self.db.conn_ref(), state)
    }

    /// Sets the app's own policy. Requiring a PIN (or an idle timeout) needs a PIN.
    pub fn set_app_policy(&mut self, policy: LockPolicy) -> Result<()> {
        self.require_unlocked()?;
        policy.validate()?;
        let has_pin = self.has_pin()?;
        if (policy.require_pin || policy.idle_timeout_seconds.is_some()) && !has_pin {
            return Err(Error::PinRequired);
        }
        let json = serde_json::to_string(&policy).map_err(|e| Error::Internal(e.to_string()))?;
        let tx = self
            .db
            .conn()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE vault_state SET app_policy = ?1 WHERE id = 1",
            [json],
        )?;
        vault::protect_counted_attempts(&tx)?;
        tx.commit()?;
        Ok(())
    }

    // ------------------------------------------------------------------ lock

    /// Now, on both of the clock's scales.
    fn now(&self) -> Instant {
        Instant {
            monotonic_ms: self.clock.monotonic_millis(),
            wall_s: self.clock.now_unix_seconds(),
        }
    }

    /// Milliseconds since `since` (see [`Instant::elapsed_ms`]).
    fn elapsed_ms(&self, since: Instant) -> u64 {
        self.now().elapsed_ms_since(since)
    }

    /// Restarts the idle timer.
    fn touch(&mut self) {
        self.last_activity = self.now();
    }

    /// Drops the vault key and every decrypted secret from memory.
    fn forget_vault_key(&mut self) {
        self.vault_key = None;
        self.time_plan = None;
    }

    /// Drops what is derived from the account list (after adds, deletes, reorders).
    pub(crate) fn accounts_changed(&mut self) {
        self.time_plan = None;
    }

    /// Errors with `Wiped` after a wipe.
    pub fn require_not_wiped(&self) -> Result<()> {
        if self.wiped {
            Err(Error::Wiped)
        } else {
            Ok(())
        }
    }

    /// Returns the vault key, or `Locked` (also when the idle timeout has passed, which
    /// locks the vault).
    pub fn require_unlocked(&mut self) -> Result<Key256> {
        self.require_not_wiped()?;
        self.apply_idle_timeout()?;
        self.vault_key.clone().ok_or(Error::Locked)
    }

    /// Locks when the idle timeout, or the background grace while the app is away,
    /// has passed. Both are measured with [`Instant::elapsed_ms_since`], so neither a
    /// clock that stopped while the phone slept nor a wall clock set back stretches them.
    fn apply_idle_timeout(&mut self) -> Result<()> {
        if self.vault_key.is_none() {
            return Ok(());
        }
        if !self.has_pin()? {
            return Ok(());
        }
        let policy = self.effective_policy()?;
        if let Some(idle) = policy.idle_timeout_seconds {
            if self.elapsed_ms(self.last_activity) > idle.saturating_mul(1000) {
                log::info!("idle timeout of {idle} s passed: locked");
                self.forget_vault_key();
            }
        }
        if let Some(away) = self.backgrounded_at {
            let grace = policy.background_grace_seconds.saturating_mul(1000);
            if grace == 0 || self.elapsed_ms(away) > grace {
                log::info!("the app is in the background past its grace: locked");
                self.forget_vault_key();
            }
        }
        Ok(())
    }

    /// The user did something: restarts the idle timer (if still unlocked).
    pub fn report_activity(&mut self) -> Result<()> {
        self.require_not_wiped()?;
        self.apply_idle_timeout()?;
        if self.vault_key.is_some() {
            self.touch();
        }
        Ok(())
    }

    /// The app left the screen (or the screen went off). With the default grace of 0
    /// the vault locks now; otherwise it locks once the grace has passed, checked on
    /// every later call and on `app_foregrounded`.
    pub fn app_backgrounded(&mut self) -> Result<()> {
        self.require_not_wiped()?;
        if self.backgrounded_at.is_none() {
            self.backgrounded_at = Some(self.now());
        }
        self.apply_idle_timeout()
    }

    /// The app is back on the screen: locks if the grace (or the idle timeout) passed
    /// while it was away, and returns the lock status for the UI.
    pub fn app_foregrounded(&mut self) -> Result<LockState> {
        if !self.wiped {
            self.apply_idle_timeout()?;
        }
        self.backgrounded_at = None;
        self.lock_status()
    }

    /// Locks now (no-op without a PIN: there would be nothing to unlock with).
    pub fn lock(&mut self) -> Result<()> {
        self.require_not_wiped()?;
        if self.has_pin()? {
            self.forget_vault_key();
        }
        Ok(())
    }

    /// Lock status for the UI.
    pub fn lock_status(&mut self) -> Result<LockState> {
        if self.wiped {
            return Ok(LockState {
                has_pin: false,
                locked: true,
                seconds_until_auto_lock: None,
                attempts_left: 0,
                policy: LockPolicy::default(),
                biometric_enabled: false,
                wiped: true,
                protection: None,
            });
        }
        self.apply_idle_timeout()?;
        let state = self.state()?;
        let policy = self.effective_policy()?;
        let has_pin = state.pin_salt.is_some();
        let locked = self.vault_key.is_none();
        let seconds_until_auto_lock = match (has_pin, locked, policy.idle_timeout_seconds) {
            (true, false, Some(idle)) => {
                let elapsed = self.elapsed_ms(self.last_activity);
                Some(idle.saturating_mul(1000).saturating_sub(elapsed) / 1000)
            }
            _ => None,
        };
        Ok(LockState {
            has_pin,
            locked,
            seconds_until_auto_lock,
            attempts_left: self
                .wipe_limit(&state)?
                .saturating_sub(state.failed_attempts),
            policy,
            biometric_enabled: state.biometric_wrapped_vault_key.is_some(),
            wiped: false,
            protection: Some(match self.key_info {
                Some(info) if state.key_scheme == vault::KEY_SCHEME_PRF => info.protection,
                // The old format's raw key bytes were readable outside the hardware.
                _ => KeyProtection::Software,
            }),
        })
    }

    /// The attempt counter's transaction, committed *before* any unwrap is tried: reads
    /// the state, the PIN parameters and the limit inside it (so two processes on one
    /// vault cannot both evaluate the last allowed attempt), refuses once the limit is
    /// reached, and otherwise counts this attempt.
    fn begin_attempt(&mut self) -> Result<Attempt> {
        let tx = self
            .db
            .conn()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let state = vault::read_state(&tx)?
            .ok_or_else(|| Error::Storage("the vault state row is missing".into()))?;
        if state.wiped {
            return Ok(Attempt::Wiped);
        }
        if state.pin_salt.is_none() || state.pin_iterations.is_none() {
            return Err(Error::InvalidArgument("no PIN is set".into()));
        }
        let limit = wipe_limit_in(&tx, &state)?;
        if state.failed_attempts >= limit {
            return Ok(Attempt::LimitReached);
        }
        tx.execute(
            "UPDATE vault_state SET failed_attempts = failed_attempts + 1 WHERE id = 1",
            [],
        )?;
        tx.commit()?;
        Ok(Attempt::Evaluate {
            count: state.failed_attempts + 1,
            state: Box::new(state),
            limit,
        })
    }

    /// Checks `pin` by unwrapping the vault key, with the attempt counter and the wipe.
    /// On success the vault is unlocked and the counter reset. At the limit the answer
    /// is always `Wiped`, whatever part of the wipe failed (open and `start_over` finish
    /// it).
    pub(crate) fn verify_pin(&mut self, pin: &str) -> Result<Key256> {
        self.require_not_wiped()?;
        let (state, count, limit) = match self.begin_attempt()? {
            Attempt::Evaluate {
                state,
                count,
                limit,
            } => (state, count, limit),
            Attempt::LimitReached => {
                let _ = self.wipe_all();
                return Err(Error::Wiped);
            }
            Attempt::Wiped => {
                self.forget_vault_key();
                self.device_data_key = None;
                self.wiped = true;
                return Err(Error::Wiped);
            }
        };
        let (Some(salt), Some(iterations)) = (state.pin_salt.as_deref(), state.pin_iterations)
        else {
            return Err(Error::InvalidArgument("no PIN is set".into()));
        };
        let pin_key = crypto::pin_key(pin, salt, iterations)?;
        match self.unwrap_vault_key(&state, Some(&pin_key)) {
            Ok(vk) => {
                if state.key_scheme == vault::KEY_SCHEME_LEGACY {
                    // Resets the counter in the re-key's transaction.
                    self.rekey(&vk, &state, Some(&pin_key))?;
                } else {
                    if self.legacy_device_key.take().is_some() {
                        // Another process re-keyed the vault since this one opened it.
                        let kind = self.key_info()?.kind;
                        self.device_data_key =
                            Some(device_key::device_data_key(self.keystore.as_ref(), kind)?);
                    }
                    self.db.conn().execute(
                        "UPDATE vault_state SET failed_attempts = 0, wipe_floor = NULL WHERE id = 1",
                        [],
                    )?;
                }
                log::info!("unlocked with the PIN");
                self.vault_key = Some(vk.clone());
                // Whoever typed the PIN is looking at the app.
                self.backgrounded_at = None;
                self.touch();
                Ok(vk)
            }
            Err(Error::Decrypt) if count >= limit => {
                log::warn!("wrong PIN at the limit of {limit}: wiping the vault");
                let _ = self.wipe_all();
                Err(Error::Wiped)
            }
            Err(Error::Decrypt) => Err({
                log::warn!("wrong PIN, {} attempts left", limit - count);
                Error::WrongPin {
                    attempts_left: limit - count,
                }
            }),
            Err(other) => Err(other),
        }
    }

    /// Unlocks with the PIN.
    pub fn unlock(&mut self, pin: &str) -> Result<()> {
        self.require_not_wiped()?;
        let state = self.state()?;
        if state.wiped {
            // Another connection (another process) wiped the vault.
            self.forget_vault_key();
            self.device_data_key = None;
            self.wiped = true;
            return Err(Error::Wiped);
        }
        if state.pin_salt.is_none() {
            return Ok(());
        }
        self.verify_pin(pin).map(|_| ())
    }

    /// Wraps `vk` for `pin` (or for the device key alone) and returns the columns to store.
    pub(crate) fn wrap_for_pin(&mut self, vk: &Key256, pin: Option<&str>) -> Result<PinWrap> {
        if self.legacy_device_key.is_some() {
            // A vault of the old format is re-keyed by open or by the PIN check first.
            return Err(Error::Internal("the vault is not re-keyed yet".into()));
        }
        let kind = self.key_info()?.kind;
        let kek_salt = crypto::random_vec(32)?;
        let (pin_salt, iterations, pin_key) = match pin {
            Some(pin) => {
                let salt = crypto::random_vec(16)?;
                let iterations = crypto::calibrate_pbkdf2(self.kdf.target, self.kdf.floor);
                let pk = crypto::pin_key(pin, &salt, iterations)?;
                (Some(salt), Some(iterations), Some(pk))
            }
            None => (None, None, None),
        };
        let kek = self.kek(kind, pin_key.as_ref(), &kek_salt)?;
        let wrapped = crypto::seal(&kek, vault::VAULT_KEY_AAD, vk.as_bytes())?;
        Ok(PinWrap {
            wrapped,
            kek_salt,
            pin_salt,
            iterations,
        })
    }

    /// Stores a new wrap of the vault key in `tx` (one UPDATE: the old or the new PIN
    /// works, never neither). Drops the biometric wrap only when the PIN is removed.
    pub(crate) fn store_wrap(tx: &rusqlite::Transaction<'_>, w: &PinWrap) -> Result<()> {
        tx.execute(
            "UPDATE vault_state SET wrapped_vault_key = ?1, kek_salt = ?2, pin_salt = ?3,
                 pin_iterations = ?4, failed_attempts = 0, wipe_floor = NULL,
                 biometric_wrapped_vault_key = CASE WHEN ?3 IS NULL THEN NULL ELSE biometric_wrapped_vault_key END
             WHERE id = 1",
            params![w.wrapped, w.kek_salt, w.pin_salt, w.iterations],
        )?;
        Ok(())
    }

    /// Stores a new wrap in its own transaction.
    fn commit_wrap(&mut self, w: &PinWrap) -> Result<()> {
        let tx = self
            .db
            .conn()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        Self::store_wrap(&tx, w)?;
        tx.commit()?;
        Ok(())
    }

    /// Sets the first PIN (the vault must be unlocked and have no PIN).
    pub fn set_pin(&mut self, new_pin: &str) -> Result<()> {
        let vk = self.require_unlocked()?;
        if self.has_pin()? {
            return Err(Error::InvalidArgument(
                "a PIN is already set; change it instead".into(),
            ));
        }
        lock::validate_pin(new_pin, self.effective_policy()?.min_pin_length)?;
        let w = self.wrap_for_pin(&vk, Some(new_pin))?;
        self.commit_wrap(&w)?;
        self.touch();
        Ok(())
    }

    /// Changes the PIN: re-wraps the vault key only (no account is re-encrypted).
    pub fn change_pin(&mut self, old_pin: &str, new_pin: &str) -> Result<()> {
        self.require_not_wiped()?;
        if !self.has_pin()? {
            return Err(Error::InvalidArgument(
                "no PIN is set; set one instead".into(),
            ));
        }
        let min_len = self.effective_policy()?.min_pin_length;
        lock::validate_pin(new_pin, min_len)?;
        let vk = self.verify_pin(old_pin)?;
        let w = self.wrap_for_pin(&vk, Some(new_pin))?;
        self.commit_wrap(&w)?;
        Ok(())
    }

    /// Removes the PIN (refused while the policy requires one).
    pub fn remove_pin(&mut self, pin: &str) -> Result<()> {
        self.require_not_wiped()?;
        if !self.has_pin()? {
            return Ok(());
        }
        if self.effective_policy()?.require_pin {
            return Err(Error::PinRequired);
        }
        let vk = self.verify_pin(pin)?;
        let w = self.wrap_for_pin(&vk, None)?;
        self.commit_wrap(&w)?;
        Ok(())
    }

    /// Wipes all provisioned data, then deletes the device key. Afterwards every call
    /// answers `Wiped` until `start_over`.
    ///
    /// A device key the keystore fails to delete does not fail the wipe: the data it
    /// protected is gone, every later open tries the deletion again, and `start_over`
    /// must delete it before it creates a new key.
    pub fn wipe_all(&mut self) -> Result<()> {
        self.forget_vault_key();
        self.device_data_key = None;
        self.wiped = true;
        self.accounts_changed();
        self.key_info = None;
        self.legacy_device_key = None;
        self.db.wipe()?;
        if let Err(e) = self.delete_device_keys() {
            log::warn!("the device key could not be deleted yet ({e}); the next open retries");
        }
        log::warn!("vault wiped");
        Ok(())
    }

    /// At the open of a wiped vault: finishes whatever the wipe left undone (rows, if
    /// the process died inside it; the device key, if its deletion failed). Best effort:
    /// the vault answers `Wiped` either way.
    fn finish_wipe(&mut self) {
        if vault::has_provisioned_data(self.db.conn_ref()).unwrap_or(true) {
            let _ = self.db.wipe();
        } else {
            // The process may have died between the wipe's commit and its VACUUM.
            let _ = self.db.scrub_files();
        }
        let _ = self.delete_device_keys();
    }

    /// Deletes the device key and the old format's raw key (either may be missing).
    fn delete_device_keys(&self) -> Result<()> {
        let legacy = self.keystore.delete_legacy_device_key();
        self.keystore.delete_device_key()?;
        legacy?;
        Ok(())
    }

    /// After a wipe: a fresh, empty vault under a new device key.
    pub fn start_over(&mut self) -> Result<()> {
        if !self.wiped {
            return Err(Error::InvalidArgument(
                "start_over is only for a wiped vault".into(),
            ));
        }
        // Never reuse the old device key: delete it first, and stop if that fails.
        self.delete_device_keys()?;
        self.initialise()?;
        self.touch();
        Ok(())
    }

    // ------------------------------------------------------------------ biometric

    /// Adds the biometric wrap of the vault key (needs an unlocked vault with a PIN).
    pub fn enable_biometric(&mut self, key: &dyn BiometricKey) -> Result<()> {
        let vk = self.require_unlocked()?;
        if !self.has_pin()? {
            return Err(Error::PinRequired);
        }
        let canary = crypto::seal(&vk, vault::BIOMETRIC_AAD, b"authcore-vault-key")?;
        let platform = key.wrap(vk.as_bytes().to_vec())?;
        let mut blob = Vec::with_capacity(4 + canary.len() + platform.len());
        blob.extend_from_slice(&u32::try_from(canary.len()).unwrap_or(0).to_be_bytes());
        blob.extend_from_slice(&canary);
        blob.extend_from_slice(&platform);
        self.db.conn().execute(
            "UPDATE vault_state SET biometric_wrapped_vault_key = ?1 WHERE id = 1",
            [blob],
        )?;
        Ok(())
    }

    /// Removes the biometric wrap.
    pub fn disable_biometric(&mut self) -> Result<()> {
        self.require_unlocked()?;
        self.drop_biometric_wrap()
    }

    /// Removes the biometric wrap (an invalidated platform key, or an explicit disable).
    fn drop_biometric_wrap(&mut self) -> Result<()> {
        self.db.conn().execute(
            "UPDATE vault_state SET biometric_wrapped_vault_key = NULL WHERE id = 1",
            [],
        )?;
        Ok(())
    }

    /// Unlocks with the biometric wrap. The PIN failure counter is not reset (only a
    /// correct PIN resets it). An invalidated platform key drops the wrap.
    pub fn unlock_with_biometric(&mut self, key: &dyn BiometricKey) -> Result<()> {
        self.require_not_wiped()?;
        let state = self.state()?;
        let blob = state
            .biometric_wrapped_vault_key
            .clone()
            .ok_or_else(|| Error::InvalidArgument("biometric unlock is not enabled".into()))?;
        if state.wiped {
            self.wiped = true;
            return Err(Error::Wiped);
        }
        if state.failed_attempts >= self.wipe_limit(&state)? {
            let _ = self.wipe_all();
            return Err(Error::Wiped);
        }
        let (canary, platform) = split_biometric_blob(&blob)?;
        let raw = match key.unwrap(platform.to_vec()) {
            Ok(raw) => Zeroizing::new(raw),
            Err(e) => {
                let err: Error = e.into();
                if matches!(err, Error::BiometricInvalidated(_)) {
                    self.drop_biometric_wrap()?;
                }
                return Err(err);
            }
        };
        let vk = Key256::from_vec(raw.to_vec())
            .map_err(|_| Error::BiometricInvalidated("bad key".into()))?;
        if crypto::open(&vk, vault::BIOMETRIC_AAD, canary).is_err() {
            self.drop_biometric_wrap()?;
            return Err(Error::BiometricInvalidated(
                "the biometric wrap does not match the vault".into(),
            ));
        }
        log::info!("unlocked with biometrics");
        self.vault_key = Some(vk);
        self.backgrounded_at = None;
        self.touch();
        Ok(())
    }

    // ------------------------------------------------------------------ accounts

    /// Accounts in display order (readable while locked: no secrets in them).
    pub fn accounts(&self) -> Result<Vec<AccountRow>> {
        self.require_not_wiped()?;
        self.db.accounts()
    }

    /// Renames an account (the name; the issuer stays).
    pub fn rename(&mut self, id: &str, new_name: &str) -> Result<()> {
        self.require_unlocked()?;
        let new_name = new_name.trim();
        if new_name.is_empty() {
            return Err(Error::InvalidArgument("the new name is empty".into()));
        }
        let n = self.db.conn().execute(
            "UPDATE accounts SET name = ?2 WHERE id = ?1",
            params![id, new_name],
        )?;
        if n == 0 {
            return Err(Error::NotFound(format!("account {id}")));
        }
        Ok(())
    }

    /// Sets the display order: `ids` must list every account exactly once.
    pub fn reorder(&mut self, ids: &[String]) -> Result<()> {
        self.require_unlocked()?;
        let mut existing: Vec<String> = self.db.accounts()?.into_iter().map(|a| a.id).collect();
        let mut wanted = ids.to_vec();
        existing.sort();
        wanted.sort();
        if existing != wanted {
            return Err(Error::InvalidArgument(
                "the new order must list every account exactly once".into(),
            ));
        }
        let tx = self
            .db
            .conn()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for (i, id) in ids.iter().enumerate() {
            tx.execute(
                "UPDATE accounts SET sort_order = ?2 WHERE id = ?1",
                params![id, i as i64],
            )?;
        }
        tx.commit()?;
        self.accounts_changed();
        Ok(())
    }

    /// Deletes an account (with its push token and challenges). Needs an unlocked vault:
    /// deleting relaxes the policy, so a thief must not be able to do it.
    pub fn delete(&mut self, id: &str) -> Result<()> {
        self.require_unlocked()?;
        let account = self.db.account(id)?;
        self.check_deletable(&account)?;
        let n = self
            .db
            .conn()
            .execute("DELETE FROM accounts WHERE id = ?1", [id])?;
        if n == 0 {
            return Err(Error::NotFound(format!("account {id}")));
        }
        self.accounts_changed();
        Ok(())
    }

    // ------------------------------------------------------------------ codes

    /// Decrypts an account's secret.
    pub(crate) fn secret_of(&self, vk: &Key256, a: &AccountRow) -> Result<Zeroizing<Vec<u8>>> {
        crypto::open(vk, &vault::secret_aad(&a.id), &a.sealed_secret)
    }

    /// The prepared generators of the time-based accounts, built on first use: the
    /// vault key is set up once, and each secret is opened with its own row's AAD.
    fn time_plan(&mut self, vk: &Key256) -> Result<&[(String, otp::TimeCodeGenerator)]> {
        if self.time_plan.is_none() {
            let opener = crypto::Opener::new(vk)?;
            let plan = self.db.time_accounts(|a| {
                let secret = opener.open(&vault::secret_aad(a.id), a.sealed_secret)?;
                let g =
                    otp::TimeCodeGenerator::new(a.kind, &secret, a.algorithm, a.digits, a.period)?;
                Ok(g)
            })?;
            self.time_plan = Some(plan);
        }
        Ok(self.time_plan.as_deref().unwrap_or_default())
    }

    /// Codes of every time-based (TOTP/Steam) account at `unix_time`, in display order.
    /// HOTP accounts are left out: their codes consume the counter and are only given
    /// on request.
    pub fn time_codes_at(&mut self, unix_time: i64) -> Result<Vec<(String, CodeValue)>> {
        let vk = self.require_unlocked()?;
        let t = unix_seconds(unix_time)?;
        Ok(self
            .time_plan(&vk)?
            .iter()
            .map(|(id, g)| (id.clone(), time_code(g, unix_time, t)))
            .collect())
    }

    /// The code of an account at `unix_time`. HOTP: the counter is incremented and
    /// committed before the code is returned (`unix_time` is ignored).
    pub fn code_at(&mut self, id: &str, unix_time: i64) -> Result<CodeValue> {
        let vk = self.require_unlocked()?;
        let a = self.db.account(id)?;
        let t = unix_seconds(unix_time)?;
        let now = self.clock.now_unix_seconds();
        match a.kind {
            AccountKind::Totp | AccountKind::Steam => self
                .time_plan(&vk)?
                .iter()
                .find(|(plan_id, _)| plan_id == id)
                .map(|(_, g)| time_code(g, unix_time, t))
                .ok_or_else(|| Error::Internal("time-based account missing from the plan".into())),
            AccountKind::Hotp => {
                let secret = self.secret_of(&vk, &a)?;
                let tx = self
                    .db
                    .conn()
                    .transaction_with_behavior(TransactionBehavior::Immediate)?;
                let counter: i64 =
                    tx.query_row("SELECT counter FROM accounts WHERE id = ?1", [id], |r| {
                        r.get(0)
                    })?;
                let counter = counter as u64;
                let next = counter.checked_add(1).ok_or_else(|| {
                    Error::InvalidArgument("the HOTP counter is exhausted".into())
                })?;
                tx.execute(
                    "UPDATE accounts SET counter = ?2, last_used_at = ?3 WHERE id = ?1",
                    params![id, next as i64, now],
                )?;
                tx.commit()?;
                log::debug!("HOTP counter of {id} committed at {next} before its code");
                let code = otp::hotp(&secret, a.algorithm, a.digits, counter)?;
                Ok(CodeValue {
                    code: code.into(),
                    valid_until: None,
                    period: None,
                    counter: Some(counter),
                })
            }
            AccountKind::Push => Err(Error::NotSupported(
                "a push account has no code; use its linked OTP account".into(),
            )),
        }
    }
}

/// A moment on both of the clock's scales: the suspend-aware monotonic clock and the
/// wall clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Instant {
    monotonic_ms: u64,
    wall_s: i64,
}

impl Instant {
    /// Milliseconds from `earlier` to `self`: the larger of the monotonic clock's and
    /// the wall clock's elapsed time. A monotonic clock that stopped while the phone
    /// slept (a shell clock that does not count suspend) is caught by the wall clock; a
    /// wall clock set back is caught by the monotonic one; a wall clock set forward
    /// only locks sooner. The wall clock has a resolution of one second, so one second
    /// of it is discounted: a reading that ticked over never locks early.
    pub(crate) fn elapsed_ms_since(self, earlier: Instant) -> u64 {
        let monotonic = self.monotonic_ms.saturating_sub(earlier.monotonic_ms);
        let wall_s = self.wall_s.saturating_sub(earlier.wall_s).saturating_sub(1);
        let wall = u64::try_from(wall_s).unwrap_or(0).saturating_mul(1000);
        monotonic.max(wall)
    }
}

pub(crate) struct PinWrap {
    wrapped: Vec<u8>,
    kek_salt: Vec<u8>,
    pin_salt: Option<Vec<u8>>,
    iterations: Option<u32>,
}

/// The app's own policy as stored in `state`.
fn app_policy_of(state: &VaultState) -> LockPolicy {
    serde_json::from_str(&state.app_policy_json).unwrap_or_default()
}

/// The strictest of the app's policy and every account's requirements, read through
/// `conn` (a connection or an open transaction).
fn effective_policy_in(conn: &rusqlite::Connection, state: &VaultState) -> Result<LockPolicy> {
    let strictest_account: AccountLockPolicy = conn.query_row(
        "SELECT COALESCE(MAX(lock_require_pin), 0), MIN(lock_wipe_after),
                MIN(lock_idle_seconds), MAX(lock_min_pin_length),
                MIN(lock_background_seconds) FROM accounts",
        [],
        |r| {
            Ok(AccountLockPolicy {
                require_pin: r.get(0)?,
                wipe_after: r.get(1)?,
                idle_seconds: r.get::<_, Option<i64>>(2)?.map(|v| v as u64),
                min_pin_length: r.get(3)?,
                background_seconds: r.get::<_, Option<i64>>(4)?.map(|v| v as u64),
            })
        },
    )?;
    Ok(app_policy_of(state).with_account(&strictest_account))
}

/// The wipe limit in force: the policy's, never below the stored floor.
fn wipe_limit_in(conn: &rusqlite::Connection, state: &VaultState) -> Result<u32> {
    let policy = effective_policy_in(conn, state)?;
    Ok(policy
        .wipe_after_attempts
        .max(state.wipe_floor.unwrap_or(0)))
}

/// What the attempt counter's transaction decided.
enum Attempt {
    /// Counted (committed): evaluate the PIN. `count` includes this attempt.
    Evaluate {
        state: Box<VaultState>,
        count: u32,
        limit: u32,
    },
    /// The limit was already reached (by this or another process): wipe, evaluate nothing.
    LimitReached,
    /// Another process already wiped the vault.
    Wiped,
}

/// A unix time as the unsigned seconds OTP needs.
fn unix_seconds(unix_time: i64) -> Result<u64> {
    u64::try_from(unix_time).map_err(|_| Error::InvalidArgument("time before 1970".into()))
}

/// The code of a prepared generator at `unix_time` (`t` is the same time, unsigned),
/// with the second it stops being valid.
fn time_code(g: &otp::TimeCodeGenerator, unix_time: i64, t: u64) -> CodeValue {
    let p = i64::from(g.period());
    CodeValue {
        code: g.at(t).into(),
        valid_until: (unix_time / p)
            .checked_add(1)
            .and_then(|n| n.checked_mul(p)),
        period: Some(g.period()),
        counter: None,
    }
}

/// The canary sealed under the device-data key that identifies the right device key.
fn device_key_check(ddk: &Key256) -> Result<Vec<u8>> {
    crypto::seal(ddk, vault::DEVICE_KEY_CHECK_AAD, vault::DEVICE_KEY_CHECK)
}

fn open_vault_key(state: &VaultState, kek: &Key256) -> Result<Key256> {
    let wrapped = state
        .wrapped_vault_key
        .as_ref()
        .ok_or_else(|| Error::Storage("the wrapped vault key is missing".into()))?;
    let raw = crypto::open(kek, vault::VAULT_KEY_AAD, wrapped)?;
    Key256::from_vec(raw.to_vec())
}

fn split_biometric_blob(blob: &[u8]) -> Result<(&[u8], &[u8])> {
    let bad = || Error::Storage("the biometric wrap is malformed".into());
    let len_bytes: [u8; 4] = blob
        .get(..4)
        .ok_or_else(bad)?
        .try_into()
        .map_err(|_| bad())?;
    let len = u32::from_be_bytes(len_bytes) as usize;
    let end = len.checked_add(4).ok_or_else(bad)?;
    let canary = blob.get(4..end).ok_or_else(bad)?;
    let platform = blob.get(end..).ok_or_else(bad)?;
    Ok((canary, platform))
}

#[cfg(test)]
mod rekey_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::error::KeystoreError;
    use crate::platform::{DeviceKeyKind, KeyProtection};
    use std::sync::Mutex;

    /// HMAC keystore holding an old raw key too.
    struct Ks {
        key: [u8; 32],
        legacy: Mutex<Option<Vec<u8>>>,
    }

    impl Keystore for Ks {
        fn device_key_info(&self) -> std::result::Result<DeviceKeyInfo, KeystoreError> {
            Ok(DeviceKeyInfo {
                kind: DeviceKeyKind::HmacSha256,
                protection: KeyProtection::Strongbox,
            })
        }
        fn prf(&self, input: Vec<u8>) -> std::result::Result<Vec<u8>, KeystoreError> {
            Ok(crate::platform::hmac_sha256(&self.key, &input))
        }
        fn delete_device_key(&self) -> std::result::Result<(), KeystoreError> {
            Ok(())
        }
        fn legacy_device_key(&self) -> std::result::Result<Option<Vec<u8>>, KeystoreError> {
            Ok(self.legacy.lock().unwrap().clone())
        }
        fn delete_legacy_device_key(&self) -> std::result::Result<(), KeystoreError> {
            *self.legacy.lock().unwrap() = None;
            Ok(())
        }
    }

    /// An old-format (key_scheme 1) vault (written here with the old derivations) with a PIN and a
    /// push token: the first correct PIN re-seals the server key under the new
    /// device-data key, in the re-key's transaction.
    #[test]
    fn the_rekey_reseals_push_server_keys_under_the_new_device_data_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.sqlite3");
        let dk = Key256::random().unwrap();
        let vk = Key256::random().unwrap();
        let (salt, iterations) = (vec![5u8; 16], 1000u32);
        let pk = crypto::pin_key("8642", &salt, iterations).unwrap();
        let kek_salt = vec![6u8; 32];
        let kek = crypto::legacy_kek(&dk, Some(&pk), &kek_salt).unwrap();
        let old_ddk = crypto::legacy_device_data_key(&dk).unwrap();
        {
            let db = Db::open(&path).unwrap();
            let c = db.conn_ref();
            c.execute(
                "INSERT INTO vault_state (id, wrapped_vault_key, kek_salt, pin_salt, pin_iterations,
                     created_at, device_key_check, key_scheme) VALUES (1, ?1, ?2, ?3, ?4, 0, ?5, 1)",
                params![
                    crypto::seal(&kek, vault::VAULT_KEY_AAD, vk.as_bytes()).unwrap(),
                    kek_salt,
                    salt,
                    iterations,
                    device_key_check(&old_ddk).unwrap()
                ],
            )
            .unwrap();
            c.execute(
                "INSERT INTO accounts (id, kind, issuer, name, algorithm, digits, period, secret,
                     sort_order, created_at) VALUES ('p1', 'push', 'PI', 'alice', 'SHA256', 0, 0, ?1, 0, 0)",
                [crypto::seal(&vk, &vault::secret_aad("p1"), b"phone key").unwrap()],
            )
            .unwrap();
            c.execute(
                "INSERT INTO push_tokens (account_id, url, sslverify, poll_only, server_public_key, enrolled_at)
                 VALUES ('p1', 'https://pi.example/ttype/push', 1, 0, ?1, 0)",
                [crypto::seal(&old_ddk, &vault::server_key_aad("p1"), b"server key").unwrap()],
            )
            .unwrap();
        }
        let ks = Arc::new(Ks {
            key: [0x33; 32],
            legacy: Mutex::new(Some(dk.as_bytes().to_vec())),
        });
        let open = || {
            Engine::open(
                path.clone(),
                ks.clone(),
                Arc::new(crate::platform::SystemClock::new()),
                KdfSettings {
                    target: Duration::from_millis(1),
                    floor: 1000,
                },
                Arc::new(crate::push::transport::HttpTransport::new().unwrap()),
            )
            .unwrap()
        };
        let mut e = open();
        // Locked, still on the old device-data key: a push can be verified before the
        // first unlock.
        let sealed = |e: &Engine| -> Vec<u8> {
            e.db.conn_ref()
                .query_row("SELECT server_public_key FROM push_tokens", [], |r| {
                    r.get(0)
                })
                .unwrap()
        };
        let before = sealed(&e);
        let ddk = e.device_data_key.clone().unwrap();
        assert_eq!(
            &crypto::open(&ddk, &vault::server_key_aad("p1"), &before).unwrap()[..],
            b"server key"
        );
        assert!(matches!(e.unlock("1111"), Err(Error::WrongPin { .. })));
        e.unlock("8642").unwrap();
        assert!(ks.legacy.lock().unwrap().is_none());
        let after = sealed(&e);
        assert_ne!(before, after);
        let new_ddk = e.device_data_key.clone().unwrap();
        assert_ne!(new_ddk.as_bytes(), ddk.as_bytes());
        assert_eq!(
            &crypto::open(&new_ddk, &vault::server_key_aad("p1"), &after).unwrap()[..],
            b"server key"
        );
        assert!(crypto::open(&old_ddk, &vault::server_key_aad("p1"), &after).is_err());
        assert_eq!(
            e.lock_status().unwrap().protection,
            Some(KeyProtection::Strongbox)
        );
        drop(e);
        // Reopened: the PRF alone (the old key is gone) derives the same keys.
        let mut e = open();
        assert_eq!(
            e.device_data_key.as_ref().unwrap().as_bytes(),
            new_ddk.as_bytes()
        );
        e.unlock("8642").unwrap();
        assert_eq!(e.require_unlocked().unwrap().as_bytes(), vk.as_bytes());
    }
}
