//! Containers: registering a privacyIDEA smartphone container from its link with a
//! passphrase, synchronizing, listing and unregistering (thin calls onto
//! `container::service`).

use super::{guard, Authenticator};
use crate::container::service::{
    self as service, ContainerInfo, ContainerState, ContainerTransfer, SyncOutcome,
};
use crate::error::AuthenticatorError;

/// The four client policies the server sends with every answer (any value other than
/// `false` reads as on, as the server does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct ContainerPolicies {
    /// `container_client_rollover`: the user may transfer the container.
    pub client_rollover: bool,
    /// `disable_client_container_unregister`: the user cannot unregister.
    pub disable_unregister: bool,
    /// `disable_client_token_deletion`: the user cannot delete its accounts.
    pub disable_token_deletion: bool,
    /// `initially_add_tokens_to_container`: the first sync adopts reported tokens.
    pub initially_add_tokens: bool,
}

/// A registered container.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Container {
    /// Container serial (`SMPH…`).
    pub serial: String,
    /// Its server.
    pub server_url: String,
    /// TLS is verified (false: `ssl_verify=False`, warn the user).
    pub tls_verify: bool,
    /// Registered, or transferred to another phone.
    pub state: ContainerState,
    /// The policies of the last answer.
    pub policies: ContainerPolicies,
    /// Unix second of the registration.
    pub registered_at: i64,
    /// Unix second of the last successful synchronization.
    pub last_sync_at: Option<i64>,
    /// The accounts it manages.
    pub account_ids: Vec<String>,
    /// A push for one of its tokens arrived since the last synchronization (the next
    /// `sync_due_containers` runs it).
    #[uniffi(default = false)]
    pub sync_requested: bool,
    /// An unanswered initial-transfer offer (registered, never synchronized, server
    /// policy `initially_add_tokens_to_container` on): the local accounts its server
    /// could adopt. Ask the user, then call `sync_container_adopting`.
    #[uniffi(default = [])]
    pub adoptable_account_ids: Vec<String>,
}

/// One container's automatic synchronization (`sync_due_containers`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ContainerSyncReport {
    /// The container.
    pub serial: String,
    /// What changed, when it succeeded.
    pub result: Option<SyncResult>,
    /// Why it failed (the message of the error `sync_container` would answer).
    pub error: Option<String>,
    /// It failed because the container moved to another phone (now `Transferred`).
    pub transferred: bool,
}

/// What a synchronization changed.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncResult {
    /// New accounts.
    pub added: Vec<String>,
    /// Accounts kept (counter moved) or renewed with a new secret.
    pub updated: Vec<String>,
    /// Accounts removed (no longer in the container).
    pub removed: Vec<String>,
    /// Things to tell the user (a push token that could not be enrolled, ...).
    pub warnings: Vec<String>,
}

impl From<ContainerInfo> for Container {
    fn from(c: ContainerInfo) -> Self {
        Self {
            serial: c.serial,
            server_url: c.server_url,
            tls_verify: c.tls_verify,
            state: c.state,
            policies: ContainerPolicies {
                client_rollover: c.policies.client_rollover,
                disable_unregister: c.policies.disable_unregister,
                disable_token_deletion: c.policies.disable_token_deletion,
                initially_add_tokens: c.policies.initially_add_tokens,
            },
            registered_at: c.registered_at,
            last_sync_at: c.last_sync_at,
            account_ids: c.account_ids,
            sync_requested: c.sync_requested,
            adoptable_account_ids: c.adoptable_account_ids,
        }
    }
}

impl From<SyncOutcome> for SyncResult {
    fn from(o: SyncOutcome) -> Self {
        Self {
            added: o.added,
            updated: o.updated,
            removed: o.removed,
            warnings: o.warnings,
        }
    }
}

#[uniffi::export]
impl Authenticator {
    /// Registers the container of a `pia://container/...` link with the passphrase
    /// its prompt asks for (`add` answers `PassphraseRequired` for such links), and
    /// `new_pin` as in `add_with_pin`. Runs the first synchronization (network, key
    /// generation: call off the main thread).
    pub fn add_container(
        &self,
        link: String,
        passphrase: Option<String>,
        new_pin: Option<String>,
    ) -> Result<super::EnrollmentResult, AuthenticatorError> {
        let passphrase = crate::container::service::passphrase(passphrase);
        let pin = new_pin.map(zeroize::Zeroizing::new);
        self.add_in_steps(
            &link,
            pin.as_ref().map(|p| p.as_str()),
            passphrase.as_ref().map(|p| p.as_str()),
        )
    }

    /// Every registered container.
    pub fn list_containers(&self) -> Result<Vec<Container>, AuthenticatorError> {
        self.call(|e| Ok(e.containers()?.into_iter().map(Container::from).collect()))
    }

    /// Synchronizes a container with its server now (network: call off the main thread;
    /// the engine stays usable meanwhile). On a container with an unanswered
    /// initial-transfer offer, this declines it.
    pub fn sync_container(&self, serial: String) -> Result<SyncResult, AuthenticatorError> {
        self.sync_in_steps(&serial, &[]).map(SyncResult::from)
    }

    /// The first synchronization of a container with an initial-transfer offer
    /// (`adoptable_account_ids`): reports the chosen local accounts, which the server
    /// then adopts into the container (ids outside the offer are ignored; empty
    /// declines).
    pub fn sync_container_adopting(
        &self,
        serial: String,
        account_ids: Vec<String>,
    ) -> Result<SyncResult, AuthenticatorError> {
        self.sync_in_steps(&serial, &account_ids)
            .map(SyncResult::from)
    }

    /// Runs every automatic synchronization that is due: after each unlock, on
    /// foreground and after a push arrived (network: call off the main thread). A
    /// container is due when a push for one of its tokens arrived since its last
    /// synchronization, or its last synchronization is older than
    /// `container_sync_interval`. Nothing is due while locked; a failed one waits five
    /// minutes before the next automatic attempt. One report per container tried.
    pub fn sync_due_containers(&self) -> Result<Vec<ContainerSyncReport>, AuthenticatorError> {
        let due = self.call(|e| e.containers_due())?;
        let mut out = Vec::with_capacity(due.len());
        for serial in due {
            let r = self.sync_in_steps(&serial, &[]);
            let ok = r.is_ok();
            let _ = self.call(|e| {
                e.auto_sync_finished(&serial, ok);
                Ok(())
            });
            out.push(match r {
                Ok(o) => ContainerSyncReport {
                    serial,
                    result: Some(o.into()),
                    error: None,
                    transferred: false,
                },
                Err(e) => ContainerSyncReport {
                    serial,
                    result: None,
                    transferred: matches!(e, AuthenticatorError::ContainerTransferred),
                    error: Some(e.to_string()),
                },
            });
        }
        Ok(out)
    }

    /// Seconds after which an unlock synchronizes a container again (default one hour).
    pub fn container_sync_interval(&self) -> Result<u64, AuthenticatorError> {
        self.call(|e| e.container_sync_interval())
    }

    /// Sets the automatic synchronization interval (at most a week). 0 turns automatic
    /// synchronization by age off; a push for a container token still asks for one.
    pub fn set_container_sync_interval(&self, seconds: u64) -> Result<(), AuthenticatorError> {
        self.call(|e| e.set_container_sync_interval(seconds))
    }

    /// Asks the server for a link that moves `serial` to a new phone, protected by
    /// `passphrase` when given (at least 4 characters, typed on the new phone). Show it
    /// as a QR code; this phone keeps working until the new one registers. The server
    /// refuses unless its `container_client_rollover` policy allows it (`PolicyRefused`).
    /// Network: call off the main thread.
    pub fn request_container_transfer(
        &self,
        serial: String,
        passphrase: Option<String>,
    ) -> Result<ContainerTransfer, AuthenticatorError> {
        let passphrase = service::passphrase(passphrase);
        let protection =
            guard(|| service::transfer_protection(passphrase.as_ref().map(|p| p.as_str())))?;
        let _one_at_a_time = self.container_gate();
        let job = self.call(|e| e.prepare_container_transfer(&serial))?;
        guard(|| service::exchange_transfer(self.transport.as_ref(), &job, &protection))
    }

    /// Unregisters a container on its server (network without the engine lock: call off
    /// the main thread), then removes it and its accounts here in one transaction.
    /// Refused while its `disable_client_container_unregister` policy is on; a
    /// container that moved to another phone is removed here only. Returns the removed
    /// account ids.
    pub fn unregister_container(&self, serial: String) -> Result<Vec<String>, AuthenticatorError> {
        let _one_at_a_time = self.container_gate();
        if let Some(job) = self.call(|e| e.prepare_unregister(&serial))? {
            // `guard` catches a panic here as everywhere: no lock is held.
            guard(|| service::exchange_terminate(self.transport.as_ref(), &job))?;
        }
        self.call(|e| e.finish_unregister(&serial))
    }
}

impl Authenticator {
    /// One container network operation at a time (a sync and a transfer of the same
    /// container must not interleave: two answers applied out of order could store a
    /// renewed secret the server already replaced). The engine lock is not held.
    fn container_gate(&self) -> std::sync::MutexGuard<'_, ()> {
        self.container_ops.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A synchronization in three steps: prepare (engine lock), exchange (network, no
    /// engine lock), apply (engine lock, one transaction).
    pub(super) fn sync_in_steps(
        &self,
        serial: &str,
        adopt: &[String],
    ) -> Result<SyncOutcome, AuthenticatorError> {
        let _one_at_a_time = self.container_gate();
        let job = self.call(|e| e.prepare_container_sync(serial, adopt))?;
        let exchange = Self::without_lock(|| service::exchange_sync(self.transport.as_ref(), &job));
        self.call(|e| e.apply_container_sync(job, exchange))
    }

    /// Runs a network step outside the engine lock, a panic in it becoming an internal
    /// error for the step that applies it (no panic crosses the FFI).
    pub(super) fn without_lock<T>(
        f: impl FnOnce() -> crate::error::Result<T>,
    ) -> crate::error::Result<T> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
            Err(crate::error::Error::Internal(
                "unexpected internal failure (panic caught)".into(),
            ))
        })
    }
}
