//! Push protocol logic without a server: an in-test fake of privacyIDEA's phone
//! endpoints behind the `Transport` trait (unit-test fake only, never shipped). Covers
//! what a real server cannot easily stage: network failures mid-answer, expiry with a
//! moved clock, the enrollment link's ttl, malformed messages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use authenticator_core::{
    Authenticator, AuthenticatorError, ChallengeSource, HttpResponse, OpenOptions, Transport,
    TransportError,
};
use common::*;
use ring::signature::{self, RsaKeyPair, UnparsedPublicKey};
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::{DecodePublicKey, EncodePrivateKey};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const URL: &str = "https://pi.example/ttype/push";

struct FakeServer {
    key: RsaKeyPair,
    pkcs1_b64: String,
    phone_pkcs1: Mutex<Option<Vec<u8>>>,
    open: Mutex<Vec<HashMap<String, String>>>,
    answers: Mutex<Vec<HashMap<String, String>>>,
    offline: AtomicBool,
    requests: AtomicUsize,
    token_updates: Mutex<Vec<String>>,
    /// Milliseconds each answer takes to arrive (a slow network).
    answer_delay_ms: std::sync::atomic::AtomicU64,
}

fn b32(sig: &[u8]) -> String {
    data_encoding::BASE32.encode(sig)
}

impl FakeServer {
    fn new() -> Arc<Self> {
        let sk = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
        let pkcs1 = sk.to_public_key().to_pkcs1_der().unwrap();
        let b64 = data_encoding::BASE64.encode(pkcs1.as_bytes());
        let wrapped: Vec<String> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
            .collect();
        let key = RsaKeyPair::from_pkcs8(sk.to_pkcs8_der().unwrap().as_bytes()).unwrap();
        Arc::new(Self {
            key,
            pkcs1_b64: wrapped.join("\n"),
            phone_pkcs1: Mutex::new(None),
            open: Mutex::new(Vec::new()),
            answers: Mutex::new(Vec::new()),
            offline: AtomicBool::new(false),
            requests: AtomicUsize::new(0),
            token_updates: Mutex::new(Vec::new()),
            answer_delay_ms: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// The last token update the server accepted.
    fn last_token_update(&self) -> Option<String> {
        self.token_updates.lock().unwrap().last().cloned()
    }

    fn sign(&self, msg: &str) -> String {
        let mut sig = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                msg.as_bytes(),
                &mut sig,
            )
            .unwrap();
        b32(&sig)
    }

    fn phone_signed(&self, msg: &str, sig_b32: &str) -> bool {
        let pk = self.phone_pkcs1.lock().unwrap().clone().unwrap();
        let sig = data_encoding::BASE32.decode(sig_b32.as_bytes()).unwrap();
        UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, pk)
            .verify(msg.as_bytes(), &sig)
            .is_ok()
    }

    /// A challenge as privacyIDEA sends it, signed.
    fn challenge(&self, nonce: &str, presence: Option<&str>) -> HashMap<String, String> {
        let mut m: HashMap<String, String> = [
            ("nonce", nonce),
            ("url", URL),
            ("serial", "PIPU0001"),
            ("question", "Login for alice?"),
            ("title", "Fake PI"),
            ("sslverify", "1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let mut signed = format!("{nonce}|{URL}|PIPU0001|Login for alice?|Fake PI|1");
        if let Some(p) = presence {
            m.insert("require_presence".into(), p.into());
            signed.push_str(&format!("|{p}"));
        }
        m.insert("signature".into(), self.sign(&signed));
        let caps =
            format!("{{\"capabilities\":{{\"decline_reason\":true}},\"nonce\":\"{nonce}\"}}");
        m.insert("capabilities".into(), "{\"decline_reason\": true}".into());
        m.insert("capabilities_signature".into(), self.sign(&caps));
        self.open.lock().unwrap().push(m.clone());
        m
    }

    fn json(value: serde_json::Value) -> Result<HttpResponse, TransportError> {
        Ok(HttpResponse {
            status: 200,
            body: value.to_string(),
        })
    }
}

impl Transport for FakeServer {
    fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        verify_tls: bool,
    ) -> Result<HttpResponse, TransportError> {
        assert_eq!(url, URL);
        assert!(verify_tls, "this token asked for TLS verification");
        self.requests.fetch_add(1, Ordering::SeqCst);
        if self.offline.load(Ordering::SeqCst) {
            return Err(TransportError(
                "could not connect: fake network down".into(),
            ));
        }
        let f: HashMap<&str, &str> = form.iter().cloned().collect();
        if let Some(cred) = f.get("enrollment_credential") {
            if *cred != "goodcredential" {
                return Ok(HttpResponse {
                    status: 400,
                    body: r#"{"result":{"status":false,"error":{"code":905,"message":"ERR905: Invalid enrollment credential."}}}"#.into(),
                });
            }
            let spki = data_encoding::BASE64
                .decode(f["pubkey"].as_bytes())
                .unwrap();
            let pk = rsa::RsaPublicKey::from_public_key_der(&spki).unwrap();
            *self.phone_pkcs1.lock().unwrap() =
                Some(pk.to_pkcs1_der().unwrap().as_bytes().to_vec());
            assert_eq!(f["fbtoken"], "fcm-1");
            return Self::json(serde_json::json!({
                "result": {"status": true, "value": true},
                "detail": {"public_key": self.pkcs1_b64, "rollout_state": "enrolled", "serial": "PIPU0001"}
            }));
        }
        if let Some(tok) = f.get("new_fb_token") {
            let ok = self.phone_signed(
                &format!("{tok}|{}|{}", f["serial"], f["timestamp"]),
                f["signature"],
            );
            if ok {
                self.token_updates.lock().unwrap().push(tok.to_string());
            }
            return Self::json(serde_json::json!({"result": {"status": true, "value": ok}}));
        }
        std::thread::sleep(std::time::Duration::from_millis(
            self.answer_delay_ms.load(Ordering::SeqCst),
        ));
        let nonce = f["nonce"];
        let msg = if f.get("decline") == Some(&"1") {
            match f.get("decline_reason") {
                Some(r) => format!("{nonce}|{}|decline|{r}", f["serial"]),
                None => format!("{nonce}|{}|decline", f["serial"]),
            }
        } else if let Some(p) = f.get("presence_answer") {
            format!("{nonce}|{}|{p}", f["serial"])
        } else {
            format!("{nonce}|{}", f["serial"])
        };
        let ok = self.phone_signed(&msg, f["signature"]);
        self.answers.lock().unwrap().push(
            f.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        self.open.lock().unwrap().retain(|c| c["nonce"] != nonce);
        Self::json(
            serde_json::json!({"result": {"status": true, "value": ok}, "detail": {"display_code": "42", "message": "Enter the code"}}),
        )
    }

    fn get(
        &self,
        url: &str,
        query: &[(&str, &str)],
        _verify_tls: bool,
    ) -> Result<HttpResponse, TransportError> {
        assert_eq!(url, URL);
        if self.offline.load(Ordering::SeqCst) {
            return Err(TransportError("timed out".into()));
        }
        let q: HashMap<&str, &str> = query.iter().cloned().collect();
        assert!(self.phone_signed(
            &format!("{}|{}", q["serial"], q["timestamp"]),
            q["signature"]
        ));
        let list: Vec<_> = self.open.lock().unwrap().clone();
        Self::json(serde_json::json!({"result": {"status": true, "value": list}}))
    }
}

fn link(cred: &str) -> String {
    format!("otpauth://pipush/alice?url=https%3A%2F%2Fpi.example%2Fttype%2Fpush&ttl=10&issuer=Fake&enrollment_credential={cred}&v=1&serial=PIPU0001&sslverify=1")
}

fn options(f: &Fixture, server: &Arc<FakeServer>) -> OpenOptions {
    OpenOptions {
        transport: Some(server.clone()),
        ..f.options()
    }
}

fn setup() -> (Fixture, Arc<FakeServer>, Arc<Authenticator>) {
    let f = Fixture::new();
    let server = FakeServer::new();
    let a = Authenticator::open_with(&f.path, f.keystore.clone(), options(&f, &server)).unwrap();
    a.set_push_service_token("fcm-1".into()).unwrap();
    (f, server, a)
}

fn enrolled() -> (Fixture, Arc<FakeServer>, Arc<Authenticator>) {
    let (f, s, a) = setup();
    a.add(link("goodcredential")).unwrap();
    (f, s, a)
}

#[test]
fn wrong_credential_stores_nothing_and_says_why() {
    let (_f, _s, a) = setup();
    match a.add(link("badcredential")) {
        Err(AuthenticatorError::InvalidEnrollment { reason }) => {
            assert!(reason.contains("credential"))
        }
        other => panic!("{other:?}"),
    }
    assert!(a.list_accounts().unwrap().is_empty());
    let r = a.add(link("goodcredential")).unwrap();
    assert!(r.accounts[0].tls_verify);
}

#[test]
fn enrollment_link_expires_after_its_ttl_from_first_sight() {
    let (f, s, a) = setup();
    let p = a.preview(link("goodcredential")).unwrap();
    assert_eq!(p.accounts[0].issuer, "Fake");
    f.clock.advance(11 * 60);
    match a.add(link("goodcredential")) {
        Err(AuthenticatorError::InvalidEnrollment { reason }) => {
            assert!(reason.contains("expired"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.requests.load(Ordering::SeqCst), 0, "no step 2 was sent");
}

#[test]
fn push_message_verify_answer_and_replay() {
    let (_f, s, a) = enrolled();
    let msg = s.challenge("NONCEAAAAAAAAAAAAAAAAAAAAAAAAAAA", None);
    let c = a.receive_push(msg.clone()).unwrap();
    assert_eq!(c.received_via, ChallengeSource::Push);
    assert_eq!(c.title, "Fake PI");
    assert_eq!(c.decline_reasons, vec!["unknown_trigger", "cancelled"]);
    assert_eq!(c.expires_at, 1_577_836_800 + 120);
    // Receiving the same message twice is harmless.
    assert_eq!(a.receive_push(msg.clone()).unwrap().id, c.id);
    let r = a.approve(c.id.clone(), None).unwrap();
    assert!(r.accepted, "the fake verified our signature");
    assert_eq!(r.display_code.as_deref(), Some("42"));
    assert!(matches!(
        a.receive_push(msg),
        Err(AuthenticatorError::AlreadyAnswered)
    ));
    assert!(matches!(
        a.decline(c.id, None),
        Err(AuthenticatorError::AlreadyAnswered)
    ));
}

#[test]
fn network_failure_leaves_the_challenge_pending_for_a_retry() {
    let (_f, s, a) = enrolled();
    let c = a
        .receive_push(s.challenge("NONCEBBBBBBBBBBBBBBBBBBBBBBBBBBB", None))
        .unwrap();
    s.offline.store(true, Ordering::SeqCst);
    assert!(matches!(
        a.approve(c.id.clone(), None),
        Err(AuthenticatorError::Network { .. })
    ));
    assert!(matches!(
        a.poll_challenges(),
        Err(AuthenticatorError::Network { .. })
    ));
    assert_eq!(a.pending_challenges().unwrap().len(), 1);
    s.offline.store(false, Ordering::SeqCst);
    assert!(a.approve(c.id, None).unwrap().accepted);
    assert!(a.pending_challenges().unwrap().is_empty());
}

#[test]
fn expired_challenges_cannot_be_answered_and_polls_keep_live_ones() {
    let (f, s, a) = enrolled();
    let c = a
        .receive_push(s.challenge("NONCECCCCCCCCCCCCCCCCCCCCCCCCCCC", None))
        .unwrap();
    f.clock.advance(121);
    assert!(a.pending_challenges().unwrap().is_empty());
    assert!(matches!(
        a.approve(c.id.clone(), None),
        Err(AuthenticatorError::ChallengeExpired)
    ));
    // The server still lists it: a poll shows it is alive and extends it.
    let polled = a.poll_challenges().unwrap();
    assert_eq!(polled.len(), 1);
    assert_eq!(polled[0].expires_at, 1_577_836_800 + 121 + 120);
    assert!(a.approve(c.id, None).unwrap().accepted);
}

#[test]
fn number_matching_and_decline_reasons_are_signed_as_the_protocol_says() {
    let (_f, s, a) = enrolled();
    let c = a
        .receive_push(s.challenge("NONCEDDDDDDDDDDDDDDDDDDDDDDDDDDD", Some("12,34,56")))
        .unwrap();
    assert_eq!(c.presence_options, vec!["12", "34", "56"]);
    assert!(matches!(
        a.approve(c.id.clone(), Some("99".into())),
        Err(AuthenticatorError::InvalidArgument { .. })
    ));
    assert!(a.approve(c.id, Some("34".into())).unwrap().accepted);
    assert_eq!(
        s.answers.lock().unwrap().last().unwrap()["presence_answer"],
        "34"
    );
    let c = a
        .receive_push(s.challenge("NONCEEEEEEEEEEEEEEEEEEEEEEEEEEEE", None))
        .unwrap();
    assert!(a.decline(c.id, Some("cancelled".into())).unwrap().accepted);
    let last = s.answers.lock().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["decline"].as_str(), last["decline_reason"].as_str()),
        ("1", "cancelled")
    );
}

#[test]
fn malformed_or_foreign_messages_are_refused_and_nothing_is_stored() {
    let (_f, s, a) = enrolled();
    let good = s.challenge("NONCEFFFFFFFFFFFFFFFFFFFFFFFFFFF", None);
    let mut no_question = good.clone();
    no_question.remove("question");
    assert!(matches!(
        a.receive_push(no_question),
        Err(AuthenticatorError::InvalidPushMessage { .. })
    ));
    let mut bad_nonce = good.clone();
    bad_nonce.insert("nonce".into(), "../../etc".into());
    assert!(matches!(
        a.receive_push(bad_nonce),
        Err(AuthenticatorError::InvalidPushMessage { .. })
    ));
    let mut other_serial = good.clone();
    other_serial.insert("serial".into(), "PIPU9999".into());
    assert!(matches!(
        a.receive_push(other_serial),
        Err(AuthenticatorError::NotFound { .. })
    ));
    let mut bad_sig = good.clone();
    bad_sig.insert("signature".into(), "not base32 !!".into());
    assert!(matches!(
        a.receive_push(bad_sig),
        Err(AuthenticatorError::BadSignature)
    ));
    assert!(a.pending_challenges().unwrap().is_empty());
    assert!(a.receive_push(good).is_ok());
}

#[test]
fn rotation_updates_every_token_with_a_signed_timestamp() {
    let (_f, s, a) = enrolled();
    let r = a.update_push_service_token("fcm-2".into()).unwrap();
    assert_eq!(r.len(), 1);
    assert!(r[0].ok, "{:?}", r[0].error);
    s.offline.store(true, Ordering::SeqCst);
    let r = a.update_push_service_token("fcm-3".into()).unwrap();
    assert!(!r[0].ok && r[0].pending);
    assert!(r[0].error.as_deref().unwrap().contains("network"));
    assert!(matches!(
        a.update_push_service_token(" ".into()),
        Err(AuthenticatorError::InvalidArgument { .. })
    ));
}

#[test]
fn deleting_the_push_account_removes_its_challenges() {
    let (_f, s, a) = enrolled();
    a.receive_push(s.challenge("NONCEGGGGGGGGGGGGGGGGGGGGGGGGGGG", None))
        .unwrap();
    let id = a.list_accounts().unwrap()[0].id.clone();
    a.delete_account(id).unwrap();
    assert!(a.pending_challenges().unwrap().is_empty());
}

#[test]
fn a_rotation_while_locked_is_queued_in_the_vault_and_sent_after_unlock() {
    let (f, s, a) = enrolled();
    a.set_pin("2468".into()).unwrap();
    a.lock().unwrap();
    let before = s.requests.load(Ordering::SeqCst);
    let r = a.update_push_service_token("fcm-locked".into()).unwrap();
    assert_eq!(r.len(), 1);
    assert!(!r[0].ok && r[0].pending && r[0].error.is_none(), "{r:?}");
    assert_eq!(
        s.requests.load(Ordering::SeqCst),
        before,
        "nothing sent while locked"
    );
    assert!(matches!(
        a.retry_push_token_updates(),
        Err(AuthenticatorError::Locked)
    ));
    // The queue is in the vault: it survives the app being killed.
    drop(a);
    let a = Authenticator::open_with(&f.path, f.keystore.clone(), options(&f, &s)).unwrap();
    let pending = a.pending_push_token_updates().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].serial, "PIPU0001");
    assert_eq!(pending[0].attempts, 0);
    a.unlock("2468".into()).unwrap();
    let r = a.retry_push_token_updates().unwrap();
    assert!(r[0].ok && !r[0].pending, "{r:?}");
    assert!(a.pending_push_token_updates().unwrap().is_empty());
    assert!(
        a.retry_push_token_updates().unwrap().is_empty(),
        "nothing left to send"
    );
}

#[test]
fn a_server_that_missed_the_rotation_is_retried_then_cleared() {
    let (f, s, a) = enrolled();
    s.offline.store(true, Ordering::SeqCst);
    let r = a.update_push_service_token("fcm-9".into()).unwrap();
    assert!(!r[0].ok && r[0].pending);
    let p = a.pending_push_token_updates().unwrap();
    assert_eq!(p[0].attempts, 1);
    assert!(p[0].last_error.as_deref().unwrap().contains("network"));
    assert_eq!(
        p[0].last_attempt_at,
        Some(f.clock.unix.load(Ordering::SeqCst))
    );
    // Still down at the next start: the attempt is counted and the update kept.
    drop(a);
    let a = Authenticator::open_with(&f.path, f.keystore.clone(), options(&f, &s)).unwrap();
    let r = a.retry_push_token_updates().unwrap();
    assert!(r[0].pending);
    assert_eq!(a.pending_push_token_updates().unwrap()[0].attempts, 2);
    // Back online: delivered, then cleared.
    s.offline.store(false, Ordering::SeqCst);
    let r = a.retry_push_token_updates().unwrap();
    assert!(r[0].ok, "{r:?}");
    assert!(a.pending_push_token_updates().unwrap().is_empty());
    // A newer token replaces a queued older one.
    s.offline.store(true, Ordering::SeqCst);
    a.update_push_service_token("fcm-10".into()).unwrap();
    a.update_push_service_token("fcm-11".into()).unwrap();
    assert_eq!(a.pending_push_token_updates().unwrap().len(), 1);
    s.offline.store(false, Ordering::SeqCst);
    a.retry_push_token_updates().unwrap();
    assert_eq!(s.last_token_update().as_deref(), Some("fcm-11"));
    // Deleting the push account drops its queued update.
    s.offline.store(true, Ordering::SeqCst);
    a.update_push_service_token("fcm-12".into()).unwrap();
    let id = a.list_accounts().unwrap()[0].id.clone();
    a.delete_account(id).unwrap();
    assert!(a.pending_push_token_updates().unwrap().is_empty());
}

#[test]
fn an_answered_push_replayed_weeks_later_is_still_refused() {
    let (f, s, a) = enrolled();
    let msg = s.challenge("NONCEREPLAYREPLAYREPLAYREPLAYREP", None);
    let c = a.receive_push(msg.clone()).unwrap();
    assert!(a.approve(c.id, None).unwrap().accepted);
    for days in [2, 29] {
        f.clock
            .advance(days * 24 * 3600 - if days == 29 { 2 * 24 * 3600 } else { 0 });
        assert!(
            matches!(
                a.receive_push(msg.clone()),
                Err(AuthenticatorError::AlreadyAnswered)
            ),
            "replayed after {days} days"
        );
    }
}

#[test]
fn a_push_sent_long_ago_is_expired_on_arrival() {
    let (f, s, a) = enrolled();
    let now_ms = f.clock.unix.load(Ordering::SeqCst) * 1000;
    // An old notification tapped ten minutes after the server sent it (FCM's
    // google.sent_time rides along in the launcher intent's extras).
    let mut late = s.challenge("NONCELATELATELATELATELATELATELAT", None);
    late.insert("google.sent_time".into(), (now_ms - 600_000).to_string());
    assert!(matches!(
        a.receive_push(late),
        Err(AuthenticatorError::ChallengeExpired)
    ));
    assert!(a.pending_challenges().unwrap().is_empty());
    // Sent five seconds ago: its lifetime runs from the sending.
    let mut fresh = s.challenge("NONCEFRESHFRESHFRESHFRESHFRESHFR", None);
    fresh.insert("google.sent_time".into(), (now_ms - 5_000).to_string());
    let c = a.receive_push(fresh).unwrap();
    assert_eq!(c.expires_at, now_ms / 1000 - 5 + 120);
}

#[test]
fn concurrent_answers_send_only_one() {
    let (_f, s, a) = enrolled();
    let c = a
        .receive_push(s.challenge("NONCERACERACERACERACERACERACERAC", Some("12,34,56")))
        .unwrap();
    s.answer_delay_ms.store(400, Ordering::SeqCst);
    let threads: Vec<_> = ["12", "34", "56"]
        .into_iter()
        .enumerate()
        .map(|(i, option)| {
            let (a, id) = (a.clone(), c.id.clone());
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(60 * i as u64));
                a.approve(id, Some(option.into()))
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(results[0].is_ok(), "{results:?}");
    for r in &results[1..] {
        assert!(
            matches!(r, Err(AuthenticatorError::AnswerInProgress)),
            "{results:?}"
        );
    }
    assert_eq!(
        s.answers.lock().unwrap().len(),
        1,
        "one answer reached the server"
    );
    // After the verdict, a further answer is refused as answered.
    assert!(matches!(
        a.approve(c.id.clone(), Some("34".into())),
        Err(AuthenticatorError::AlreadyAnswered)
    ));
}

/// Captures every log record (the most verbose level).
struct CaptureLog(Mutex<Vec<String>>);

impl authenticator_core::Logger for CaptureLog {
    fn log(&self, level: authenticator_core::LogLevel, target: String, message: String) {
        self.0
            .lock()
            .unwrap()
            .push(format!("{level:?} {target}: {message}"));
    }
}

/// `needle` occurs in `hay` as a token of its own (not inside a longer run of letters or
/// digits, such as a hex account id that happens to hold six digits).
fn contains_token(hay: &str, needle: &str) -> bool {
    hay.match_indices(needle).any(|(i, _)| {
        let before = hay[..i].chars().next_back();
        let after = hay[i + needle.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

#[test]
fn nothing_secret_reaches_the_log_or_an_error_even_at_trace() {
    let log = Arc::new(CaptureLog(Mutex::new(Vec::new())));
    authenticator_core::set_logger(Some(log.clone()), authenticator_core::LogLevel::Trace);
    let (_f, s, a) = enrolled();
    const SECRET: &str = "KRUGS4ZANFZSAYJAONSWG4TFOQQGM33SEB2GK43UOM";
    const PIN: &str = "7391824650";
    let mut shown: Vec<String> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    // Enrollment with a secret, codes, HOTP codes.
    let link = format!("otpauth://totp/Hyg:me?secret={SECRET}&issuer=Hyg");
    let hotp = format!("otpauth://hotp/Hyg:h?secret={SECRET}&issuer=Hyg&counter=5");
    let p = a.preview(link.clone()).unwrap();
    shown.extend(
        p.accounts[0]
            .current_code
            .iter()
            .map(|c| c.expose().to_string()),
    );
    let id = a.add(link.clone()).unwrap().accounts[0].id.clone();
    let hid = a.add(hotp.clone()).unwrap().accounts[0].id.clone();
    for _ in 0..3 {
        shown.push(a.code(hid.clone()).unwrap().code.expose().to_string());
    }
    shown.push(a.code(id.clone()).unwrap().code.expose().to_string());
    shown.extend(
        a.time_codes()
            .unwrap()
            .iter()
            .map(|c| c.code.expose().to_string()),
    );
    // Bad links that carry the secret: refused without echoing it.
    for bad in [
        format!("otpauth://totp/Hyg:me?secret={SECRET}&digits=5"),
        format!("otpauth://totp/Hyg:me?secret={SECRET}&algorithm=MD5"),
        format!("otpauth://totp/Hyg:me?secret={SECRET}!!"),
        link.clone(),
    ] {
        errors.push(a.add(bad).unwrap_err().to_string());
    }
    // PIN checks, right and wrong.
    a.set_pin(PIN.into()).unwrap();
    a.lock().unwrap();
    errors.push(a.unlock("0000000000".into()).unwrap_err().to_string());
    errors.push(a.unlock(format!("{PIN}1")).unwrap_err().to_string());
    a.unlock(PIN.into()).unwrap();
    errors.push(
        a.change_pin("1111111111".into(), PIN.into())
            .unwrap_err()
            .to_string(),
    );
    errors.push(a.set_pin("12a4".into()).unwrap_err().to_string());
    // A push round trip, with a replay and a wrong option.
    let msg = s.challenge("NONCEHYGIENEHYGIENEHYGIENEHYGIEN", Some("12,34,56"));
    let c = a.receive_push(msg.clone()).unwrap();
    errors.push(
        a.approve(c.id.clone(), Some("99".into()))
            .unwrap_err()
            .to_string(),
    );
    let r = a.approve(c.id.clone(), Some("34".into())).unwrap();
    shown.extend(r.display_code.iter().map(|c| c.expose().to_string()));
    errors.push(a.receive_push(msg.clone()).unwrap_err().to_string());
    errors.push(
        a.update_push_service_token("fcm-hygiene".into())
            .map(|_| String::new())
            .unwrap_or_else(|e| e.to_string()),
    );

    let mut secrets: Vec<String> = vec![
        SECRET.to_string(),
        SECRET.to_lowercase(),
        data_encoding::HEXLOWER.encode(
            &data_encoding::BASE32_NOPAD
                .decode(SECRET.as_bytes())
                .unwrap(),
        ),
        PIN.to_string(),
        "goodcredential".to_string(),
        msg["signature"].clone(),
        msg["capabilities_signature"].clone(),
    ];
    for answer in s.answers.lock().unwrap().iter() {
        secrets.push(answer["signature"].clone());
    }
    let logged = log.0.lock().unwrap().join("\n");
    assert!(
        logged.contains("added totp account"),
        "the log is really on: {logged}"
    );
    assert!(logged.contains("wrong PIN"), "{logged}");
    for text in std::iter::once(&logged).chain(errors.iter()) {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "a secret leaked into: {text}"
            );
        }
        for code in &shown {
            assert!(
                !contains_token(text, code),
                "code {code} leaked into: {text}"
            );
        }
    }
    authenticator_core::set_logger(None, authenticator_core::LogLevel::Error);
}
