//! Push: receiving, polling and answering privacyIDEA challenges, what a notification
//! may offer, and the push service token's rotation.

use super::{guard, Authenticator};
use crate::error::AuthenticatorError;
use crate::push::{Answer, Challenge, ChallengeSource};
use std::collections::HashMap;

pub use crate::push::actions::{NotificationAction, PushActionKind};

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
    pub display_code: Option<crate::redact::OtpCode>,
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
    /// The update is still queued in the vault and will be sent again by
    /// `retry_push_token_updates` (after a failure, or because the vault is locked).
    pub pending: bool,
}

/// A push token rotation that a server has not taken yet (kept in the vault).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PendingTokenUpdate {
    /// The push account.
    pub account_id: String,
    /// Its serial.
    pub serial: String,
    /// Failed deliveries so far.
    pub attempts: u32,
    /// Why the last delivery failed.
    pub last_error: Option<String>,
    /// Unix second of the last delivery.
    pub last_attempt_at: Option<i64>,
}

impl From<crate::push::PendingTokenUpdate> for PendingTokenUpdate {
    fn from(p: crate::push::PendingTokenUpdate) -> Self {
        Self {
            account_id: p.account_id,
            serial: p.serial,
            attempts: p.attempts,
            last_error: p.last_error,
            last_attempt_at: p.last_attempt_at,
        }
    }
}

/// The actions a notification for `challenge` may offer, in display order, given room
/// for `max_actions` buttons (Android: 3) and whether the vault is locked now. Every
/// approval needs the phone unlocked (`requires_unlocked_device`); Decline may run from
/// the lock screen; number-matching options are offered only when all of them and
/// Decline fit, never cut; with the vault locked behind the app PIN every action opens
/// the app (`opens_app`).
#[uniffi::export]
pub fn notification_actions(
    challenge: PushChallenge,
    max_actions: u32,
    vault_locked: bool,
) -> Vec<NotificationAction> {
    crate::push::actions::actions_for(
        &challenge.presence_options,
        challenge.requires_unlock,
        vault_locked,
        max_actions,
    )
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

impl Authenticator {
    fn answer(
        &self,
        challenge_id: &str,
        answer: Answer,
    ) -> Result<PushAnswerResult, AuthenticatorError> {
        // Claims the challenge under the engine lock: a second answer meanwhile gets
        // `AnswerInProgress` instead of being signed and sent too.
        let request = self.call(|e| e.prepare_answer(challenge_id, &answer))?;
        // The network call runs without the engine lock. A network failure leaves the
        // challenge pending so the user can retry.
        let outcome = guard(|| request.post(self.transport.as_ref())).and_then(|response| {
            self.call(|e| {
                let out =
                    e.finish_answer(challenge_id, &answer, response.status, &response.body)?;
                Ok(PushAnswerResult {
                    accepted: out.accepted,
                    display_code: out.display_code.map(crate::redact::OtpCode::new),
                    message: out.message,
                })
            })
        });
        let _ = self.call(|e| {
            e.release_answer(challenge_id);
            Ok(())
        });
        outcome
    }
}

#[uniffi::export]
impl Authenticator {
    /// Stores the FCM/APNs token used by later push enrollments (no server update).
    pub fn set_push_service_token(&self, token: String) -> Result<(), AuthenticatorError> {
        self.call(|e| e.set_push_service_token(&token))
    }

    /// Rotation: stores the new FCM/APNs token and queues, in the vault, an update of it
    /// for every push token's server; when the vault is unlocked it sends them at once.
    /// Works while locked: then nothing is sent and every result is `pending`. Failed
    /// updates stay queued for `retry_push_token_updates`. One result per push token.
    pub fn update_push_service_token(
        &self,
        token: String,
    ) -> Result<Vec<TokenUpdateResult>, AuthenticatorError> {
        let queued = self.call(|e| e.queue_token_updates(&token))?;
        match self.retry_push_token_updates() {
            Err(AuthenticatorError::Locked) => Ok(queued
                .into_iter()
                .map(|p| TokenUpdateResult {
                    account_id: p.account_id,
                    serial: p.serial,
                    ok: false,
                    error: None,
                    pending: true,
                })
                .collect()),
            other => other,
        }
    }

    /// Sends every queued push token update (network: call off the main thread), after
    /// each unlock and at app start. Successes leave the queue; failures stay queued
    /// with their reason. Answers `Locked` while the vault is locked (updates are signed
    /// with the phone keys).
    pub fn retry_push_token_updates(&self) -> Result<Vec<TokenUpdateResult>, AuthenticatorError> {
        let updates = self.call(|e| e.prepare_queued_token_updates())?;
        let mut out = Vec::with_capacity(updates.len());
        for u in updates {
            // The network call runs without the engine lock.
            let outcome = guard(|| {
                let resp = u.request.post(self.transport.as_ref())?;
                crate::push::token_update_verdict(resp.status, &resp.body)
            });
            let reason = outcome.as_ref().err().map(ToString::to_string);
            let account_id = u.request.account_id.clone();
            self.call(|e| {
                e.finish_token_update(&account_id, &u.token, reason.clone().map_or(Ok(()), Err))
            })?;
            out.push(TokenUpdateResult {
                account_id,
                serial: u.request.serial,
                ok: reason.is_none(),
                pending: reason.is_some(),
                error: reason,
            });
        }
        Ok(out)
    }

    /// Push token updates that a server has not taken yet (readable while locked): for
    /// settings ("N servers still need the new push token") and the CLI's `status`.
    pub fn pending_push_token_updates(
        &self,
    ) -> Result<Vec<PendingTokenUpdate>, AuthenticatorError> {
        self.call(|e| {
            Ok(e.pending_token_updates()?
                .into_iter()
                .map(PendingTokenUpdate::from)
                .collect())
        })
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
