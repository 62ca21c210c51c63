//! The UniFFI facade: the exported `Authenticator` object and its records. No logic
//! here beyond locking the inner engine, converting records, catching panics and
//! mapping errors (in `error.rs`); every decision is made in the services.

use crate::engine::{CodeValue, Engine, KdfSettings};
use crate::enroll::{Added, Preview};
use crate::error::{AuthenticatorError, Error};
use crate::lock::LockPolicy;
use crate::otp::{AccountKind, Algorithm};
use crate::platform::{BiometricKey, Clock, Keystore, SystemClock};
use crate::push::transport::{HttpTransport, Transport};
use crate::push::{Answer, Challenge, ChallengeSource};
use crate::vault::{AccountRow, PushTokenRow};
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

/// Runs `f`, mapping internal errors to the public enum and panics to `Internal`, so
/// no panic ever crosses the FFI.
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<T, AuthenticatorError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(AuthenticatorError::from),
        Err(_) => Err(AuthenticatorError::Internal {
            reason: "unexpected internal failure (panic caught)".into(),
        }),
    }
}

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
}

/// A code to show.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Code {
    /// The account.
    pub account_id: String,
    /// The code.
    pub code: String,
    /// TOTP/Steam: unix second at which the code stops being valid.
    pub valid_until: Option<i64>,
    /// TOTP/Steam: seconds left, counted from the time the code was asked for.
    pub seconds_left: Option<u32>,
    /// TOTP/Steam: the period.
    pub period: Option<u32>,
    /// HOTP: the counter this code used.
    pub counter: Option<u64>,
}

/// Position of a migration QR code within a multi-code export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct BatchInfo {
    /// 0-based index of this code.
    pub index: u32,
    /// How many codes the export has.
    pub size: u32,
    /// Id shared by the codes of one export.
    pub batch_id: i32,
}

/// One account a link would add.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AccountPreview {
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
    /// HOTP counter.
    pub counter: u64,
    /// Secret shorter than 128 bits.
    pub weak_secret: bool,
    /// The code it shows now (TOTP) or first (HOTP), to confirm pairing on the
    /// enrolling page.
    pub current_code: Option<String>,
    /// Already in the vault.
    pub already_enrolled: bool,
    /// Push: TLS verified.
    pub tls_verify: bool,
    /// The enrolling server requires an app PIN.
    pub requires_pin: bool,
}

/// What `preview` found.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct EnrollmentPreview {
    /// The accounts.
    pub accounts: Vec<AccountPreview>,
    /// Things to tell the user.
    pub warnings: Vec<String>,
    /// Migration batch position.
    pub batch: Option<BatchInfo>,
    /// A PIN must be chosen first: call `add_with_pin`.
    pub requires_pin: bool,
}

/// What `add` stored.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct EnrollmentResult {
    /// The new accounts.
    pub accounts: Vec<Account>,
    /// Things to tell the user.
    pub warnings: Vec<String>,
    /// Migration batch position: ask for the other codes when `size > 1`.
    pub batch: Option<BatchInfo>,
}

/// Lock status.
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
}

/// A push challenge to show.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PushChallenge {
    /// Id to answer with (the nonce).
    pub id: String,
    /// The push account.
    pub account_id: String,
    /// Token serial.
    pub serial: String,
    /// Title.
    pub title: String,
    /// Question.
    pub question: String,
    /// Number matching: the user must pick the option shown on the login screen.
    pub presence_options: Vec<String>,
    /// Reasons the user may give when declining.
    pub decline_reasons: Vec<String>,
    /// Unix second after which it can no longer be answered.
    pub expires_at: i64,
    /// How it arrived.
    pub received_via: ChallengeSource,
    /// TLS is verified for this token's server.
    pub tls_verify: bool,
    /// Answering needs the vault unlocked first (a PIN is set).
    pub requires_unlock: bool,
}

/// The server's verdict on an answer.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PushAnswerResult {
    /// The server accepted the answer.
    pub accepted: bool,
    /// Code-to-phone: the code the user must type at the login.
    pub display_code: Option<String>,
    /// The server's message to show with it.
    pub message: Option<String>,
}

/// Result of a push token update for one token.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TokenUpdateResult {
    /// The push account.
    pub account_id: String,
    /// Its serial.
    pub serial: String,
    /// The server accepted the new token.
    pub ok: bool,
    /// Why not.
    pub error: Option<String>,
}

/// Options for opening a vault from Rust (tests, CLI); the FFI uses the defaults.
#[derive(Clone)]
pub struct OpenOptions {
    /// Time source.
    pub clock: Arc<dyn Clock>,
    /// PIN KDF calibration.
    pub kdf: KdfSettings,
    /// RSA size of new phone keys.
    pub phone_key_bits: usize,
    /// HTTP transport (None: the real one).
    pub transport: Option<Arc<dyn Transport>>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock::new()),
            kdf: KdfSettings::default(),
            phone_key_bits: crate::push::protocol::PHONE_KEY_BITS,
            transport: None,
        }
    }
}

/// The authenticator: one vault file, one keystore.
#[derive(uniffi::Object)]
pub struct Authenticator {
    engine: Mutex<Engine>,
    transport: Arc<dyn Transport>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Authenticator")
    }
}

fn to_account(a: &AccountRow, all: &[AccountRow], token: Option<PushTokenRow>) -> Account {
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
    }
}

fn to_challenge(c: Challenge) -> PushChallenge {
    PushChallenge {
        id: c.row.nonce,
        account_id: c.row.account_id,
        serial: c.serial,
        title: c.row.title,
        question: c.row.question,
        presence_options: c.row.presence_options,
        decline_reasons: c.row.decline_reasons,
        expires_at: c.row.expires_at,
        received_via: c.source,
        tls_verify: c.tls_verify,
        requires_unlock: c.requires_unlock,
    }
}

fn to_preview(p: Preview) -> EnrollmentPreview {
    EnrollmentPreview {
        accounts: p
            .items
            .into_iter()
            .map(|i| AccountPreview {
                kind: i.kind,
                issuer: i.issuer,
                name: i.name,
                algorithm: i.algorithm,
                digits: i.digits,
                period: i.period,
                counter: i.counter,
                weak_secret: i.weak_secret,
                current_code: i.current_code,
                already_enrolled: i.already_enrolled,
                tls_verify: i.tls_verify,
                requires_pin: i.policy.require_pin,
            })
            .collect(),
        warnings: p.warnings,
        batch: p.batch.map(to_batch),
        requires_pin: p.requires_pin,
    }
}

fn to_batch(b: crate::links::Batch) -> BatchInfo {
    BatchInfo {
        index: b.index,
        size: b.size,
        batch_id: b.id,
    }
}

impl Authenticator {
    /// Opens with explicit options (Rust callers: tests, CLI, benchmarks).
    pub fn open_with(
        db_path: impl Into<PathBuf>,
        keystore: Arc<dyn Keystore>,
        options: OpenOptions,
    ) -> Result<Arc<Self>, AuthenticatorError> {
        guard(|| {
            let transport: Arc<dyn Transport> = match options.transport {
                Some(t) => t,
                None => Arc::new(HttpTransport::new().map_err(|e| Error::Internal(e.to_string()))?),
            };
            let mut engine = Engine::open(
                db_path.into(),
                keystore,
                options.clock,
                options.kdf,
                transport.clone(),
            )?;
            engine.phone_key_bits = options.phone_key_bits;
            Ok(Arc::new(Self {
                engine: Mutex::new(engine),
                transport,
            }))
        })
    }

    fn engine(&self) -> MutexGuard<'_, Engine> {
        // A panic inside a call poisons the mutex; every state change is a SQLite
        // transaction, so the engine is still consistent: keep going.
        self.engine.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn call<T>(
        &self,
        f: impl FnOnce(&mut Engine) -> Result<T, Error>,
    ) -> Result<T, AuthenticatorError> {
        guard(|| f(&mut self.engine()))
    }

    fn accounts_by_id(e: &Engine, ids: &[String]) -> Result<Vec<Account>, Error> {
        let all = e.accounts()?;
        let mut out = Vec::new();
        for id in ids {
            if let Some(a) = all.iter().find(|a| &a.id == id) {
                out.push(to_account(a, &all, Self::token_of(e, a)?));
            }
        }
        Ok(out)
    }

    fn token_of(e: &Engine, a: &AccountRow) -> Result<Option<PushTokenRow>, Error> {
        if a.kind == AccountKind::Push {
            e.db.push_token(&a.id)
        } else {
            Ok(None)
        }
    }

    fn added(e: &Engine, added: Added) -> Result<EnrollmentResult, Error> {
        Ok(EnrollmentResult {
            accounts: Self::accounts_by_id(e, &added.account_ids)?,
            warnings: added.warnings,
            batch: added.batch.map(to_batch),
        })
    }

    /// `at` is the time the code was asked for: `seconds_left` counts from it.
    fn to_code(account_id: String, c: CodeValue, at: i64) -> Code {
        Code {
            account_id,
            seconds_left: c
                .valid_until
                .map(|v| u32::try_from((v - at).max(0)).unwrap_or(u32::MAX)),
            code: c.code,
            valid_until: c.valid_until,
            period: c.period,
            counter: c.counter,
        }
    }

    fn answer(
        &self,
        challenge_id: &str,
        answer: Answer,
    ) -> Result<PushAnswerResult, AuthenticatorError> {
        let request = self.call(|e| e.prepare_answer(challenge_id, &answer))?;
        // The network call runs without the engine lock. A network failure leaves the
        // challenge pending so the user can retry.
        let response = guard(|| request.post(self.transport.as_ref()))?;
        self.call(|e| {
            let out = e.finish_answer(challenge_id, &answer, response.status, &response.body)?;
            Ok(PushAnswerResult {
                accepted: out.accepted,
                display_code: out.display_code,
                message: out.message,
            })
        })
    }
}

#[uniffi::export]
impl Authenticator {
    /// Opens (creating on first use) the vault at `db_path`, with the device key from
    /// `keystore`.
    #[uniffi::constructor]
    pub fn open(
        db_path: String,
        keystore: Arc<dyn Keystore>,
    ) -> Result<Arc<Self>, AuthenticatorError> {
        Self::open_with(db_path, keystore, OpenOptions::default())
    }

    /// Like `open`, with a clock the caller controls (tests).
    #[uniffi::constructor]
    pub fn open_with_clock(
        db_path: String,
        keystore: Arc<dyn Keystore>,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Self>, AuthenticatorError> {
        Self::open_with(
            db_path,
            keystore,
            OpenOptions {
                clock,
                ..OpenOptions::default()
            },
        )
    }

    // ---------------------------------------------------------------- enrollment

    /// What `add(link)` would store, with warnings and the current code. Changes nothing.
    pub fn preview(&self, link: String) -> Result<EnrollmentPreview, AuthenticatorError> {
        self.call(|e| e.preview(&link).map(to_preview))
    }

    /// Stores the account(s) of `link`. Push links register with the server (network,
    /// RSA key generation: call off the main thread).
    pub fn add(&self, link: String) -> Result<EnrollmentResult, AuthenticatorError> {
        self.call(|e| {
            let added = e.add(&link, None)?;
            Self::added(e, added)
        })
    }

    /// Like `add`, setting the first PIN in the same transaction (when the link
    /// requires a PIN and none is set).
    pub fn add_with_pin(
        &self,
        link: String,
        new_pin: String,
    ) -> Result<EnrollmentResult, AuthenticatorError> {
        let pin = zeroize::Zeroizing::new(new_pin);
        self.call(|e| {
            let added = e.add(&link, Some(pin.as_str()))?;
            Self::added(e, added)
        })
    }

    /// `preview` of the QR code in a PNG or JPEG image.
    pub fn preview_qr_image(
        &self,
        image: Vec<u8>,
    ) -> Result<EnrollmentPreview, AuthenticatorError> {
        let link = guard(|| crate::enroll::decode_qr_image(&image))?;
        self.preview(link)
    }

    /// `add` of the QR code in a PNG or JPEG image.
    pub fn add_qr_image(&self, image: Vec<u8>) -> Result<EnrollmentResult, AuthenticatorError> {
        let link = guard(|| crate::enroll::decode_qr_image(&image))?;
        self.add(link)
    }

    // ---------------------------------------------------------------- accounts

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

    // ---------------------------------------------------------------- lock

    /// Lock status and the policy in force.
    pub fn lock_state(&self) -> Result<LockState, AuthenticatorError> {
        self.call(|e| {
            let s = e.lock_status()?;
            Ok(LockState {
                has_pin: s.has_pin,
                locked: s.locked,
                seconds_until_auto_lock: s.seconds_until_auto_lock,
                attempts_left: s.attempts_left,
                policy: s.policy,
                biometric_enabled: s.biometric_enabled,
                wiped: s.wiped,
            })
        })
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

    // ---------------------------------------------------------------- push

    /// Stores the FCM/APNs token used by later push enrollments (no server update).
    pub fn set_push_service_token(&self, token: String) -> Result<(), AuthenticatorError> {
        self.call(|e| e.set_push_service_token(&token))
    }

    /// Rotation: stores the new FCM/APNs token and updates it on every push token's
    /// server (signed, timestamped). Returns one result per token. While the vault is
    /// locked the token is still stored, then `Locked` is returned: call again after
    /// unlocking to update the servers.
    pub fn update_push_service_token(
        &self,
        token: String,
    ) -> Result<Vec<TokenUpdateResult>, AuthenticatorError> {
        let requests = self.call(|e| e.prepare_token_updates(&token))?;
        Ok(requests
            .into_iter()
            .map(|r| {
                let outcome = r
                    .post(self.transport.as_ref())
                    .and_then(|resp| crate::push::protocol::parse_answer(resp.status, &resp.body))
                    .and_then(|v| {
                        if v.pointer("/result/value")
                            .and_then(serde_json::Value::as_bool)
                            == Some(true)
                        {
                            Ok(())
                        } else {
                            Err(Error::Server {
                                status: 200,
                                message: "the server refused the update".into(),
                            })
                        }
                    });
                TokenUpdateResult {
                    account_id: r.account_id,
                    serial: r.serial,
                    ok: outcome.is_ok(),
                    error: outcome
                        .err()
                        .map(|e| AuthenticatorError::from(e).to_string()),
                }
            })
            .collect())
    }

    /// A push message, handed over unchanged (FCM `data` / APNs `userInfo` as strings).
    /// Verifies the signature and stores the challenge; works while locked.
    pub fn receive_push(
        &self,
        data: HashMap<String, String>,
    ) -> Result<PushChallenge, AuthenticatorError> {
        self.call(|e| e.receive_push(&data).map(to_challenge))
    }

    /// Polls every push token's server (the fallback when pushes do not arrive) and
    /// returns every pending challenge. Needs the vault unlocked (polls are signed).
    pub fn poll_challenges(&self) -> Result<Vec<PushChallenge>, AuthenticatorError> {
        let requests = self.call(|e| e.prepare_polls())?;
        let mut failures = Vec::new();
        let mut any_ok = requests.is_empty();
        for r in &requests {
            match guard(|| r.get(self.transport.as_ref())) {
                Ok(resp) => match self.call(|e| e.ingest_poll(resp.status, &resp.body)) {
                    Ok(_) => any_ok = true,
                    Err(err) => failures.push(err),
                },
                Err(err) => failures.push(err),
            }
        }
        if !any_ok {
            if let Some(first) = failures.into_iter().next() {
                return Err(first);
            }
        }
        self.pending_challenges()
    }

    /// Pending challenges already received (readable while locked).
    pub fn pending_challenges(&self) -> Result<Vec<PushChallenge>, AuthenticatorError> {
        self.call(|e| {
            Ok(e.pending_challenges()?
                .into_iter()
                .map(to_challenge)
                .collect())
        })
    }

    /// Approves a challenge; `presence_answer` is the option the user picked when the
    /// challenge has presence options (number matching).
    pub fn approve(
        &self,
        challenge_id: String,
        presence_answer: Option<String>,
    ) -> Result<PushAnswerResult, AuthenticatorError> {
        self.answer(
            &challenge_id,
            Answer::Approve {
                presence: presence_answer,
            },
        )
    }

    /// Declines a challenge, optionally with one of its `decline_reasons`.
    pub fn decline(
        &self,
        challenge_id: String,
        reason: Option<String>,
    ) -> Result<PushAnswerResult, AuthenticatorError> {
        self.answer(&challenge_id, Answer::Decline { reason })
    }
}
