//! Push service (privacyIDEA protocol v1): enrollment with key exchange, challenges from
//! push messages or polls, approve / decline / number matching, and push token rotation.
//!
//! Network calls are split from state changes (`prepare_*` under the engine lock, HTTP
//! without it, `finish_*` under the lock again) so a slow server never blocks the UI's
//! other calls.

pub mod actions;
pub mod protocol;
pub mod transport;

use crate::crypto::{self, Key256};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::links::PushEnrollment;
use crate::otp::{AccountKind, Algorithm};
use crate::vault::{self, AccountRow, ChallengeRow};
use protocol::WireChallenge;
use rusqlite::params;
use serde_json::Value;
use std::collections::HashMap;
use transport::Transport;
use zeroize::Zeroizing;

/// How long a challenge is answerable after it was first seen (privacyIDEA's default
/// challenge validity). A poll that still lists it extends this.
pub const CHALLENGE_LIFETIME_SECS: i64 = 120;
/// Answered and expired challenges are kept at least this long (30 days) to refuse
/// replays of their nonce: a captured push, or an old notification tapped days later,
/// is refused instead of looking fresh.
pub const ANSWERED_RETENTION_SECS: i64 = 30 * 24 * 3600;
/// At most this many answered or expired nonces are kept (the oldest go first), so the
/// table stays bounded whatever a server sends.
pub const MAX_REMEMBERED_NONCES: u32 = 10_000;

/// How a challenge arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ChallengeSource {
    /// From a push message (FCM / APNs).
    Push,
    /// From polling the server.
    Poll,
}

impl ChallengeSource {
    fn as_str(self) -> &'static str {
        match self {
            ChallengeSource::Push => "push",
            ChallengeSource::Poll => "poll",
        }
    }
    fn parse(s: &str) -> Self {
        if s == "poll" {
            ChallengeSource::Poll
        } else {
            ChallengeSource::Push
        }
    }
}

/// A pending challenge as the engine reports it.
#[derive(Debug, Clone)]
pub struct Challenge {
    pub row: ChallengeRow,
    pub serial: String,
    pub tls_verify: bool,
    pub requires_unlock: bool,
    pub source: ChallengeSource,
}

/// A signed request ready to send. `Debug` names the fields but shows no value (the
/// signature, an enrollment credential).
#[derive(Clone)]
pub struct SignedRequest {
    pub account_id: String,
    pub serial: String,
    pub url: String,
    pub verify_tls: bool,
    pub fields: Vec<(String, String)>,
}

impl std::fmt::Debug for SignedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedRequest")
            .field("account_id", &self.account_id)
            .field("serial", &self.serial)
            .field("url", &self.url)
            .field("verify_tls", &self.verify_tls)
            .field(
                "fields",
                &self
                    .fields
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl SignedRequest {
    fn pairs(&self) -> Vec<(&str, &str)> {
        self.fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// Sends as GET (polls).
    pub fn get(&self, t: &dyn Transport) -> Result<transport::HttpResponse> {
        Ok(t.get(&self.url, &self.pairs(), self.verify_tls)?)
    }

    /// Sends as a form POST (answers, updates, enrollment).
    pub fn post(&self, t: &dyn Transport) -> Result<transport::HttpResponse> {
        Ok(t.post_form(&self.url, &self.pairs(), self.verify_tls)?)
    }
}

/// What the server said to an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerOutcome {
    pub accepted: bool,
    pub display_code: Option<String>,
    pub message: Option<String>,
}

/// The kind of answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Approve { presence: Option<String> },
    Decline { reason: Option<String> },
}

struct TokenInfo {
    account: AccountRow,
    url: String,
    sslverify: bool,
    server_key: Vec<u8>,
}

impl Engine {
    fn push_token_info(&self, account: AccountRow) -> Result<TokenInfo> {
        let row = self
            .db
            .push_token(&account.id)?
            .ok_or_else(|| Error::Storage("push token row missing".into()))?;
        let ddk = self.device_data_key.as_ref().ok_or(Error::Wiped)?;
        let server_key = crypto::open(
            ddk,
            &vault::server_key_aad(&account.id),
            &row.sealed_server_public_key,
        )?;
        Ok(TokenInfo {
            account,
            url: row.url,
            sslverify: row.sslverify,
            server_key: server_key.to_vec(),
        })
    }

    /// The push account with this token serial, if enrolled.
    pub(crate) fn push_account_with_serial(&self, serial: &str) -> Result<Option<AccountRow>> {
        Ok(self
            .db
            .accounts()?
            .into_iter()
            .find(|a| a.kind == AccountKind::Push && a.serial.as_deref() == Some(serial)))
    }

    fn push_account_by_serial(&self, serial: &str) -> Result<AccountRow> {
        self.push_account_with_serial(serial)?
            .ok_or_else(|| Error::NotFound(format!("push token {serial}")))
    }

    /// Enrolls a push token: generates the phone key, runs step 2, stores the token.
    /// A failed step 2 stores nothing.
    pub(crate) fn enroll_push(
        &mut self,
        vk: &Key256,
        e: PushEnrollment,
        mut warnings: Vec<String>,
        new_pin: Option<&str>,
    ) -> Result<crate::enroll::Added> {
        if self.push_account_with_serial(&e.serial)?.is_some() {
            return Err(Error::AlreadyEnrolled);
        }
        let now = self.clock.now_unix_seconds();
        let first_seen = *self.push_links_seen.entry(e.serial.clone()).or_insert(now);
        let ttl_secs = i64::try_from(e.ttl_minutes.saturating_mul(60)).unwrap_or(i64::MAX);
        if now.saturating_sub(first_seen) > ttl_secs {
            return Err(Error::InvalidEnrollment(format!(
                "the enrollment link expired ({} minutes after it was scanned)",
                e.ttl_minutes
            )));
        }
        let pin_min = self.check_pin_requirement(&[e.policy], new_pin, &mut warnings)?;
        let (row, sealed_server_key) = self.push_enrollment_step2(vk, &e, now)?;
        let id = row.id.clone();
        let id_for_tx = id.clone();
        let (url, sslverify, poll_only) = (e.url.clone(), e.sslverify, e.poll_only);
        self.store_accounts(vk, vec![row], new_pin.zip(pin_min), move |tx| {
            insert_push_token(
                tx,
                &id_for_tx,
                &url,
                sslverify,
                poll_only,
                &sealed_server_key,
                now,
            )
        })?;
        self.push_links_seen.remove(&e.serial);
        Ok(crate::enroll::Added {
            account_ids: vec![id],
            warnings,
            batch: None,
            container: None,
        })
    }

    /// Push enrollment step 2 (network): a new phone key, the key exchange with the
    /// server, and the account row to store (the phone key sealed under `vk`) with the
    /// server key sealed under the device-data key. Stores nothing.
    pub(crate) fn push_enrollment_step2(
        &self,
        vk: &Key256,
        e: &PushEnrollment,
        now: i64,
    ) -> Result<(AccountRow, Vec<u8>)> {
        let key = protocol::generate_phone_key(self.phone_key_bits)?;
        let fbtoken = match (
            &e.poll_only,
            self.db.state()?.and_then(|s| s.push_service_token),
        ) {
            (false, Some(t)) if !t.is_empty() => t,
            _ => "no_firebase_token".to_string(),
        };
        let pubkey = protocol::spki_base64(&key.spki);
        let form = [
            ("enrollment_credential", e.enrollment_credential.as_str()),
            ("serial", e.serial.as_str()),
            ("fbtoken", fbtoken.as_str()),
            ("pubkey", pubkey.as_str()),
        ];
        let resp = self.transport.post_form(&e.url, &form, e.sslverify)?;
        let server_key = protocol::parse_enrollment_answer(resp.status, &resp.body)?;
        let id = crate::enroll::new_account_id()?;
        let ddk = self.device_data_key.clone().ok_or(Error::Wiped)?;
        let sealed_server_key = crypto::seal(&ddk, &vault::server_key_aad(&id), &server_key)?;
        let row = AccountRow {
            id: id.clone(),
            kind: AccountKind::Push,
            issuer: e.issuer.clone(),
            name: e.name.clone(),
            algorithm: Algorithm::Sha256,
            digits: 0,
            period: 0,
            counter: 0,
            sealed_secret: crypto::seal(vk, &vault::secret_aad(&id), &key.pkcs8)?,
            weak_secret: false,
            serial: Some(e.serial.clone()),
            lock_require_pin: e.policy.require_pin,
            lock_wipe_after: e.policy.wipe_after,
            lock_idle_seconds: e.policy.idle_seconds,
            lock_min_pin_length: e.policy.min_pin_length,
            lock_background_seconds: e.policy.background_seconds,
            sort_order: 0,
            created_at: now,
            container_serial: None,
        };
        Ok((row, sealed_server_key))
    }

    /// Verifies and stores one challenge. Replays of answered nonces and expired ones
    /// are refused; a known pending nonce is returned as is (its expiry extended when
    /// a poll lists it again).
    pub(crate) fn ingest_challenge(
        &mut self,
        wire: &WireChallenge,
        source: ChallengeSource,
    ) -> Result<Challenge> {
        self.require_not_wiped()?;
        let account = self.push_account_by_serial(&wire.serial)?;
        let info = self.push_token_info(account)?;
        wire.verify(&info.server_key)?;
        let now = self.clock.now_unix_seconds();
        self.db.prune_challenges(
            now.saturating_sub(ANSWERED_RETENTION_SECS),
            MAX_REMEMBERED_NONCES,
        )?;
        // A push the messaging service says was sent before the challenge's lifetime is
        // too late to answer (an old notification tapped long after). The sent time is
        // not signed: it can only make a challenge expire sooner.
        let first_seen = match (source, wire.sent_at) {
            (ChallengeSource::Push, Some(sent)) if sent < now => sent,
            _ => now,
        };
        if let Some(existing) = self.db.challenge(&wire.nonce)? {
            if existing.state != "pending" {
                return Err(Error::AlreadyAnswered);
            }
            if source == ChallengeSource::Poll {
                self.db.conn().execute(
                    "UPDATE challenges SET expires_at = MAX(expires_at, ?2) WHERE nonce = ?1",
                    params![wire.nonce, now.saturating_add(CHALLENGE_LIFETIME_SECS)],
                )?;
            } else if existing.expires_at < now {
                return Err(Error::ChallengeExpired);
            }
        } else {
            if first_seen.saturating_add(CHALLENGE_LIFETIME_SECS) < now {
                return Err(Error::ChallengeExpired);
            }
            let row = ChallengeRow {
                nonce: wire.nonce.clone(),
                account_id: info.account.id.clone(),
                title: wire.title.clone(),
                question: wire.question.clone(),
                presence_options: wire.presence_options(),
                decline_reasons: wire.decline_reasons(),
                url: wire.url.clone(),
                sslverify: wire.sslverify.clone(),
                source: source.as_str().into(),
                received_at: now,
                expires_at: first_seen.saturating_add(CHALLENGE_LIFETIME_SECS),
                state: "pending".into(),
            };
            self.db.insert_challenge(&row)?;
            log::info!(
                "challenge {} for {} verified and stored (via {})",
                wire.nonce,
                wire.serial,
                source.as_str()
            );
        }
        self.challenge_record(&wire.nonce)
    }

    fn challenge_record(&self, nonce: &str) -> Result<Challenge> {
        let row = self
            .db
            .challenge(nonce)?
            .ok_or_else(|| Error::NotFound(format!("challenge {nonce}")))?;
        let account = self.db.account(&row.account_id)?;
        let token = self
            .db
            .push_token(&account.id)?
            .ok_or_else(|| Error::Storage("push token row missing".into()))?;
        let has_pin = self.has_pin()?;
        Ok(Challenge {
            serial: account.serial.clone().unwrap_or_default(),
            tls_verify: token.sslverify,
            requires_unlock: has_pin,
            source: ChallengeSource::parse(&row.source),
            row,
        })
    }

    /// A push message (FCM data / APNs userInfo) handed over unchanged.
    pub fn receive_push(&mut self, data: &HashMap<String, String>) -> Result<Challenge> {
        let wire = WireChallenge::from_map(data)?;
        self.ingest_challenge(&wire, ChallengeSource::Push)
    }

    /// Pending, unexpired challenges (readable while locked).
    pub fn pending_challenges(&mut self) -> Result<Vec<Challenge>> {
        self.require_not_wiped()?;
        let now = self.clock.now_unix_seconds();
        let mut out = Vec::new();
        for row in self.db.challenges("pending")? {
            if row.expires_at >= now {
                out.push(self.challenge_record(&row.nonce)?);
            }
        }
        Ok(out)
    }

    fn phone_key(&self, vk: &Key256, account: &AccountRow) -> Result<Zeroizing<Vec<u8>>> {
        self.secret_of(vk, account)
    }

    fn push_accounts(&self) -> Result<Vec<AccountRow>> {
        Ok(self
            .db
            .accounts()?
            .into_iter()
            .filter(|a| a.kind == AccountKind::Push)
            .collect())
    }

    /// One timestamped request for account `a`, signed with its phone key: `message` is
    /// the string to sign, `fields` come before `serial`, `timestamp` and `signature`.
    fn timestamped_request(
        &self,
        vk: &Key256,
        a: AccountRow,
        ts: &str,
        fields: &[(&str, &str)],
        message: &str,
    ) -> Result<SignedRequest> {
        let serial = a.serial.clone().unwrap_or_default();
        let key = self.phone_key(vk, &a)?;
        let sig = protocol::sign(&key, message)?;
        let info = self.push_token_info(a)?;
        let mut all: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        all.push(("serial".into(), serial.clone()));
        all.push(("timestamp".into(), ts.to_string()));
        all.push(("signature".into(), sig));
        Ok(SignedRequest {
            account_id: info.account.id.clone(),
            serial,
            url: info.url,
            verify_tls: info.sslverify,
            fields: all,
        })
    }

    /// Signed poll requests (`{serial}|{timestamp}`), one per push token. Needs the
    /// vault unlocked (the phone keys are vault secrets).
    pub fn prepare_polls(&mut self) -> Result<Vec<SignedRequest>> {
        let vk = self.require_unlocked()?;
        let ts = protocol::timestamp(self.clock.now_unix_seconds());
        let mut out = Vec::new();
        for a in self.push_accounts()? {
            let message = format!("{}|{ts}", a.serial.as_deref().unwrap_or_default());
            out.push(self.timestamped_request(&vk, a, &ts, &[], &message)?);
        }
        Ok(out)
    }

    /// Stores the challenges of one poll answer; returns them (bad entries are skipped
    /// and counted in the error list).
    pub fn ingest_poll(
        &mut self,
        status: u16,
        body: &str,
    ) -> Result<(Vec<Challenge>, Vec<String>)> {
        let list = protocol::poll_entries(status, body)?;
        let mut got = Vec::new();
        let mut problems = Vec::new();
        for entry in &list {
            match WireChallenge::from_json(entry)
                .and_then(|w| self.ingest_challenge(&w, ChallengeSource::Poll))
            {
                Ok(c) => got.push(c),
                Err(Error::AlreadyAnswered) => {}
                Err(e) => problems.push(e.to_string()),
            }
        }
        Ok((got, problems))
    }

    /// Checks a challenge can be answered and signs the answer.
    pub fn prepare_answer(&mut self, nonce: &str, answer: &Answer) -> Result<SignedRequest> {
        let vk = self.require_unlocked()?;
        let row = self
            .db
            .challenge(nonce)?
            .ok_or_else(|| Error::NotFound(format!("challenge {nonce}")))?;
        if row.state != "pending" {
            return Err(Error::AlreadyAnswered);
        }
        if row.expires_at < self.clock.now_unix_seconds() {
            return Err(Error::ChallengeExpired);
        }
        if self.answers_in_flight.contains(nonce) {
            return Err(Error::AnswerInProgress);
        }
        let account = self.db.account(&row.account_id)?;
        let serial = account.serial.clone().unwrap_or_default();
        let key = self.phone_key(&vk, &account)?;
        let info = self.push_token_info(account)?;
        let mut fields = vec![
            ("serial".to_string(), serial.clone()),
            ("nonce".to_string(), nonce.to_string()),
        ];
        let message = match answer {
            Answer::Approve { presence } => {
                match (presence, row.presence_options.is_empty()) {
                    (None, false) => {
                        return Err(Error::InvalidArgument(
                            "this challenge needs the option shown on the login screen".into(),
                        ))
                    }
                    (Some(_), true) => {
                        return Err(Error::InvalidArgument(
                            "this challenge has no options to choose from".into(),
                        ))
                    }
                    (Some(p), false) if !row.presence_options.contains(p) => {
                        return Err(Error::InvalidArgument(format!(
                            "'{p}' is not one of the offered options"
                        )))
                    }
                    _ => {}
                }
                if let Some(p) = presence {
                    fields.push(("presence_answer".into(), p.clone()));
                }
                protocol::approve_message(nonce, &serial, presence.as_deref())
            }
            Answer::Decline { reason } => {
                if let Some(r) = reason {
                    if !row.decline_reasons.contains(r) {
                        return Err(Error::InvalidArgument(format!(
                            "the server does not offer the decline reason '{r}'"
                        )));
                    }
                }
                fields.push(("decline".into(), "1".into()));
                if let Some(r) = reason {
                    fields.push(("decline_reason".into(), r.clone()));
                }
                protocol::decline_message(nonce, &serial, reason.as_deref())
            }
        };
        fields.push(("signature".into(), protocol::sign(&key, &message)?));
        // Claimed last, once nothing can fail any more: released by `release_answer`.
        self.answers_in_flight.insert(nonce.to_string());
        Ok(SignedRequest {
            account_id: info.account.id.clone(),
            serial,
            url: info.url,
            verify_tls: info.sslverify,
            fields,
        })
    }

    /// Releases the claim `prepare_answer` took (after the verdict, or a network failure
    /// that leaves the challenge pending for a retry).
    pub fn release_answer(&mut self, nonce: &str) {
        self.answers_in_flight.remove(nonce);
    }

    /// Records the server's verdict. A refused answer (e.g. a wrong number) also closes
    /// the challenge locally, so options cannot be tried one after another.
    pub fn finish_answer(
        &mut self,
        nonce: &str,
        answer: &Answer,
        status: u16,
        body: &str,
    ) -> Result<AnswerOutcome> {
        let outcome = answer_outcome(status, body)?;
        let state = match (outcome.accepted, answer) {
            (true, Answer::Approve { .. }) => "approved",
            (true, Answer::Decline { .. }) => "declined",
            (false, _) => "refused",
        };
        let now = self.clock.now_unix_seconds();
        self.db.mark_challenge(nonce, state, now)?;
        log::info!("answer to challenge {nonce}: {state}");
        Ok(outcome)
    }

    /// Stores the FCM/APNs token used for new enrollments.
    pub fn set_push_service_token(&mut self, token: &str) -> Result<()> {
        self.require_not_wiped()?;
        self.db.conn().execute(
            "UPDATE vault_state SET push_service_token = ?1 WHERE id = 1",
            [token],
        )?;
        Ok(())
    }

    /// Rotation: stores the new token and queues, in the same transaction, an update of
    /// it for every push token's server (poll-only tokens too: the server accepts it,
    /// and the token may start receiving pushes later). The queue lives in the vault,
    /// so a rotation that arrives while the vault is locked, or that a server misses,
    /// is delivered by a later [`Engine::prepare_queued_token_updates`].
    pub fn queue_token_updates(&mut self, token: &str) -> Result<Vec<PendingTokenUpdate>> {
        self.require_not_wiped()?;
        if token.trim().is_empty() {
            return Err(Error::InvalidArgument(
                "the push service token is empty".into(),
            ));
        }
        let now = self.clock.now_unix_seconds();
        let tx = self
            .db
            .conn()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE vault_state SET push_service_token = ?1 WHERE id = 1",
            [token],
        )?;
        // A newer token replaces whatever was still queued: only the latest counts.
        tx.execute("DELETE FROM push_token_updates", [])?;
        tx.execute(
            "INSERT INTO push_token_updates (account_id, token, queued_at)
             SELECT id, ?1, ?2 FROM accounts WHERE kind = 'push'",
            params![token, now],
        )?;
        tx.commit()?;
        self.pending_token_updates()
    }

    /// The queued token updates, oldest account first (readable while locked).
    pub fn pending_token_updates(&self) -> Result<Vec<PendingTokenUpdate>> {
        self.require_not_wiped()?;
        let mut stmt = self.db.conn_ref().prepare(
            "SELECT u.account_id, COALESCE(a.serial, ''), u.attempts, u.last_error, u.last_attempt_at
             FROM push_token_updates u JOIN accounts a ON a.id = u.account_id
             ORDER BY a.sort_order, a.created_at, a.id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(PendingTokenUpdate {
                account_id: r.get(0)?,
                serial: r.get(1)?,
                attempts: r.get(2)?,
                last_error: r.get(3)?,
                last_attempt_at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Signs one update request (`{token}|{serial}|{timestamp}`, field `new_fb_token`)
    /// per queued update. Needs the vault unlocked (the phone keys are vault secrets).
    pub fn prepare_queued_token_updates(&mut self) -> Result<Vec<QueuedTokenUpdate>> {
        let vk = self.require_unlocked()?;
        let queued: Vec<(String, String)> = {
            let mut stmt = self.db.conn_ref().prepare(
                "SELECT u.account_id, u.token FROM push_token_updates u
                 JOIN accounts a ON a.id = u.account_id
                 ORDER BY a.sort_order, a.created_at, a.id",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        };
        let ts = protocol::timestamp(self.clock.now_unix_seconds());
        let mut out = Vec::new();
        for (account_id, token) in queued {
            let a = self.db.account(&account_id)?;
            let message = format!("{token}|{}|{ts}", a.serial.as_deref().unwrap_or_default());
            let request =
                self.timestamped_request(&vk, a, &ts, &[("new_fb_token", &token)], &message)?;
            out.push(QueuedTokenUpdate { token, request });
        }
        Ok(out)
    }

    /// Records a server's answer to a queued update: a success leaves the queue (unless
    /// a newer token was queued meanwhile), a failure stays queued with its reason.
    pub fn finish_token_update(
        &mut self,
        account_id: &str,
        token: &str,
        outcome: std::result::Result<(), String>,
    ) -> Result<()> {
        let now = self.clock.now_unix_seconds();
        match &outcome {
            Ok(()) => log::info!("push token update for account {account_id} delivered"),
            Err(reason) => {
                log::warn!("push token update for account {account_id} failed: {reason}")
            }
        }
        match outcome {
            Ok(()) => self.db.conn().execute(
                "DELETE FROM push_token_updates WHERE account_id = ?1 AND token = ?2",
                params![account_id, token],
            )?,
            Err(reason) => self.db.conn().execute(
                "UPDATE push_token_updates SET attempts = attempts + 1, last_error = ?3,
                     last_attempt_at = ?4
                 WHERE account_id = ?1 AND token = ?2",
                params![account_id, token, reason, now],
            )?,
        };
        Ok(())
    }
}

/// A push token rotation still to deliver to one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingTokenUpdate {
    pub account_id: String,
    pub serial: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<i64>,
}

/// A queued update, signed and ready to send.
#[derive(Debug, Clone)]
pub struct QueuedTokenUpdate {
    /// The token it delivers (to match the answer to the queue row).
    pub token: String,
    /// The signed request.
    pub request: SignedRequest,
}

/// Reads privacyIDEA's answer to an approve or decline: `result.value` true is
/// accepted; `detail.display_code` and `detail.message` come with code-to-phone.
pub fn answer_outcome(status: u16, body: &str) -> Result<AnswerOutcome> {
    let v = protocol::parse_answer(status, body)?;
    let text = |p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_string);
    Ok(AnswerOutcome {
        accepted: v.pointer("/result/value").and_then(Value::as_bool) == Some(true),
        display_code: text("/detail/display_code"),
        message: text("/detail/message"),
    })
}

/// Reads privacyIDEA's answer to a token update: `result.value` true is success.
pub fn token_update_verdict(status: u16, body: &str) -> Result<()> {
    let v = protocol::parse_answer(status, body)?;
    if v.pointer("/result/value").and_then(Value::as_bool) == Some(true) {
        Ok(())
    } else {
        Err(Error::Server {
            status,
            message: "the server refused the update".into(),
        })
    }
}

/// Inserts the push token row of a freshly enrolled push account, inside `tx`.
pub(crate) fn insert_push_token(
    tx: &rusqlite::Transaction<'_>,
    account_id: &str,
    url: &str,
    sslverify: bool,
    poll_only: bool,
    sealed_server_key: &[u8],
    now: i64,
) -> Result<()> {
    tx.execute(
        "INSERT INTO push_tokens (account_id, url, sslverify, poll_only, server_public_key, enrolled_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![account_id, url, sslverify, poll_only, sealed_server_key, now],
    )?;
    Ok(())
}
