//! The container service: registers a privacyIDEA smartphone container from its link,
//! stores it with its sealed phone key, synchronizes its accounts (one transaction per
//! answer), lists and unregisters containers. HTTP goes through the engine's
//! `Transport`; every message is built and read by [`super::protocol`].

use super::protocol::{
    self, ClientPolicies, ContainerError, ContainerKey, ContainerLink, ContainerRequest,
    ContainerServer, DeviceInfo, Operation, ReportedToken, SyncAnswer, SyncKey, TransferProtection,
};
use crate::crypto::{self, Key256};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::links::{self, ParsedLink};
use crate::otp::AccountKind;
use crate::push::transport::{HttpResponse, Transport};
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
    /// A push for one of its tokens arrived since the last synchronization.
    pub sync_requested: bool,
    /// An unanswered initial-transfer offer: the local accounts its server could adopt.
    pub adoptable_account_ids: Vec<String>,
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

/// POSTs a container request through `transport` (the one way every step sends).
fn post(transport: &dyn Transport, req: &ContainerRequest) -> Result<HttpResponse> {
    Ok(transport.post_form(&req.url, &req.pairs(), req.verify_tls)?)
}

/// Takes a fresh challenge for `op` (every signed request needs its own).
fn challenge(
    transport: &dyn Transport,
    server: &ContainerServer,
    op: Operation,
) -> Result<protocol::Challenge> {
    let resp = post(transport, &protocol::challenge_request(server, op)?)?;
    protocol::parse_challenge_answer(resp.status, &resp.body)
}

/// The initial-transfer offer of a container, from its stored state and the vault's
/// accounts: while it is registered, never synchronized and its server's
/// `initially_add_tokens_to_container` is on, every account with a serial outside all
/// containers whose type privacyIDEA knows.
fn offer(
    accounts: &[AccountRow],
    state: ContainerState,
    last_sync_at: Option<i64>,
    policies: &ClientPolicies,
) -> Vec<String> {
    if last_sync_at.is_some()
        || state != ContainerState::Registered
        || !policies.initially_add_tokens
    {
        return Vec::new();
    }
    accounts
        .iter()
        .filter(|a| a.container_serial.is_none() && a.serial.is_some())
        .filter(|a| tokentype(a.kind).is_some())
        .map(|a| a.id.clone())
        .collect()
}

impl Engine {
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

    /// Registration step 1 (engine lock held): the checks that need no network (the
    /// passphrase is there when the link asks one, the container is new, the PIN the
    /// links' policies need), a new P-384 key and the signed finalize request.
    pub(crate) fn prepare_registration(
        &mut self,
        vk: &Key256,
        link: ContainerLink,
        mut warnings: Vec<String>,
        passphrase: Option<&str>,
        new_pin: Option<&str>,
    ) -> Result<RegistrationJob> {
        if link.needs_passphrase() && passphrase.is_none_or(str::is_empty) {
            return Err(Error::Container(ContainerError::PassphraseRequired));
        }
        if self.container_exists(&link.serial)? {
            return Err(Error::AlreadyEnrolled);
        }
        let pin_min = self.check_pin_requirement(&[], new_pin, &mut warnings)?;
        let key = ContainerKey::generate();
        let request = protocol::finalize_request(&link, &key, &DeviceInfo::default(), passphrase)?;
        Ok(RegistrationJob {
            vk: vk.clone(),
            link,
            warnings,
            new_pin: new_pin
                .zip(pin_min)
                .map(|(p, m)| (Zeroizing::new(p.to_string()), m)),
            key,
            request,
        })
    }

    fn container_exists(&self, serial: &str) -> Result<bool> {
        Ok(self.db.conn_ref().query_row(
            "SELECT EXISTS(SELECT 1 FROM containers WHERE serial = ?1)",
            [serial],
            |r| r.get(0),
        )?)
    }

    /// Registration step 3 (engine lock held): reads the finalize answer and stores the
    /// container (its sealed key, server, policies, and the first PIN when the link
    /// needed one) in one transaction. The first synchronization comes next, unless an
    /// initial-transfer offer waits for the user.
    pub(crate) fn finish_registration(
        &mut self,
        job: RegistrationJob,
        answer: Result<HttpResponse>,
    ) -> Result<PendingRegistration> {
        let resp = answer?;
        let policies = match protocol::parse_finalize_answer(resp.status, &resp.body) {
            Ok(p) => p,
            Err(Error::Container(ContainerError::SignatureRejected)) => {
                let now = self.clock.now_unix_seconds();
                return Err(Error::ContainerLinkRejected(
                    protocol::classify_finalize_rejection(&job.link, now),
                ));
            }
            Err(e) => return Err(e),
        };
        // Two registrations of one link raced: the second finalize was refused above,
        // but check again before storing.
        if self.container_exists(&job.link.serial)? {
            return Err(Error::AlreadyEnrolled);
        }
        let now = self.clock.now_unix_seconds();
        let der = job.key.to_pkcs8_der()?;
        let sealed = crypto::seal(&job.vk, &vault::container_key_aad(&job.link.serial), &der)?;
        let (serial, url, tls) = (
            job.link.serial.clone(),
            job.link.server_url.clone(),
            job.link.tls_verify,
        );
        let pj = policies_json(&policies);
        let pin = job.new_pin.as_ref().map(|(p, m)| (p.as_str(), *m));
        self.store_accounts(&job.vk, Vec::new(), pin, move |tx| {
            tx.execute(
                "INSERT INTO containers (serial, server_url, tls_verify, phone_key, policies, state, registered_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'registered', ?6)",
                params![serial, url, tls, sealed, pj, now],
            )?;
            Ok(())
        })?;
        log::info!("container {} registered", job.link.serial);
        // With `initially_add_tokens_to_container` on, the first synchronization hands
        // every reported local account to the server: the user chooses first
        // (`sync_container_adopting`), so the first sync waits for that answer.
        let offer_open = !self.adoptable_accounts(&job.link.serial)?.is_empty();
        Ok(PendingRegistration {
            serial: job.link.serial.clone(),
            warnings: job.warnings,
            offer_open,
        })
    }

    /// What the phone reports: every account of this container, and the local accounts
    /// the user chose to let the server adopt (`adopt`, the initial transfer), once per
    /// serial. Accounts outside every container are reported only when chosen: with the
    /// server's `initially_add_tokens_to_container` on, reporting one hands it over.
    fn reported_tokens(&self, serial: &str, adopt: &[String]) -> Result<Vec<ReportedToken>> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for a in self.db.accounts()? {
            let (Some(s), Some(t)) = (a.serial.as_deref(), tokentype(a.kind)) else {
                continue;
            };
            let ours = a.container_serial.as_deref() == Some(serial);
            let chosen = a.container_serial.is_none() && adopt.contains(&a.id);
            if (ours || chosen) && seen.insert(s.to_string()) {
                out.push(ReportedToken::Serial {
                    serial: s.to_string(),
                    tokentype: t.to_string(),
                });
            }
        }
        Ok(out)
    }

    /// The local accounts the server could adopt into `serial` at its first
    /// synchronization: an unanswered initial-transfer offer (empty once the container
    /// synchronized, or when its policy is off).
    pub(crate) fn adoptable_accounts(&self, serial: &str) -> Result<Vec<String>> {
        let stored = self.stored_container(serial)?;
        let policies = self.container_policies(serial)?;
        Ok(offer(
            &self.db.accounts()?,
            stored.state,
            stored.last_sync_at,
            &policies,
        ))
    }

    /// Step 1 of a synchronization (engine lock held): the container's server and opened
    /// key, the vault key for sealing the answer, and the token list to report (its own
    /// accounts and the `adopt` choice of an initial-transfer offer; ids of accounts
    /// outside the offer are ignored).
    pub(crate) fn prepare_container_sync(
        &mut self,
        serial: &str,
        adopt: &[String],
    ) -> Result<SyncJob> {
        let vk = self.require_unlocked()?;
        let stored = self.stored_container(serial)?;
        if stored.state == ContainerState::Transferred {
            return Err(Error::ContainerTransferred(serial.to_string()));
        }
        let key = self.container_key(&vk, &stored)?;
        let offer = self.adoptable_accounts(serial)?;
        let adopt: Vec<String> = adopt
            .iter()
            .filter(|id| offer.contains(id))
            .cloned()
            .collect();
        let tokens = self.reported_tokens(serial, &adopt)?;
        Ok(SyncJob {
            vk,
            server: stored.server,
            key,
            tokens,
            synced_before: stored.last_sync_at.is_some(),
        })
    }

    /// Step 3 of a synchronization (engine lock held): applies the answer [`exchange_sync`]
    /// fetched, in one transaction (new accounts from `add`, existing ones kept or
    /// renewed, container accounts in neither list removed, policies and the sync time
    /// stored, the push's sync request cleared). A failed exchange changes nothing,
    /// except that a persistent ERR3002 on a container that synchronized before marks it
    /// `transferred`.
    pub(crate) fn apply_container_sync(
        &mut self,
        job: SyncJob,
        exchange: Result<SyncExchange>,
    ) -> Result<SyncOutcome> {
        self.require_not_wiped()?;
        let serial = job.server.serial.as_str();
        // The container may have been removed while the network step ran.
        let stored = self.stored_container(serial)?;
        let answer = match exchange? {
            SyncExchange::Answer(a) => a,
            SyncExchange::RefusedPersistently => {
                if !job.synced_before {
                    return Err(Error::Container(ContainerError::SignatureRejected));
                }
                self.db.conn().execute(
                    "UPDATE containers SET state = 'transferred' WHERE serial = ?1",
                    [serial],
                )?;
                log::warn!("container {serial} is refused persistently: marked transferred");
                return Err(Error::ContainerTransferred(serial.to_string()));
            }
        };
        if stored.state == ContainerState::Transferred {
            return Err(Error::ContainerTransferred(serial.to_string()));
        }
        let vk = job.vk;
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
            "UPDATE containers SET policies = ?2, last_sync_at = ?3, sync_requested = 0
             WHERE serial = ?1",
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
        let mut stmt = self.db.conn_ref().prepare(
            "SELECT serial, server_url, tls_verify, policies, state, registered_at, last_sync_at,
                    sync_requested
             FROM containers ORDER BY registered_at, serial",
        )?;
        let mut out = stmt
            .query_map([], |r| {
                Ok(ContainerInfo {
                    serial: r.get(0)?,
                    server_url: r.get(1)?,
                    tls_verify: r.get(2)?,
                    policies: policies_from_json(&r.get::<_, String>(3)?),
                    state: ContainerState::parse(&r.get::<_, String>(4)?),
                    registered_at: r.get(5)?,
                    last_sync_at: r.get(6)?,
                    sync_requested: r.get(7)?,
                    account_ids: Vec::new(),
                    adoptable_account_ids: Vec::new(),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        if out.is_empty() {
            // Every unlock asks what is due: a vault without containers reads nothing more.
            return Ok(out);
        }
        let accounts = self.db.accounts()?;
        for c in &mut out {
            c.account_ids = accounts
                .iter()
                .filter(|a| a.container_serial.as_deref() == Some(c.serial.as_str()))
                .map(|a| a.id.clone())
                .collect();
            c.adoptable_account_ids = offer(&accounts, c.state, c.last_sync_at, &c.policies);
        }
        Ok(out)
    }

    /// Unregistering, step 1 (engine lock held): refused while the
    /// `disable_client_container_unregister` policy is on; for a registered container
    /// the opened key, so step 2 can terminate the registration on the server first.
    /// A container that moved to another phone needs no server call (`None`).
    pub(crate) fn prepare_unregister(&mut self, serial: &str) -> Result<Option<OpenedContainer>> {
        let vk = self.require_unlocked()?;
        let stored = self.stored_container(serial)?;
        if stored.state != ContainerState::Registered {
            return Ok(None);
        }
        if self.container_policies(serial)?.disable_unregister {
            return Err(Error::ContainerPolicy(
                "disable_client_container_unregister is set for this container".into(),
            ));
        }
        let key = self.container_key(&vk, &stored)?;
        Ok(Some(OpenedContainer {
            server: stored.server,
            key,
        }))
    }

    /// Unregistering, step 3 (engine lock held): removes the container and its
    /// accounts in one transaction. Returns the removed account ids.
    pub(crate) fn finish_unregister(&mut self, serial: &str) -> Result<Vec<String>> {
        self.require_not_wiped()?;
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
        if tx.execute("DELETE FROM containers WHERE serial = ?1", [serial])? == 0 {
            return Err(Error::NotFound(format!("container {serial}")));
        }
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

impl Engine {
    /// The automatic synchronization interval in seconds (0: never automatically).
    pub fn container_sync_interval(&self) -> Result<u64> {
        self.require_not_wiped()?;
        let v: Option<i64> = self.db.conn_ref().query_row(
            "SELECT container_sync_interval FROM vault_state WHERE id = 1",
            [],
            |r| r.get(0),
        )?;
        Ok(v.map_or(DEFAULT_SYNC_INTERVAL_SECS, |v| v.max(0) as u64))
    }

    /// Sets the automatic synchronization interval (0..=a week; 0 turns it off).
    pub fn set_container_sync_interval(&mut self, seconds: u64) -> Result<()> {
        self.require_unlocked()?;
        if seconds > MAX_SYNC_INTERVAL_SECS {
            return Err(Error::InvalidArgument(format!(
                "the container sync interval must be at most {MAX_SYNC_INTERVAL_SECS} seconds (0: never)"
            )));
        }
        self.db.conn().execute(
            "UPDATE vault_state SET container_sync_interval = ?1 WHERE id = 1",
            [seconds as i64],
        )?;
        Ok(())
    }

    /// The containers an automatic synchronization should run for now: registered ones
    /// with no unanswered initial-transfer offer, whose server sent a push for one of
    /// their tokens since the last synchronization, or whose last synchronization is
    /// older than the interval; none failed an automatic attempt in the last
    /// [`AUTO_SYNC_RETRY_SECS`]. Empty while locked (they run after the next unlock).
    pub fn containers_due(&mut self) -> Result<Vec<String>> {
        if self.require_unlocked().is_err() {
            return Ok(Vec::new());
        }
        let interval = self.container_sync_interval()? as i64;
        let now = self.clock.now_unix_seconds();
        let mut due = Vec::new();
        for c in self.containers()? {
            let stale = interval > 0
                && c.last_sync_at
                    .is_none_or(|t| now.saturating_sub(t) >= interval);
            let backing_off = self
                .auto_sync_failures
                .get(&c.serial)
                .is_some_and(|t| now.saturating_sub(*t) < AUTO_SYNC_RETRY_SECS);
            if c.state == ContainerState::Registered
                && (c.sync_requested || stale)
                && !backing_off
                && c.adoptable_account_ids.is_empty()
            {
                due.push(c.serial);
            }
        }
        Ok(due)
    }

    /// Records the result of an automatic attempt (a failure holds the next one back).
    pub(crate) fn auto_sync_finished(&mut self, serial: &str, ok: bool) {
        if ok {
            self.auto_sync_failures.remove(serial);
        } else {
            let now = self.clock.now_unix_seconds();
            self.auto_sync_failures.insert(serial.to_string(), now);
        }
    }

    /// Step 1 of a transfer to a new phone (engine lock held): the container's server
    /// and opened key. Refused for a container that already moved away.
    pub(crate) fn prepare_container_transfer(&mut self, serial: &str) -> Result<OpenedContainer> {
        let vk = self.require_unlocked()?;
        let stored = self.stored_container(serial)?;
        if stored.state == ContainerState::Transferred {
            return Err(Error::ContainerTransferred(serial.to_string()));
        }
        let key = self.container_key(&vk, &stored)?;
        Ok(OpenedContainer {
            server: stored.server,
            key,
        })
    }
}

/// A registered container opened for a signed request (transfer, unregistering): its
/// server and its key (wiped on drop).
pub(crate) struct OpenedContainer {
    server: ContainerServer,
    key: ContainerKey,
}

/// A transfer link for the new phone (`request_container_transfer`).
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct ContainerTransfer {
    /// The `pia://container/...` link: show it as a QR code (full screen, no screenshots).
    pub link: String,
    /// The server's PNG of that QR code, checked here to decode to `link` exactly; when
    /// absent, draw the QR code from `link`.
    pub qr_png: Option<Vec<u8>>,
    /// Unix second after which the server refuses the link (its `time` + `ttl`).
    pub expires_at: Option<i64>,
    /// The new phone asks for the passphrase chosen here.
    pub passphrase_protected: bool,
}

impl std::fmt::Debug for ContainerTransfer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The link registers a phone: it is a secret while it lives.
        f.debug_struct("ContainerTransfer")
            .field("link", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("passphrase_protected", &self.passphrase_protected)
            .finish()
    }
}

/// The protection of a transfer link: a passphrase the user chose (at least
/// [`MIN_TRANSFER_PASSPHRASE_CHARS`] characters), or none.
pub(crate) fn transfer_protection(passphrase: Option<&str>) -> Result<TransferProtection> {
    match passphrase {
        None => Ok(TransferProtection::None),
        Some(p) if p.chars().count() < MIN_TRANSFER_PASSPHRASE_CHARS => {
            Err(Error::InvalidArgument(format!(
                "a transfer passphrase needs at least {MIN_TRANSFER_PASSPHRASE_CHARS} characters"
            )))
        }
        Some(p) => Ok(TransferProtection::Passphrase {
            prompt: TRANSFER_PASSPHRASE_PROMPT.to_string(),
            response: Zeroizing::new(p.to_string()),
        }),
    }
}

/// Step 2 of a transfer (network, no engine lock): a fresh rollover challenge, the
/// signed request, the transfer link checked to be for this container. The server's
/// QR image is passed on only when it decodes to the same link.
pub(crate) fn exchange_transfer(
    transport: &dyn Transport,
    job: &OpenedContainer,
    protection: &TransferProtection,
) -> Result<ContainerTransfer> {
    let challenge = challenge(transport, &job.server, Operation::Rollover)?;
    let req = protocol::rollover_request(&job.server, &challenge, &job.key, protection)?;
    let resp = post(transport, &req)?;
    let t = protocol::parse_rollover_answer(resp.status, &resp.body, &job.server.serial)?;
    let qr_png = t
        .image_png
        .filter(|png| crate::qr_image::decode_qr(png).is_ok_and(|text| text == t.link));
    log::info!("container {}: transfer link issued", job.server.serial);
    Ok(ContainerTransfer {
        expires_at: t.parsed.expires_at(),
        passphrase_protected: t.parsed.needs_passphrase(),
        link: t.link,
        qr_png,
    })
}

/// Unregistering, step 2 (network, no engine lock): a fresh terminate challenge and the
/// signed terminate request. A server that no longer knows the container (ERR3001, or
/// no such container) counts as done.
pub(crate) fn exchange_terminate(transport: &dyn Transport, job: &OpenedContainer) -> Result<()> {
    let gone = |e: &Error| {
        matches!(
            e,
            Error::Container(ContainerError::NotRegistered | ContainerError::UnknownContainer)
        )
    };
    let serial = &job.server.serial;
    let challenge = match challenge(transport, &job.server, Operation::Terminate) {
        Ok(c) => c,
        Err(e) if gone(&e) => {
            log::info!("container {serial} was already unregistered on the server");
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let req = protocol::terminate_request(&job.server, &challenge, &job.key)?;
    let resp = post(transport, &req)?;
    match protocol::parse_terminate_answer(resp.status, &resp.body) {
        Ok(()) => Ok(()),
        Err(e) if gone(&e) => Ok(()),
        Err(e) => Err(e),
    }
}

/// A zeroizing copy of a passphrase (kept out of logs and errors).
pub(crate) fn passphrase(p: Option<String>) -> Option<Zeroizing<String>> {
    p.map(Zeroizing::new)
}

/// The automatic synchronization interval when the user set none: an unlock
/// synchronizes a container whose last synchronization is older than this.
pub const DEFAULT_SYNC_INTERVAL_SECS: u64 = 3600;
/// The longest interval the user may set (a week); 0 turns automatic syncs off.
pub const MAX_SYNC_INTERVAL_SECS: u64 = 7 * 86_400;
/// After a failed automatic synchronization, the next automatic attempt waits this long
/// (a server that is down is not asked at every unlock).
pub const AUTO_SYNC_RETRY_SECS: i64 = 300;
/// The prompt the new phone shows for a passphrase the user chose on the old phone.
pub const TRANSFER_PASSPHRASE_PROMPT: &str = "Passphrase chosen on the old phone for this transfer";
/// Shortest transfer passphrase accepted.
pub const MIN_TRANSFER_PASSPHRASE_CHARS: usize = 4;

/// What registration step 1 prepared: the key (wiped on drop), the signed finalize
/// request, and what step 3 stores.
pub(crate) struct RegistrationJob {
    vk: Key256,
    link: ContainerLink,
    warnings: Vec<String>,
    new_pin: Option<(Zeroizing<String>, u8)>,
    key: ContainerKey,
    request: ContainerRequest,
}

/// A registration stored, before its first synchronization.
pub(crate) struct PendingRegistration {
    serial: String,
    warnings: Vec<String>,
    offer_open: bool,
}

impl PendingRegistration {
    /// The container registered.
    pub(crate) fn serial(&self) -> &str {
        &self.serial
    }

    /// The first synchronization runs now (no initial-transfer offer waits).
    pub(crate) fn needs_first_sync(&self) -> bool {
        !self.offer_open
    }

    /// The enrollment result, with the first synchronization's outcome when it ran (a
    /// failure keeps the registration and becomes a warning).
    pub(crate) fn into_added<E: std::fmt::Display>(
        self,
        first_sync: Option<std::result::Result<SyncOutcome, E>>,
    ) -> crate::enroll::Added {
        let mut warnings = self.warnings;
        let account_ids = match first_sync {
            Some(Ok(out)) => {
                warnings.extend(out.warnings);
                out.added
            }
            Some(Err(e)) => {
                warnings.push(format!(
                    "the container is registered, but its first synchronization failed ({e}); synchronize it again"
                ));
                Vec::new()
            }
            None => Vec::new(),
        };
        crate::enroll::Added {
            account_ids,
            warnings,
            batch: None,
            container: Some(self.serial),
        }
    }
}

/// Registration step 2 (network, no engine lock): the finalize request.
pub(crate) fn exchange_finalize(
    transport: &dyn Transport,
    job: &RegistrationJob,
) -> Result<HttpResponse> {
    post(transport, &job.request)
}

/// What a synchronization took from the vault in its first step (the opened container
/// key and the vault key are wiped on drop; `Debug` is not derived).
pub(crate) struct SyncJob {
    vk: Key256,
    server: ContainerServer,
    key: ContainerKey,
    tokens: Vec<ReportedToken>,
    synced_before: bool,
}

impl SyncJob {
    /// The container this job synchronizes.
    pub(crate) fn serial(&self) -> &str {
        &self.server.serial
    }
}

/// What the server answered a synchronization.
pub(crate) enum SyncExchange {
    /// The decrypted answer.
    Answer(SyncAnswer),
    /// ERR3002 twice, each time with a fresh challenge: on a container that synchronized
    /// before, this phone is no longer the container's phone.
    RefusedPersistently,
}

/// Step 2 of a synchronization (network, no engine lock): a fresh challenge, a fresh
/// X25519 key, the signed token list, the answer decrypted. A signature refusal is
/// retried once with a new challenge (a used challenge is consumed).
pub(crate) fn exchange_sync(transport: &dyn Transport, job: &SyncJob) -> Result<SyncExchange> {
    let serial = job.serial();
    for attempt in 1..=2 {
        let challenge = challenge(transport, &job.server, Operation::Synchronize)?;
        let sync_key = SyncKey::generate();
        let req =
            protocol::sync_request(&job.server, &challenge, &job.key, &sync_key, &job.tokens)?;
        let resp = post(transport, &req)?;
        match protocol::parse_sync_answer(resp.status, &resp.body, &sync_key, serial) {
            Ok(a) => return Ok(SyncExchange::Answer(a)),
            Err(Error::Container(ContainerError::SignatureRejected))
                if job.synced_before && attempt < 2 => {}
            Err(Error::Container(ContainerError::SignatureRejected)) if job.synced_before => {
                return Ok(SyncExchange::RefusedPersistently)
            }
            Err(e) => return Err(e),
        }
    }
    Ok(SyncExchange::RefusedPersistently)
}
