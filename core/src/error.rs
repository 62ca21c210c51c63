//! Errors: the internal `Error` used inside the core, the public `AuthenticatorError` that
//! crosses the FFI, and the one place (`From<Error> for AuthenticatorError`) that maps them.
//!
//! Rule: no message may contain a secret, a PIN or a code. Reasons are fixed texts or
//! describe *which* field is wrong, never its value (issuer names and labels are allowed).

/// Internal error of the core. Carries sources for logging/tests; mapped to
/// [`AuthenticatorError`] at the facade.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("vault is locked")]
    Locked,
    #[error("wrong PIN ({attempts_left} attempts left)")]
    WrongPin { attempts_left: u32 },
    #[error("vault was wiped")]
    Wiped,
    #[error("a PIN must be set first")]
    PinRequired,
    #[error("invalid PIN: {0}")]
    InvalidPin(String),
    #[error("invalid enrollment: {0}")]
    InvalidEnrollment(String),
    #[error("already enrolled")]
    AlreadyEnrolled,
    #[error("not supported: {0}")]
    NotSupported(String),
    #[error("network: {0}")]
    Network(String),
    #[error("server answered {status}: {message}")]
    Server { status: u16, message: String },
    #[error("challenge expired")]
    ChallengeExpired,
    #[error("challenge already answered")]
    AlreadyAnswered,
    #[error("an answer to this challenge is on its way")]
    AnswerInProgress,
    #[error("bad signature")]
    BadSignature,
    #[error("invalid push message: {0}")]
    InvalidPush(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("keystore: {0}")]
    Keystore(String),
    #[error("biometric key invalidated: {0}")]
    BiometricInvalidated(String),
    #[error("cancelled by the user")]
    Cancelled,
    #[error("storage: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("storage: {0}")]
    Storage(String),
    #[error("decryption failed")]
    Decrypt,
    #[error("internal: {0}")]
    Internal(String),
    #[error("{0}")]
    Transfer(#[from] crate::transfer::TransferError),
    #[error("{0}")]
    Container(#[from] crate::container::protocol::ContainerError),
    /// The server refused a registration link's signature (ERR3002 on finalize),
    /// classified by what most likely went wrong.
    #[error("the container registration was refused ({0:?})")]
    ContainerLinkRejected(crate::container::protocol::FinalizeRejection),
    /// A container that used to synchronize is refused persistently (ERR3002 on fresh
    /// challenges): it was transferred to another phone.
    #[error("container {0} was transferred to another phone")]
    ContainerTransferred(String),
    /// A container client policy (sent by the server) forbids this locally.
    #[error("a container policy forbids this: {0}")]
    ContainerPolicy(String),
}

/// Result alias used inside the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The error every exported call can return. It carries only what a UI acts on, and
/// never a secret, PIN or code.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum AuthenticatorError {
    /// The vault is locked (PIN not entered yet, or idle timeout passed): ask for the PIN.
    #[error("the vault is locked")]
    Locked,
    /// The PIN was wrong; `attempts_left` more failures wipe all provisioned data.
    #[error("wrong PIN, {attempts_left} attempts left")]
    WrongPin {
        /// Failures still allowed before the wipe.
        attempts_left: u32,
    },
    /// All provisioned data was wiped after too many wrong PINs; call `start_over`.
    #[error("all provisioned data was wiped after too many wrong PINs")]
    Wiped,
    /// The policy in force requires an app PIN and none is set.
    #[error("a PIN is required by policy; set one first")]
    PinRequired,
    /// The proposed PIN does not meet the policy (length, digits only).
    #[error("invalid PIN: {reason}")]
    InvalidPin {
        /// What is wrong with it (never the PIN itself).
        reason: String,
    },
    /// The link, QR code or migration payload cannot be enrolled.
    #[error("cannot enroll: {reason}")]
    InvalidEnrollment {
        /// What is wrong with it.
        reason: String,
    },
    /// The same account (issuer, name and secret) is already in the vault.
    #[error("this account is already enrolled")]
    AlreadyEnrolled,
    /// The operation is not supported (yet) for this input.
    #[error("not supported: {reason}")]
    NotSupported {
        /// What is not supported.
        reason: String,
    },
    /// The server could not be reached (DNS, TLS, timeout, connection).
    #[error("network error: {reason}")]
    Network {
        /// What failed.
        reason: String,
    },
    /// The server answered with an error.
    #[error("server error {status}: {reason}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The server's message, if any. (Not `message`: that clashes with
        /// `Throwable.message` in the Kotlin bindings.)
        reason: String,
    },
    /// The push challenge expired before it was answered.
    #[error("the challenge has expired")]
    ChallengeExpired,
    /// The push challenge was already answered on this device.
    #[error("the challenge was already answered")]
    AlreadyAnswered,
    /// Another answer to this challenge is being sent right now; wait for its result.
    #[error("an answer to this challenge is already on its way")]
    AnswerInProgress,
    /// A push message or server answer failed signature verification; nothing was stored.
    #[error("signature verification failed")]
    BadSignature,
    /// A push message is malformed (missing or invalid field).
    #[error("invalid push message: {reason}")]
    InvalidPushMessage {
        /// What is wrong with it.
        reason: String,
    },
    /// No account or challenge with that id.
    #[error("not found: {what}")]
    NotFound {
        /// What was looked for.
        what: String,
    },
    /// An argument is invalid (empty name, unknown id list, ...).
    #[error("invalid argument: {reason}")]
    InvalidArgument {
        /// What is wrong.
        reason: String,
    },
    /// The platform keystore failed.
    #[error("keystore error: {reason}")]
    Keystore {
        /// What failed.
        reason: String,
    },
    /// The biometric key was invalidated (biometric enrolment changed); biometric unlock
    /// was turned off, unlock with the PIN.
    #[error("biometric unlock was invalidated; use the PIN")]
    BiometricInvalidated,
    /// The user cancelled a platform prompt.
    #[error("cancelled by the user")]
    Cancelled,
    /// The database failed or is corrupt.
    #[error("storage error: {reason}")]
    Storage {
        /// What failed.
        reason: String,
    },
    /// A bug or an unexpected state.
    #[error("internal error: {reason}")]
    Internal {
        /// What happened.
        reason: String,
    },
    /// The export file is encrypted: ask for its password (a file password, never the
    /// app PIN).
    #[error("this file is encrypted: a password is needed")]
    PasswordRequired,
    /// The password does not open the export file. Not a wrong PIN: no attempt is
    /// counted.
    #[error("the password does not open this file")]
    WrongPassword,
    /// The container link asks for a passphrase and none was given: show the link's
    /// prompt (`EnrollmentPreview.container.passphrase_prompt`) and call `add_container`.
    #[error("this container link needs a passphrase")]
    PassphraseRequired,
    /// The server refused the container registration: the passphrase is wrong, the
    /// link expired, or it was already used. Ask for a new link (or the passphrase again).
    #[error("the container registration was refused: {reason}")]
    ContainerLinkRejected {
        /// Which of the causes is most likely.
        reason: String,
    },
    /// The container is not (or no longer) registered on its server (ERR3001, or the
    /// server has no such container): offer to remove it.
    #[error("the container is not registered on the server")]
    ContainerNotRegistered,
    /// The container moved to another phone (a persistent ERR3002 on a container that
    /// used to synchronize). It is marked `transferred`: offer to remove its accounts.
    #[error("the container was transferred to another phone")]
    ContainerTransferred,
    /// A server policy forbids this (ERR303 from the server, or a container client
    /// policy such as `disable_client_token_deletion` applied here).
    #[error("not allowed by policy: {reason}")]
    PolicyRefused {
        /// Which policy.
        reason: String,
    },
    /// The file is not an export this core reads, or is broken.
    #[error("cannot import this file: {reason}")]
    InvalidFile {
        /// What is wrong (never a secret).
        reason: String,
    },
}

impl From<Error> for AuthenticatorError {
    fn from(e: Error) -> Self {
        match e {
            Error::Locked => Self::Locked,
            Error::WrongPin { attempts_left } => Self::WrongPin { attempts_left },
            Error::Wiped => Self::Wiped,
            Error::PinRequired => Self::PinRequired,
            Error::InvalidPin(reason) => Self::InvalidPin { reason },
            Error::InvalidEnrollment(reason) => Self::InvalidEnrollment { reason },
            Error::AlreadyEnrolled => Self::AlreadyEnrolled,
            Error::NotSupported(reason) => Self::NotSupported { reason },
            Error::Network(reason) => Self::Network { reason },
            Error::Server { status, message } => Self::Server {
                status,
                reason: message,
            },
            Error::ChallengeExpired => Self::ChallengeExpired,
            Error::AlreadyAnswered => Self::AlreadyAnswered,
            Error::AnswerInProgress => Self::AnswerInProgress,
            Error::BadSignature => Self::BadSignature,
            Error::InvalidPush(reason) => Self::InvalidPushMessage { reason },
            Error::NotFound(what) => Self::NotFound { what },
            Error::InvalidArgument(reason) => Self::InvalidArgument { reason },
            Error::Keystore(reason) => Self::Keystore { reason },
            Error::BiometricInvalidated(_) => Self::BiometricInvalidated,
            Error::Cancelled => Self::Cancelled,
            Error::Sqlite(e) => Self::Storage {
                reason: sqlite_reason(&e),
            },
            Error::Storage(reason) => Self::Storage { reason },
            // A failed decryption outside a PIN check means the data or the keystore key
            // changed under us: report it as storage corruption.
            Error::Decrypt => Self::Storage {
                reason: "stored data could not be decrypted (wrong device key or corrupt vault)"
                    .into(),
            },
            Error::Internal(reason) => Self::Internal { reason },
            Error::Transfer(t) => match t {
                crate::transfer::TransferError::PasswordRequired => Self::PasswordRequired,
                crate::transfer::TransferError::WrongPassword => Self::WrongPassword,
                other @ (crate::transfer::TransferError::UnknownFormat
                | crate::transfer::TransferError::Malformed { .. }) => Self::InvalidFile {
                    reason: other.to_string(),
                },
            },
            Error::Container(c) => {
                use crate::container::protocol::ContainerError as C;
                match c {
                    C::InvalidLink { .. } => Self::InvalidEnrollment {
                        reason: c.to_string(),
                    },
                    C::UnsupportedLink { .. } => Self::NotSupported {
                        reason: c.to_string(),
                    },
                    C::PassphraseRequired => Self::PassphraseRequired,
                    C::NotRegistered | C::UnknownContainer => Self::ContainerNotRegistered,
                    C::PolicyRefused { message } => Self::PolicyRefused { reason: message },
                    C::AlreadyRegistered => Self::ContainerLinkRejected {
                        reason: "the link was already used: ask for a new one".into(),
                    },
                    other => Self::Server {
                        status: other.http_status(),
                        reason: other.to_string(),
                    },
                }
            }
            Error::ContainerLinkRejected(r) => {
                use crate::container::protocol::FinalizeRejection as F;
                Self::ContainerLinkRejected {
                    reason: match r {
                        F::LinkExpired => "the link has expired: ask for a new one",
                        F::WrongPassphrase => "the passphrase is wrong (or the link expired)",
                        F::Rejected => "the server did not accept the link (expired or replaced)",
                    }
                    .into(),
                }
            }
            Error::ContainerTransferred(_) => Self::ContainerTransferred,
            Error::ContainerPolicy(reason) => Self::PolicyRefused { reason },
        }
    }
}

/// SQLite error text without any bound parameter values (rusqlite never includes them,
/// but keep the mapping in one place).
fn sqlite_reason(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(code, _) => format!("sqlite: {:?}", code.code),
        other => format!("sqlite: {other}"),
    }
}

impl From<uniffi::UnexpectedUniFFICallbackError> for AuthenticatorError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Internal {
            reason: format!("foreign callback failed: {}", e.reason),
        }
    }
}

/// Errors a platform keystore (a foreign `Keystore` or `BiometricKey`) reports.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum KeystoreError {
    /// The keystore is not reachable or refused the operation.
    #[error("keystore unavailable: {reason}")]
    Unavailable {
        /// What failed.
        reason: String,
    },
    /// The key was permanently invalidated (e.g. biometric enrolment changed).
    #[error("key invalidated: {reason}")]
    KeyInvalidated {
        /// What happened.
        reason: String,
    },
    /// The user cancelled the platform prompt.
    #[error("cancelled by the user")]
    Cancelled,
}

impl From<uniffi::UnexpectedUniFFICallbackError> for KeystoreError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Unavailable { reason: e.reason }
    }
}

impl From<KeystoreError> for Error {
    fn from(e: KeystoreError) -> Self {
        match e {
            KeystoreError::Unavailable { reason } => Error::Keystore(reason),
            KeystoreError::KeyInvalidated { reason } => Error::BiometricInvalidated(reason),
            KeystoreError::Cancelled => Error::Cancelled,
        }
    }
}
