//! Enrollment: previews and adds from links, QR text and QR images, through the one
//! parse path every link takes.

use super::accounts::Account;
use super::{guard, Authenticator};
use crate::engine::Engine;
use crate::enroll::{AddStep, Added, Preview};
use crate::error::{AuthenticatorError, Error};
use crate::otp::{AccountKind, Algorithm};

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
    pub current_code: Option<crate::redact::OtpCode>,
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
    /// Every change the link would make to the lock in force (wipe threshold, idle
    /// timeout, PIN length, PIN required, background lock): show them before `add`.
    pub lock_changes: Vec<crate::lock::LockChange>,
    /// A container link: what it registers (then call `add_container`).
    pub container: Option<ContainerPreview>,
}

/// What a `pia://container/...` link would register.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ContainerPreview {
    /// Container serial.
    pub serial: String,
    /// Its server.
    pub server_url: String,
    /// TLS is verified (false: `ssl_verify=False`, warn the user).
    pub tls_verify: bool,
    /// The prompt to show for the passphrase, when one is needed.
    pub passphrase_prompt: Option<String>,
    /// A passphrase must be given to `add_container`.
    pub needs_passphrase: bool,
    /// Unix second the link expires at.
    pub expires_at: Option<i64>,
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
    /// The container registered (container links).
    pub container_serial: Option<String>,
    /// Container links whose server adopts local tokens at the first synchronization
    /// (`initially_add_tokens_to_container`): the local accounts it could adopt. When
    /// not empty, the container is registered but not yet synchronized: ask the user
    /// which to hand over, then call `sync_container_adopting` (an empty choice
    /// declines).
    #[uniffi(default = [])]
    pub adoptable_account_ids: Vec<String>,
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
                current_code: i.current_code.map(crate::redact::OtpCode::new),
                already_enrolled: i.already_enrolled,
                tls_verify: i.tls_verify,
                requires_pin: i.policy.require_pin,
            })
            .collect(),
        warnings: p.warnings,
        batch: p.batch.map(to_batch),
        requires_pin: p.requires_pin,
        lock_changes: p.lock_changes,
        container: p.container.map(|c| ContainerPreview {
            serial: c.serial,
            server_url: c.server_url,
            tls_verify: c.tls_verify,
            passphrase_prompt: c.passphrase_prompt,
            needs_passphrase: c.needs_passphrase,
            expires_at: c.expires_at,
        }),
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
    /// Every `add*` call: OTP and push links are stored under the engine lock; a
    /// container registration runs its finalize request and its first synchronization
    /// with the network outside the engine lock.
    pub(super) fn add_in_steps(
        &self,
        link: &str,
        new_pin: Option<&str>,
        passphrase: Option<&str>,
    ) -> Result<EnrollmentResult, AuthenticatorError> {
        let job = match self.call(|e| e.prepare_add(link, new_pin, passphrase))? {
            AddStep::Done(added) => return self.call(|e| Self::added(e, added)),
            AddStep::Register(job) => job,
        };
        let answer = Self::without_lock(|| {
            crate::container::service::exchange_finalize(self.transport.as_ref(), &job)
        });
        let pending = self.call(|e| e.finish_registration(*job, answer))?;
        let first_sync = pending
            .needs_first_sync()
            .then(|| self.sync_in_steps(pending.serial(), &[]));
        self.call(|e| Self::added(e, pending.into_added(first_sync)))
    }

    pub(super) fn added(e: &Engine, added: Added) -> Result<EnrollmentResult, Error> {
        Ok(EnrollmentResult {
            accounts: Self::accounts_by_id(e, &added.account_ids)?,
            warnings: added.warnings,
            batch: added.batch.map(to_batch),
            adoptable_account_ids: match &added.container {
                Some(serial) => e.adoptable_accounts(serial)?,
                None => Vec::new(),
            },
            container_serial: added.container,
        })
    }
}

#[uniffi::export]
impl Authenticator {
    /// What `add(link)` would store, with warnings and the current code. Changes nothing.
    pub fn preview(&self, link: String) -> Result<EnrollmentPreview, AuthenticatorError> {
        self.call(|e| e.preview(&link).map(to_preview))
    }

    /// Stores the account(s) of `link`. Push links register with the server (network,
    /// RSA key generation: call off the main thread).
    pub fn add(&self, link: String) -> Result<EnrollmentResult, AuthenticatorError> {
        self.add_in_steps(&link, None, None)
    }

    /// Like `add`, setting the first PIN in the same transaction (when the link
    /// requires a PIN and none is set).
    pub fn add_with_pin(
        &self,
        link: String,
        new_pin: String,
    ) -> Result<EnrollmentResult, AuthenticatorError> {
        let pin = zeroize::Zeroizing::new(new_pin);
        self.add_in_steps(&link, Some(pin.as_str()), None)
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
}
