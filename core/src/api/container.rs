//! Containers: registering a privacyIDEA smartphone container from its link with a
//! passphrase, synchronizing, listing and unregistering (thin calls onto
//! `container::service`).

use super::Authenticator;
use crate::container::service::{ContainerInfo, ContainerState, SyncOutcome};
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
        self.call(|e| {
            let added = e.add_with(
                &link,
                pin.as_ref().map(|p| p.as_str()),
                passphrase.as_ref().map(|p| p.as_str()),
            )?;
            Self::added(e, added)
        })
    }

    /// Every registered container.
    pub fn list_containers(&self) -> Result<Vec<Container>, AuthenticatorError> {
        self.call(|e| Ok(e.containers()?.into_iter().map(Container::from).collect()))
    }

    /// Synchronizes a container with its server now (network).
    pub fn sync_container(&self, serial: String) -> Result<SyncResult, AuthenticatorError> {
        self.call(|e| e.sync_container(&serial).map(SyncResult::from))
    }

    /// Unregisters a container on its server, then removes it and its accounts here.
    /// Returns the removed account ids.
    pub fn unregister_container(&self, serial: String) -> Result<Vec<String>, AuthenticatorError> {
        self.call(|e| e.unregister_container(&serial))
    }
}
