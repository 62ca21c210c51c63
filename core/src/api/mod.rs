//! The UniFFI facade: the exported `Authenticator` object, split by capability
//! (`accounts`, `container`, `enrollment`, `lock`, `push`, `transfer`), each a thin mapping onto the engine. No
//! logic here beyond locking the inner engine, converting records, catching panics and
//! mapping errors (in `error.rs`); every decision is made in the services.

mod accounts;
mod container;
mod enrollment;
mod lock;
mod push;
mod transfer;

pub use crate::container::service::ContainerTransfer;
pub use accounts::{Account, Code};
pub use container::{Container, ContainerPolicies, ContainerSyncReport, SyncResult};
pub use enrollment::{
    AccountPreview, BatchInfo, ContainerPreview, EnrollmentPreview, EnrollmentResult,
};
pub use lock::{discard_vault, LockState};
pub use push::{
    notification_actions, NotificationAction, PendingTokenUpdate, PushActionKind, PushAnswerResult,
    PushChallenge, TokenUpdateResult,
};
pub use transfer::{
    import_format_name, ExportResult, ImportPreview, ImportResult, ImportedAccountPreview,
    TransferNote,
};

use crate::engine::{Engine, KdfSettings};
use crate::error::{AuthenticatorError, Error};
use crate::platform::{Clock, Keystore, SystemClock};
use crate::push::transport::{HttpTransport, Transport};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

/// Runs `f`, mapping internal errors to the public enum and panics to `Internal`, so
/// no panic ever crosses the FFI.
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<T, AuthenticatorError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(|e| {
            // Error texts name what is wrong, never a secret (tested).
            log::debug!("call answered an error: {e}");
            AuthenticatorError::from(e)
        }),
        Err(_) => {
            log::error!("a panic was caught at the FFI boundary");
            Err(AuthenticatorError::Internal {
                reason: "unexpected internal failure (panic caught)".into(),
            })
        }
    }
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
    /// Serializes container network operations (see `container_gate`).
    container_ops: Mutex<()>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Authenticator")
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
                // HttpTransport builds its clients on the first request, so open pays nothing.
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
                container_ops: Mutex::new(()),
            }))
        })
    }

    pub(crate) fn engine(&self) -> MutexGuard<'_, Engine> {
        // A panic inside a call poisons the mutex; every state change is a SQLite
        // transaction, so the engine is still consistent: keep going.
        self.engine.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn call<T>(
        &self,
        f: impl FnOnce(&mut Engine) -> Result<T, Error>,
    ) -> Result<T, AuthenticatorError> {
        guard(|| f(&mut self.engine()))
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
}
