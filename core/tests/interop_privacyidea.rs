//! Interop against a real privacyIDEA 3.14 (started by tests/privacyidea/start.sh),
//! through the core's own API: push enrollment with key exchange, polling, approve,
//! decline (with reason), number matching, code-to-phone, two open challenges, a
//! tampered challenge, token rotation, PIN-required tokens, and HOTP/TOTP codes accepted
//! by /validate/check with replays refused.
//!
//! Skips loudly when no server answers, unless PI_REQUIRED=1 (CI sets it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod support;

use authenticator_core::{
    AccountKind, Authenticator, AuthenticatorError, HttpResponse, HttpTransport, OpenOptions,
    Transport, TransportError,
};
use common::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use support::privacyidea::{exclusive, PiServer, TxStatus};

/// The real HTTP transport, remembering the bodies of GET answers (poll lists), so a
/// test can replay or tamper with a real server-signed challenge.
struct RecordingTransport {
    inner: HttpTransport,
    gets: Mutex<Vec<String>>,
}

impl Transport for RecordingTransport {
    fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        verify_tls: bool,
    ) -> Result<HttpResponse, TransportError> {
        self.inner.post_form(url, form, verify_tls)
    }
    fn get(
        &self,
        url: &str,
        query: &[(&str, &str)],
        verify_tls: bool,
    ) -> Result<HttpResponse, TransportError> {
        let r = self.inner.get(url, query, verify_tls)?;
        self.gets.lock().unwrap().push(r.body.clone());
        Ok(r)
    }
}

struct Env {
    pi: PiServer,
    f: Fixture,
    a: Arc<Authenticator>,
    recorder: Arc<RecordingTransport>,
}

fn env(user: &str) -> Option<Env> {
    let pi = PiServer::from_env()?;
    pi.delete_tokens_of(user);
    let f = Fixture::new();
    // Real wall clock: the server checks poll timestamps within 60 s.
    let recorder = Arc::new(RecordingTransport {
        inner: HttpTransport::new().unwrap(),
        gets: Mutex::new(Vec::new()),
    });
    let a = Authenticator::open_with(
        &f.path,
        f.keystore.clone(),
        OpenOptions {
            kdf: fast_kdf(),
            phone_key_bits: 2048,
            transport: Some(recorder.clone()),
            ..OpenOptions::default()
        },
    )
    .unwrap();
    Some(Env { pi, f, a, recorder })
}

fn enroll(e: &Env, user: &str, pin: &str) -> (String, String) {
    let (serial, link) = e.pi.init_push(user, pin);
    let r = e.a.add(link).unwrap();
    assert_eq!(r.accounts.len(), 1);
    let acc = &r.accounts[0];
    assert_eq!(acc.kind, AccountKind::Push);
    assert_eq!(acc.serial.as_deref(), Some(serial.as_str()));
    assert!(!acc.tls_verify, "start.sh enrolls with sslverify=0");
    assert_eq!(
        e.pi.token_info(&serial, "rollout_state")
            .as_deref()
            .unwrap_or("enrolled"),
        "enrolled"
    );
    (serial, acc.id.clone())
}

#[test]
fn push_enroll_poll_approve_and_login_finalizes() {
    let _g = exclusive();
    let Some(e) = env("alice") else { return };
    let (serial, _) = enroll(&e, "alice", "1234");
    assert_eq!(e.pi.token(&serial)["rollout_state"], "enrolled");
    let tid = e.pi.trigger_login("alice", "1234");
    let challenges = e.a.poll_challenges().unwrap();
    assert_eq!(challenges.len(), 1);
    let c = &challenges[0];
    assert_eq!(c.serial, serial);
    assert!(c.question.contains("Login for"), "{}", c.question);
    assert_eq!(c.title, "privacyIDEA-local");
    assert!(c.presence_options.is_empty());
    assert!(!c.tls_verify);
    let r = e.a.approve(c.id.clone(), None).unwrap();
    assert!(r.accepted);
    assert_eq!(r.display_code, None);
    assert_eq!(e.pi.transaction_status(&tid), TxStatus::Accepted);
    assert!(e.pi.finalize("alice", &tid));
    // A second answer is refused locally.
    assert!(matches!(
        e.a.approve(c.id.clone(), None),
        Err(AuthenticatorError::AlreadyAnswered)
    ));
    assert!(e.a.pending_challenges().unwrap().is_empty());
    // Polling again returns nothing pending.
    assert!(e.a.poll_challenges().unwrap().is_empty());
}

#[test]
fn default_rsa_4096_phone_key_works_with_the_server() {
    let _g = exclusive();
    let Some(pi) = PiServer::from_env() else {
        return;
    };
    pi.delete_tokens_of("bob");
    let f = Fixture::new();
    let a = Authenticator::open_with(
        &f.path,
        f.keystore.clone(),
        OpenOptions {
            kdf: fast_kdf(),
            ..OpenOptions::default()
        },
    )
    .unwrap();
    let (serial, link) = pi.init_push("bob", "55");
    a.add(link).unwrap();
    let tid = pi.trigger_login("bob", "55");
    let c = a.poll_challenges().unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].serial, serial);
    let r = a.decline(c[0].id.clone(), None).unwrap();
    assert!(r.accepted);
    assert_eq!(pi.transaction_status(&tid), TxStatus::Declined);
    pi.delete_tokens_of("bob");
}

#[test]
fn decline_with_and_without_reason() {
    let _g = exclusive();
    let Some(e) = env("alice") else { return };
    enroll(&e, "alice", "1234");
    let tid = e.pi.trigger_login("alice", "1234");
    let c = e.a.poll_challenges().unwrap().remove(0);
    assert_eq!(c.decline_reasons, vec!["unknown_trigger", "cancelled"]);
    assert!(matches!(
        e.a.decline(c.id.clone(), Some("because".into())),
        Err(AuthenticatorError::InvalidArgument { .. })
    ));
    assert!(
        e.a.decline(c.id.clone(), Some("cancelled".into()))
            .unwrap()
            .accepted
    );
    assert_eq!(e.pi.transaction_status(&tid), TxStatus::Cancelled);
    assert!(!e.pi.finalize("alice", &tid));

    let tid = e.pi.trigger_login("alice", "1234");
    let c = e.a.poll_challenges().unwrap().remove(0);
    assert!(e.a.decline(c.id.clone(), None).unwrap().accepted);
    assert_eq!(e.pi.transaction_status(&tid), TxStatus::Declined);
}

#[test]
fn two_open_challenges_are_answered_separately() {
    let _g = exclusive();
    let Some(e) = env("alice") else { return };
    enroll(&e, "alice", "1234");
    let t1 = e.pi.trigger_login("alice", "1234");
    let t2 = e.pi.trigger_login("alice", "1234");
    let cs = e.a.poll_challenges().unwrap();
    assert_eq!(cs.len(), 2);
    assert_ne!(cs[0].id, cs[1].id);
    // Both are listed; approve the first received, decline the other.
    assert!(e.a.approve(cs[0].id.clone(), None).unwrap().accepted);
    assert!(
        e.a.decline(cs[1].id.clone(), Some("unknown_trigger".into()))
            .unwrap()
            .accepted
    );
    let statuses = [e.pi.transaction_status(&t1), e.pi.transaction_status(&t2)];
    assert!(statuses.contains(&TxStatus::Accepted), "{statuses:?}");
    assert!(statuses.contains(&TxStatus::Declined), "{statuses:?}");
}

#[test]
fn presence_check_right_and_wrong_answer() {
    let _g = exclusive();
    let Some(e) = env("alice") else { return };
    enroll(&e, "alice", "1234");
    let _p =
        e.pi.policy("test-presence", "authentication", "push_require_presence");
    // Wrong answer: refused by the server, and closed locally (no guessing in turn).
    let login = e.pi.start_login("alice", "1234");
    let right = login
        .presence_answer
        .clone()
        .expect("presence answer in the login");
    let c = e.a.poll_challenges().unwrap().remove(0);
    assert_eq!(c.presence_options.len(), 3, "{:?}", c.presence_options);
    assert!(c.presence_options.contains(&right));
    assert!(matches!(
        e.a.approve(c.id.clone(), None),
        Err(AuthenticatorError::InvalidArgument { .. })
    ));
    let wrong = c
        .presence_options
        .iter()
        .find(|o| **o != right)
        .unwrap()
        .clone();
    let r = e.a.approve(c.id.clone(), Some(wrong)).unwrap();
    assert!(!r.accepted);
    assert!(matches!(
        e.a.approve(c.id.clone(), Some(right.clone())),
        Err(AuthenticatorError::AlreadyAnswered)
    ));
    assert_eq!(
        e.pi.transaction_status(&login.transaction_id),
        TxStatus::Pending
    );

    // Right answer: accepted.
    let login = e.pi.start_login("alice", "1234");
    let right = login.presence_answer.clone().unwrap();
    let cs = e.a.poll_challenges().unwrap();
    let c = cs
        .iter()
        .find(|c| c.presence_options.contains(&right))
        .unwrap()
        .clone();
    let r = e.a.approve(c.id.clone(), Some(right)).unwrap();
    assert!(r.accepted);
    assert_eq!(
        e.pi.transaction_status(&login.transaction_id),
        TxStatus::Accepted
    );
}

#[test]
fn code_to_phone_shows_the_display_code() {
    let _g = exclusive();
    let Some(e) = env("alice") else { return };
    enroll(&e, "alice", "1234");
    let _p =
        e.pi.policy("test-code-to-phone", "authentication", "push_code_to_phone");
    let tid = e.pi.trigger_login("alice", "1234");
    let c = e.a.poll_challenges().unwrap().remove(0);
    let r = e.a.approve(c.id, None).unwrap();
    assert!(r.accepted);
    let code = r.display_code.expect("display code");
    assert_eq!(code.expose().len(), 2);
    assert!(r.message.is_some());
    assert!(!e.pi.finalize_with("alice", &tid, "xx"));
    assert!(e.pi.finalize_with("alice", &tid, code.expose()));
}

#[test]
fn tampered_or_replayed_challenges_are_refused_and_nothing_is_stored() {
    let _g = exclusive();
    let Some(e) = env("alice") else { return };
    enroll(&e, "alice", "1234");
    e.pi.trigger_login("alice", "1234");
    let c = e.a.poll_challenges().unwrap().remove(0);
    // The server-signed challenge exactly as it came in the poll answer.
    let body = e.recorder.gets.lock().unwrap().last().cloned().unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let entry = v["result"]["value"][0].as_object().unwrap().clone();
    let map: HashMap<String, String> = entry
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string()),
            )
        })
        .collect();
    // Handed over as a push payload, it verifies (same pending challenge).
    let same = e.a.receive_push(map.clone()).unwrap();
    assert_eq!(same.id, c.id);
    for (field, value) in [
        ("question", "Login for Mallory?"),
        ("title", "evil"),
        ("url", "http://127.0.0.1:1/ttype/push"),
        ("sslverify", "1"),
        ("nonce", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    ] {
        let mut m = map.clone();
        m.insert(field.into(), value.into());
        assert!(
            matches!(e.a.receive_push(m), Err(AuthenticatorError::BadSignature)),
            "tampered {field} accepted"
        );
    }
    let mut m = map.clone();
    m.insert("capabilities".into(), "{\"decline_reason\": false}".into());
    assert!(matches!(
        e.a.receive_push(m),
        Err(AuthenticatorError::BadSignature)
    ));
    let mut m = map.clone();
    m.remove("signature");
    assert!(matches!(
        e.a.receive_push(m),
        Err(AuthenticatorError::InvalidPushMessage { .. })
    ));
    assert_eq!(e.a.pending_challenges().unwrap().len(), 1, "nothing stored");
    // After an answer, a replay of the same message is refused.
    assert!(e.a.approve(c.id.clone(), None).unwrap().accepted);
    assert!(matches!(
        e.a.receive_push(map),
        Err(AuthenticatorError::AlreadyAnswered)
    ));
}

#[test]
fn push_token_rotation_is_accepted_by_the_server() {
    let _g = exclusive();
    let Some(e) = env("alice") else { return };
    let (serial, id) = enroll(&e, "alice", "1234");
    let results =
        e.a.update_push_service_token("fcm-token-rotated-42".into())
            .unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].account_id, id);
    assert!(results[0].ok, "{:?}", results[0].error);
    let info = e.pi.token(&serial);
    assert!(
        info.to_string().contains("fcm-token-rotated-42"),
        "the server stored the new token: {info}"
    );
}

#[test]
fn failed_enrollment_step_two_stores_nothing() {
    let _g = exclusive();
    let Some(e) = env("alice") else { return };
    let (_, link) = e.pi.init_push("alice", "1234");
    let bad = regex_replace_credential(&link);
    match e.a.add(bad) {
        Err(AuthenticatorError::InvalidEnrollment { reason }) => {
            assert!(reason.contains("credential"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert!(e.a.list_accounts().unwrap().is_empty());
    // The real credential still works afterwards, once.
    e.a.add(link.clone()).unwrap();
    assert!(matches!(
        e.a.add(link),
        Err(AuthenticatorError::AlreadyEnrolled)
    ));
    // A server that is not there: a network error, nothing stored.
    let (_, link2) = e.pi.init_push("alice", "1234");
    let unreachable = link2
        .replace("127.0.0.1%3A5080", "127.0.0.1%3A9")
        .replace("127.0.0.1:5080", "127.0.0.1:9");
    assert!(matches!(
        e.a.add(unreachable),
        Err(AuthenticatorError::Network { .. })
    ));
    assert_eq!(e.a.list_accounts().unwrap().len(), 1);
}

fn regex_replace_credential(link: &str) -> String {
    let start = link.find("enrollment_credential=").unwrap() + "enrollment_credential=".len();
    let end = link[start..]
        .find('&')
        .map(|i| start + i)
        .unwrap_or(link.len());
    format!("{}{}{}", &link[..start], "0".repeat(40), &link[end..])
}

#[test]
fn pin_required_push_token_needs_an_unlocked_vault_to_answer() {
    let _g = exclusive();
    let Some(e) = env("alice") else { return };
    let _p =
        e.pi.policy("test-app-pin", "enrollment", "push_force_app_pin");
    let (_, link) = e.pi.init_push("alice", "1234");
    assert!(link.contains("pin=True"), "{link}");
    assert!(matches!(
        e.a.add(link.clone()),
        Err(AuthenticatorError::PinRequired)
    ));
    let r = e.a.add_with_pin(link, "4826".into()).unwrap();
    assert!(r.accounts[0].requires_pin);
    assert!(e.a.lock_state().unwrap().has_pin);
    let tid = e.pi.trigger_login("alice", "1234");
    let c = e.a.poll_challenges().unwrap().remove(0);
    assert!(c.requires_unlock);
    e.a.lock().unwrap();
    // Shown while locked (lock-screen notification), but not answerable.
    assert_eq!(e.a.pending_challenges().unwrap().len(), 1);
    assert!(matches!(
        e.a.approve(c.id.clone(), None),
        Err(AuthenticatorError::Locked)
    ));
    assert!(matches!(
        e.a.poll_challenges(),
        Err(AuthenticatorError::Locked)
    ));
    e.a.unlock("4826".into()).unwrap();
    assert!(e.a.approve(c.id, None).unwrap().accepted);
    assert_eq!(e.pi.transaction_status(&tid), TxStatus::Accepted);
    let _ = &e.f;
}

#[test]
fn hotp_and_totp_codes_are_accepted_once_by_the_server() {
    let _g = exclusive();
    let Some(e) = env("bob") else { return };
    for kind in ["hotp", "totp"] {
        let (_, link) = e.pi.init_otp(kind, "bob", "9876");
        let acc = e.a.add(link).unwrap().accounts.remove(0);
        let code = e.a.code(acc.id.clone()).unwrap().code.expose().to_string();
        let ok = e.pi.validate_check("bob", &format!("9876{code}"));
        assert_eq!(ok["result"]["authentication"], "ACCEPT", "{kind}: {ok}");
        let replay = e.pi.validate_check("bob", &format!("9876{code}"));
        assert_eq!(
            replay["result"]["authentication"], "REJECT",
            "{kind} replay: {replay}"
        );
        if kind == "hotp" {
            // The next HOTP code is new and accepted.
            let next = e.a.code(acc.id.clone()).unwrap().code.expose().to_string();
            assert_ne!(next, code);
            let ok = e.pi.validate_check("bob", &format!("9876{next}"));
            assert_eq!(ok["result"]["authentication"], "ACCEPT", "{ok}");
        }
        e.pi.delete_tokens_of("bob");
    }
}

#[test]
fn a_day_password_from_the_server_logs_in() {
    let _g = exclusive();
    let Some(e) = env("bob") else { return };
    let (serial, link) = e.pi.init_otp("daypassword", "bob", "9876");
    assert!(link.starts_with("otpauth://daypassword/"), "{link}");
    let acc = e.a.add(link).unwrap().accounts.remove(0);
    assert_eq!(
        (acc.kind, acc.period),
        (AccountKind::Totp, 86_400),
        "{serial}"
    );
    let code = e.a.code(acc.id.clone()).unwrap().code.expose().to_string();
    let ok = e.pi.validate_check("bob", &format!("9876{code}"));
    assert_eq!(ok["result"]["authentication"], "ACCEPT", "{ok}");
    e.pi.delete_tokens_of("bob");
}

#[test]
fn push_account_links_the_manual_otp_account_of_the_same_user() {
    let _g = exclusive();
    let Some(e) = env("alice") else { return };
    let (_, otp_link) = e.pi.init_otp("totp", "alice", "1111");
    let otp = e.a.add(otp_link).unwrap().accounts.remove(0);
    let (_, push_id) = enroll(&e, "alice", "1234");
    let push =
        e.a.list_accounts()
            .unwrap()
            .into_iter()
            .find(|a| a.id == push_id)
            .unwrap();
    assert_eq!(push.linked_otp_account_id, Some(otp.id));
    e.pi.delete_tokens_of("alice");
}
