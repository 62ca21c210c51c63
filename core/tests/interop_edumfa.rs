//! Interop against a real eduMFA 2.9 (a privacyIDEA fork, started by tests/edumfa/start.sh),
//! through the core's own API, for both of eduMFA's push token types: `push` (legacy,
//! `otpauth://pipush/...` links, phone endpoint `/ttype/push`) and `edupush`
//! (`edumfa-push://...` links, `/ttype/edupush`): enrollment with key exchange,
//! polling, approve, decline.
//!
//! Skips loudly when no eduMFA answers, unless EDUMFA_REQUIRED=1 (CI sets it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod support;

use authenticator_core::{
    AccountKind, Authenticator, AuthenticatorError, OpenOptions, PushChallenge,
};
use common::*;
use support::privacyidea::{exclusive, PiServer, TxStatus};

/// eduMFA's push token types, with the link scheme and phone endpoint each one uses.
const TYPES: [(&str, &str, &str); 2] = [
    ("push", "otpauth://pipush/", "/ttype/push"),
    ("edupush", "edumfa-push://", "/ttype/edupush"),
];

struct Env {
    server: PiServer,
    _f: Fixture,
    a: std::sync::Arc<Authenticator>,
}

fn env(user: &str) -> Option<Env> {
    let server = PiServer::edumfa_from_env()?;
    server.delete_tokens_of(user);
    let f = Fixture::new();
    // Real wall clock (the server checks poll timestamps) and the real HTTP transport.
    let a = Authenticator::open_with(
        &f.path,
        f.keystore.clone(),
        OpenOptions {
            kdf: fast_kdf(),
            phone_key_bits: 2048,
            ..OpenOptions::default()
        },
    )
    .unwrap();
    Some(Env { server, _f: f, a })
}

/// Enrolls a `ttype` token for `user` through the core; returns the serial.
fn enroll(e: &Env, ttype: &str, scheme: &str, endpoint: &str, user: &str, pin: &str) -> String {
    let (serial, link) = e.server.init_push_type(ttype, user, pin, &[]);
    assert!(link.starts_with(scheme), "{ttype}: {link}");
    assert!(
        link.contains(&urlencoded(&format!("{}{endpoint}", e.server.base_url()))),
        "{ttype}: the link points at {endpoint}: {link}"
    );
    let r = e.a.add(link).unwrap();
    assert_eq!(r.accounts.len(), 1, "{ttype}");
    let acc = &r.accounts[0];
    assert_eq!(acc.kind, AccountKind::Push, "{ttype}");
    assert_eq!(acc.serial.as_deref(), Some(serial.as_str()), "{ttype}");
    assert!(
        !acc.tls_verify,
        "{ttype}: start.sh enrolls with sslverify=0"
    );
    assert_eq!(acc.issuer, "eduMFA-local", "{ttype}");
    let token = e.server.token(&serial);
    assert_eq!(token["rollout_state"], "enrolled", "{ttype}: {token}");
    assert_eq!(token["tokentype"], ttype, "{ttype}: {token}");
    serial
}

/// A URL as eduMFA writes it into links (Python's `quote()`: `:` becomes `%3A`, `/` stays),
/// e.g. `http%3A//127.0.0.1%3A5081/ttype/push`.
fn urlencoded(url: &str) -> String {
    url.replace(':', "%3A")
}

/// Starts a login and polls it onto the phone: exactly one challenge, for `serial`.
fn login_reaches_the_phone(e: &Env, ttype: &str, serial: &str) -> (String, PushChallenge) {
    let tid = e.server.trigger_login("alice", "1234");
    let mut challenges = e.a.poll_challenges().unwrap();
    assert_eq!(challenges.len(), 1, "{ttype}: {challenges:?}");
    let c = challenges.remove(0);
    assert_eq!(c.serial, serial, "{ttype}");
    // The policy's text as signed by the server. Unlike privacyIDEA 3.14, eduMFA 2.9
    // fills no tags into it: the phone sees `Login for {user} from {client_ip}?`.
    assert!(
        c.question.starts_with("Login for"),
        "{ttype}: {}",
        c.question
    );
    assert_eq!(c.title, "eduMFA-local", "{ttype}");
    assert!(!c.tls_verify, "{ttype}");
    // eduMFA signs no presence options and advertises no capabilities (no decline reasons).
    assert!(c.presence_options.is_empty(), "{ttype}");
    assert!(c.decline_reasons.is_empty(), "{ttype}");
    assert_eq!(
        e.server.transaction_status(&tid),
        TxStatus::Pending,
        "{ttype}"
    );
    (tid, c)
}

#[test]
fn push_and_edupush_enroll_poll_approve_and_login_finalizes() {
    let _g = exclusive();
    for (ttype, scheme, endpoint) in TYPES {
        let Some(e) = env("alice") else { return };
        let serial = enroll(&e, ttype, scheme, endpoint, "alice", "1234");
        let (tid, c) = login_reaches_the_phone(&e, ttype, &serial);
        let r = e.a.approve(c.id.clone(), None).unwrap();
        assert!(r.accepted, "{ttype}: {r:?}");
        assert_eq!(r.display_code, None, "{ttype}");
        assert_eq!(
            e.server.transaction_status(&tid),
            TxStatus::Accepted,
            "{ttype}"
        );
        assert!(e.server.poll_transaction(&tid), "{ttype}");
        assert!(e.server.finalize("alice", &tid), "{ttype}");
        assert!(
            matches!(
                e.a.approve(c.id.clone(), None),
                Err(AuthenticatorError::AlreadyAnswered)
            ),
            "{ttype}"
        );
        assert!(e.a.pending_challenges().unwrap().is_empty(), "{ttype}");
        assert!(e.a.poll_challenges().unwrap().is_empty(), "{ttype}");
        e.server.delete_tokens_of("alice");
    }
}

#[test]
fn push_and_edupush_decline_rejects_the_login() {
    let _g = exclusive();
    for (ttype, scheme, endpoint) in TYPES {
        let Some(e) = env("alice") else { return };
        let serial = enroll(&e, ttype, scheme, endpoint, "alice", "1234");
        let (tid, c) = login_reaches_the_phone(&e, ttype, &serial);
        // No reasons on offer: a reason is refused locally, nothing is sent.
        assert!(
            matches!(
                e.a.decline(c.id.clone(), Some("cancelled".into())),
                Err(AuthenticatorError::InvalidArgument { .. })
            ),
            "{ttype}"
        );
        let r = e.a.decline(c.id.clone(), None).unwrap();
        assert!(r.accepted, "{ttype}: {r:?}");
        assert_eq!(
            e.server.transaction_status(&tid),
            TxStatus::Declined,
            "{ttype}"
        );
        assert!(!e.server.poll_transaction(&tid), "{ttype}");
        assert!(!e.server.finalize("alice", &tid), "{ttype}");
        // A declined challenge is no longer offered to the phone.
        assert!(e.a.poll_challenges().unwrap().is_empty(), "{ttype}");
        e.server.delete_tokens_of("alice");
    }
}

#[test]
fn both_token_types_of_one_user_get_their_own_challenge() {
    let _g = exclusive();
    let Some(e) = env("alice") else { return };
    let mut serials = Vec::new();
    for (ttype, scheme, endpoint) in TYPES {
        serials.push(enroll(&e, ttype, scheme, endpoint, "alice", "1234"));
    }
    // One /validate/check, one challenge per token, one transaction.
    let tid = e.server.trigger_login("alice", "1234");
    let cs = e.a.poll_challenges().unwrap();
    assert_eq!(cs.len(), 2, "{cs:?}");
    let mut got: Vec<_> = cs.iter().map(|c| c.serial.clone()).collect();
    got.sort();
    serials.sort();
    assert_eq!(got, serials);
    // Approving the edupush one accepts the login.
    let edu = cs.iter().find(|c| c.serial.starts_with("EDUP")).unwrap();
    assert!(e.a.approve(edu.id.clone(), None).unwrap().accepted);
    assert_eq!(e.server.transaction_status(&tid), TxStatus::Accepted);
    e.server.delete_tokens_of("alice");
}
