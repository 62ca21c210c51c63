//! The container service: registers a privacyIDEA smartphone container from its link,
//! stores it with its sealed phone key, synchronizes its accounts (one transaction per
//! answer), lists and unregisters containers. HTTP goes through the engine's
//! `Transport`; every message is built and read by [`super::protocol`].

use super::protocol::{
    self, ClientPolicies, ContainerError, ContainerKey, ContainerLink, ContainerRequest,
    ContainerServer, DeviceInfo, Operation, ReportedToken, SyncKey,
};
use crate::crypto::{self, Key256};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::links::{self, ParsedLink};
use crate::otp::AccountKind;
use crate::push::transport::HttpResponse;
use crate::vault::{self, AccountRow, Db};
use rusqlite::{params, OptionalExtension, TransactionBehavior};
use std::collections::HashSet;
use zeroize::Zeroizing;

/// The state of a container on this phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ContainerState {
    /// Registered: synchronizes with its server.
    Registered,
    /// The server refuses this phone persistently (ERR3002): the container moved to
    /// another phone. Its accounts stay until the user removes the container.
    Transferred,
}

impl ContainerState {
    /// The database (and CLI) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registered => "registered",
            Self::Transferred => "transferred",
        }
    }
    fn parse(s: &str) -> Self {
        if s == "transferred" {
            Self::Transferred
        } else {
            Self::Registered
        }
    }
}

/// A stored container (without its key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInfo {
    pub serial: String,
    pub server_url: String,
    pub tls_verify: bool,
    pub policies: ClientPolicies,
    pub state: ContainerState,
    pub registered_at: i64,
    pub last_sync_at: Option<i64>,
    /// The accounts it manages, in display order.
    pub account_ids: Vec<String>,
}

/// What one synchronization changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncOutcome {
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub removed: Vec<String>,
    pub warnings: Vec<String>,
}

fn policies_json(p: &ClientPolicies) -> String {
    serde_json::json!({
        "container_client_rollover": p.client_rollover,
        "disable_client_container_unregister": p.disable_unregister,
        "disable_client_token_deletion": p.disable_token_deletion,
        "initially_add_tokens_to_container": p.initially_add_tokens,
    })
    .to_string()
}

fn policies_from_json(s: &str) -> ClientPolicies {
    let v: Option<serde_json::Value> = serde_json::from_str(s).ok();
    ClientPolicies::from_value(v.as_ref())
}

/// The token type privacyIDEA knows an account kind by (None: not reported).
fn tokentype(kind: AccountKind) -> Option<&'static str> {
    match kind {
        AccountKind::Hotp => Some("hotp"),
        AccountKind::Totp => Some("totp"),
        AccountKind::Push => Some("push"),
        AccountKind::Steam => None,
    }
}

struct StoredContainer {
    server: ContainerServer,
    sealed_key: Vec<u8>,
    state: ContainerState,
    last_sync_at: Option<i64>,
}

impl Engine {
    fn post(&self, req: &ContainerRequest) -> Result<HttpResponse> {
        let body_pairs = req.pairs();
        Ok(self
            .transport
            .post_form(&req.url, &body_pairs, req.verify_tls)?)
    }

    fn stored_container(&self, serial: &str) -> Result<StoredContainer> {
        self.db
            .conn_ref()
            .query_row(
                "SELECT server_url, tls_verify, phone_key, state, last_sync_at
                 FROM containers WHERE serial = ?1",
                [serial],
                |r| {
                    Ok(StoredContainer {
                        server: ContainerServer {
                            serial: serial.to_string(),
                            server_url: r.get(0)?,
                            tls_verify: r.get(1)?,
                        },
                        sealed_key: r.get(2)?,
                        state: ContainerState::parse(&r.get::<_, String>(3)?),
                        last_sync_at: r.get(4)?,
                    })
                },
            )
            .optional()?
            .ok_or_else(|| Error::NotFound(format!("container {serial}")))
    }

    fn container_key(&self, vk: &Key256, c: &StoredContainer) -> Result<ContainerKey> {
        let der = crypto::open(
            vk,
            &vault::container_key_aad(&c.server.serial),
            &c.sealed_key,
        )?;
        ContainerKey::from_pkcs8_der(&der)
    }

    /// The client policies last received for `serial` (all off for an unknown one).
    pub(crate) fn container_policies(&self, serial: &str) -> Result<ClientPolicies> {
        let json: Option<String> = self
            .db
            .conn_ref()
            .query_row(
                "SELECT policies FROM containers WHERE serial = ?1",
                [serial],
                |r| r.get(0),
            )
            .optional()?;
        Ok(json.as_deref().map(policies_from_json).unwrap_or_default())
    }

    /// Registers the container of `link` (finalize with a new P-384 key), stores it
    /// with its sealed key and policies in one transaction, then runs the first
    /// synchronization. A failed first synchronization keeps the registration and is
    /// reported as a warning (sync again).
    pub(crate) fn register_container(
        &mut self,
        vk: &Key256,
        link: ContainerLink,
        mut warnings: Vec<String>,
        passphrase: Option<&str>,
        new_pin: Option<&str>,
    ) -> Result<crate::enroll::Added> {
        if link.needs_passphrase() && passphrase.is_none_or(str::is_empty) {
            return Err(Error::Container(ContainerError::PassphraseRequired));
        }
        let exists: bool = self.db.conn_ref().query_row(
            "SELECT EXISTS(SELECT 1 FROM containers WHERE serial = ?1)",
            [&link.serial],
            |r| r.get(0),
        )?;
        if exists {
            return Err(Error::AlreadyEnrolled);
        }
        let pin_min = self.check_pin_requirement(&[], new_pin, &mut warnings)?;
        let key = ContainerKey::generate();
        let req = protocol::finalize_request(&link, &key, &DeviceInfo::default(), passphrase)?;
        let resp = self.post(&req)?;
        let policies = match protocol::parse_finalize_answer(resp.status, &resp.body) {
            Ok(p) => p,
            Err(Error::Container(ContainerError::SignatureRejected)) => {
                let now = self.clock.now_unix_seconds();
                return Err(Error::ContainerLinkRejected(
                    protocol::classify_finalize_rejection(&link, now),
                ));
            }
            Err(e) => return Err(e),
        };
        let now = self.clock.now_unix_seconds();
        let der = key.to_pkcs8_der()?;
        let sealed = crypto::seal(vk, &vault::container_key_aad(&link.serial), &der)?;
        let (serial, url, tls) = (
            link.serial.clone(),
            link.server_url.clone(),
            link.tls_verify,
        );
        let pj = policies_json(&policies);
        self.store_accounts(vk, Vec::new(), new_pin.zip(pin_min), move |tx| {
            tx.execute(
                "INSERT INTO containers (serial, server_url, tls_verify, phone_key, policies, state, registered_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'registered', ?6)",
                params![serial, url, tls, sealed, pj, now],
            )?;
            Ok(())
        })?;
        log::info!("container {} registered", link.serial);
        let account_ids = match self.sync_container(&link.serial) {
            Ok(out) => {
                warnings.extend(out.warnings);
                out.added
            }
            Err(e) => {
                warnings.push(format!(
                    "the container is registered, but its first synchronization failed ({e}); synchronize it again"
                ));
                Vec::new()
            }
        };
        Ok(crate::enroll::Added {
            account_ids,
            warnings,
            batch: None,
            container: Some(link.serial),
        })
    }

    /// Takes a fresh challenge for `op`.
    fn container_challenge(
        &self,
        server: &ContainerServer,
        op: Operation,
    ) -> Result<protocol::Challenge> {
        let req = protocol::challenge_request(server, op)?;
        let resp = self.post(&req)?;
        protocol::parse_challenge_answer(resp.status, &resp.body)
    }

    /// What the phone reports: every account of this container and every account with
    /// a serial that no other container holds, once per serial.
    fn reported_tokens(&self, serial: &str) -> Result<Vec<ReportedToken>> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for a in self.db.accounts()? {
            let (Some(s), Some(t)) = (a.serial.as_deref(), tokentype(a.kind)) else {
                continue;
            };
            if a.container_serial.as_deref().is_some_and(|c| c != serial) {
                continue;
            }
            if seen.insert(s.to_string()) {
                out.push(ReportedToken::Serial {
                    serial: s.to_string(),
                    tokentype: t.to_string(),
                });
            }
        }
        Ok(out)
    }

    /// Synchronizes `serial`: a fresh challenge, a fresh X25519 key, the phone's token
    /// list, then the answer applied in one transaction (new accounts from `add`,
    /// existing ones kept or renewed, container accounts in neither list removed,
    /// policies and the sync time stored). A failed synchronization changes nothing,
    /// except that a persistent ERR3002 on a container that synchronized before marks
    /// it `transferred`.
    pub fn sync_container(&mut self, serial: &str) -> Result<SyncOutcome> {
        let vk = self.require_unlocked()?;
        let stored = self.stored_container(serial)?;
        if stored.state == ContainerState::Transferred {
            return Err(Error::ContainerTransferred(serial.to_string()));
        }
        let key = self.container_key(&vk, &stored)?;
        let server = stored.server.clone();
        let mut attempt = 0;
        let answer = loop {
            attempt += 1;
            // Every attempt takes a fresh challenge (a used one is consumed).
            let challenge = self.container_challenge(&server, Operation::Synchronize)?;
            let sync_key = SyncKey::generate();
            let tokens = self.reported_tokens(serial)?;
            let req = protocol::sync_request(&server, &challenge, &key, &sync_key, &tokens)?;
            let resp = self.post(&req)?;
            match protocol::parse_sync_answer(resp.status, &resp.body, &sync_key, serial) {
                Ok(a) => break a,
                Err(Error::Container(ContainerError::SignatureRejected))
                    if stored.last_sync_at.is_some() =>
                {
                    if attempt < 2 {
                        continue;
                    }
                    self.db.conn().execute(
                        "UPDATE containers SET state = 'transferred' WHERE serial = ?1",
                        [serial],
                    )?;
                    log::warn!("container {serial} is refused persistently: marked transferred");
                    return Err(Error::ContainerTransferred(serial.to_string()));
                }
                Err(e) => return Err(e),
            }
        };
        let now = self.clock.now_unix_seconds();
        let mut out = SyncOutcome::default();
        let existing = self.db.accounts()?;
        let by_serial = |s: &str| {
            existing
                .iter()
                .find(|a| a.serial.as_deref() == Some(s) && tokentype(a.kind).is_some())
        };
        // Parse every link first; push links run their enrollment step 2 now (network,
        // before the transaction).
        let mut new_rows: Vec<AccountRow> = Vec::new();
        let mut push_rows: Vec<(AccountRow, Vec<u8>, String, bool, bool)> = Vec::new();
        let mut renewed: Vec<(String, AccountRow)> = Vec::new();
        let mut replaced_push: Vec<String> = Vec::new();
        let mut kept: HashSet<String> = HashSet::new();
        for link in &answer.add {
            match links::parse_link(link) {
                Ok(ParsedLink::Otp { entries, .. }) => {
                    for e in entries {
                        let mut row = crate::enroll::new_account_row(&vk, &e, now)?;
                        row.container_serial = Some(serial.to_string());
                        if let Some(s) = &e.serial {
                            kept.insert(s.clone());
                        }
                        match e.serial.as_deref().and_then(by_serial) {
                            Some(old) if old.kind != AccountKind::Push => {
                                renewed.push((old.id.clone(), row))
                            }
                            Some(old) => {
                                replaced_push.push(old.id.clone());
                                new_rows.push(row);
                            }
                            None => new_rows.push(row),
                        }
                    }
                }
                Ok(ParsedLink::Push { enrollment, .. }) => {
                    kept.insert(enrollment.serial.clone());
                    match self.push_enrollment_step2(&vk, &enrollment, now) {
                        Ok((mut row, sealed)) => {
                            row.container_serial = Some(serial.to_string());
                            if let Some(old) = by_serial(&enrollment.serial) {
                                replaced_push.push(old.id.clone());
                            }
                            push_rows.push((
                                row,
                                sealed,
                                enrollment.url.clone(),
                                enrollment.sslverify,
                                enrollment.poll_only,
                            ));
                        }
                        Err(e) => out.warnings.push(format!(
                            "push token {} could not be enrolled ({e}); it is renewed at the next synchronization",
                            enrollment.serial
                        )),
                    }
                }
                Ok(ParsedLink::Container { .. }) => out
                    .warnings
                    .push("the server sent a container link as a token; it was ignored".into()),
                Err(e) => out
                    .warnings
                    .push(format!("a token link from the server was not usable: {e}")),
            }
        }
        let mut updates: Vec<(String, Option<u64>, AccountKind, u64)> = Vec::new();
        for u in &answer.update {
            kept.insert(u.serial.clone());
            if let Some(a) = by_serial(&u.serial) {
                updates.push((a.id.clone(), u.counter, a.kind, a.counter));
            }
        }
        let removed: Vec<String> = existing
            .iter()
            .filter(|a| a.container_serial.as_deref() == Some(serial))
            .filter(|a| !a.serial.as_deref().is_some_and(|s| kept.contains(s)))
            .map(|a| a.id.clone())
            .chain(replaced_push.iter().cloned())
            .collect();
        let policies = policies_json(&answer.policies);
        let tx = self
            .db
            .conn()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for id in &removed {
            tx.execute("DELETE FROM accounts WHERE id = ?1", [id])?;
        }
        for (id, row) in &renewed {
            // Same id: the secret is sealed again under this row's AAD.
            let secret = crypto::open(&vk, &vault::secret_aad(&row.id), &row.sealed_secret)?;
            let sealed = crypto::seal(&vk, &vault::secret_aad(id), &secret)?;
            tx.execute(
                "UPDATE accounts SET kind = ?2, algorithm = ?3, digits = ?4, period = ?5,
                     counter = ?6, secret = ?7, weak_secret = ?8, container_serial = ?9
                 WHERE id = ?1",
                params![
                    id,
                    row.kind.as_str(),
                    row.algorithm.as_str(),
                    row.digits,
                    row.period,
                    row.counter as i64,
                    sealed,
                    row.weak_secret,
                    serial
                ],
            )?;
            out.updated.push(id.clone());
        }
        for (id, counter, kind, local) in &updates {
            let next = match (kind, counter) {
                (AccountKind::Hotp, Some(c)) => (*c).max(*local),
                _ => *local,
            };
            tx.execute(
                "UPDATE accounts SET container_serial = ?2, counter = ?3 WHERE id = ?1",
                params![id, serial, next as i64],
            )?;
            out.updated.push(id.clone());
        }
        let first = Db::next_sort_order(&tx)?;
        let mut order = first;
        for r in new_rows.iter_mut() {
            r.sort_order = order;
            order += 1;
            Db::insert_account(&tx, r)?;
            out.added.push(r.id.clone());
        }
        for (r, sealed, url, sslverify, poll_only) in push_rows.iter_mut() {
            r.sort_order = order;
            order += 1;
            Db::insert_account(&tx, r)?;
            crate::push::insert_push_token(&tx, &r.id, url, *sslverify, *poll_only, sealed, now)?;
            out.added.push(r.id.clone());
        }
        tx.execute(
            "UPDATE containers SET policies = ?2, last_sync_at = ?3 WHERE serial = ?1",
            params![serial, policies, now],
        )?;
        crate::vault::protect_counted_attempts(&tx)?;
        tx.commit()?;
        self.accounts_changed();
        out.removed = removed;
        log::info!(
            "container {serial} synchronized: {} added, {} updated, {} removed",
            out.added.len(),
            out.updated.len(),
            out.removed.len()
        );
        Ok(out)
    }

    /// Every stored container, with the ids of its accounts.
    pub fn containers(&self) -> Result<Vec<ContainerInfo>> {
        self.require_not_wiped()?;
        let accounts = self.db.accounts()?;
        let mut stmt = self.db.conn_ref().prepare(
            "SELECT serial, server_url, tls_verify, policies, state, registered_at, last_sync_at
             FROM containers ORDER BY registered_at, serial",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, Option<i64>>(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (serial, server_url, tls_verify, policies, state, registered_at, last_sync_at) =
                row?;
            let account_ids = accounts
                .iter()
                .filter(|a| a.container_serial.as_deref() == Some(serial.as_str()))
                .map(|a| a.id.clone())
                .collect();
            out.push(ContainerInfo {
                serial,
                server_url,
                tls_verify,
                policies: policies_from_json(&policies),
                state: ContainerState::parse(&state),
                registered_at,
                last_sync_at,
                account_ids,
            });
        }
        Ok(out)
    }

    /// Unregisters `serial`: terminates the registration on the server first (unless
    /// the container was transferred away or the server no longer knows it), then
    /// removes the container and its accounts in one transaction. Refused while the
    /// `disable_client_container_unregister` policy is on. Returns the removed ids.
    pub fn unregister_container(&mut self, serial: &str) -> Result<Vec<String>> {
        let vk = self.require_unlocked()?;
        let stored = self.stored_container(serial)?;
        if stored.state == ContainerState::Registered {
            if self.container_policies(serial)?.disable_unregister {
                return Err(Error::ContainerPolicy(
                    "disable_client_container_unregister is set for this container".into(),
                ));
            }
            let key = self.container_key(&vk, &stored)?;
            let gone = |e: &Error| {
                matches!(
                    e,
                    Error::Container(
                        ContainerError::NotRegistered | ContainerError::UnknownContainer
                    )
                )
            };
            match self.container_challenge(&stored.server, Operation::Terminate) {
                Ok(ch) => {
                    let req = protocol::terminate_request(&stored.server, &ch, &key)?;
                    let resp = self.post(&req)?;
                    match protocol::parse_terminate_answer(resp.status, &resp.body) {
                        Ok(()) => {}
                        Err(e) if gone(&e) => {}
                        Err(e) => return Err(e),
                    }
                }
                Err(e) if gone(&e) => {
                    log::info!("container {serial} was already unregistered on the server")
                }
                Err(e) => return Err(e),
            }
        }
        let tx = self
            .db
            .conn()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let ids: Vec<String> = {
            let mut st = tx.prepare("SELECT id FROM accounts WHERE container_serial = ?1")?;
            let ids = st
                .query_map([serial], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            ids
        };
        tx.execute("DELETE FROM accounts WHERE container_serial = ?1", [serial])?;
        tx.execute("DELETE FROM containers WHERE serial = ?1", [serial])?;
        tx.commit()?;
        self.accounts_changed();
        log::info!(
            "container {serial} unregistered, {} accounts removed",
            ids.len()
        );
        Ok(ids)
    }

    /// Refuses deleting a container account while its container's
    /// `disable_client_token_deletion` policy is on.
    pub(crate) fn check_deletable(&self, a: &AccountRow) -> Result<()> {
        if let Some(c) = &a.container_serial {
            if self.container_policies(c)?.disable_token_deletion {
                return Err(Error::ContainerPolicy(format!(
                    "disable_client_token_deletion is set for container {c}"
                )));
            }
        }
        Ok(())
    }
}

/// A zeroizing copy of a passphrase (kept out of logs and errors).
pub(crate) fn passphrase(p: Option<String>) -> Option<Zeroizing<String>> {
    p.map(Zeroizing::new)
}
