//! Test-support admin client for a real privacyIDEA server, so interop tests can enroll tokens,
//! trigger logins, read transaction state and toggle policies while the code under test plays the phone.
//!
//! Start the server with `tests/privacyidea/start.sh` (see `tests/privacyidea/README.md`).
//! Environment:
//! - `PI_URL` (default `http://127.0.0.1:5080`): server base URL.
//! - `PI_ADMIN_USER` / `PI_ADMIN_PASS` (default `admin` / `admin-secret`).
//! - `PI_REQUIRED=1`: panic instead of skipping when the server does not answer (set it in CI).
//!
//! The same client drives eduMFA (a privacyIDEA fork, `tests/edumfa/start.sh`) through
//! [`PiServer::edumfa_from_env`]: `EDUMFA_URL` (default `http://127.0.0.1:5081`),
//! `EDUMFA_ADMIN_USER` / `EDUMFA_ADMIN_PASS`, `EDUMFA_REQUIRED=1`.
//!
//! Every call and response shape used here was verified against privacyIDEA 3.14.
//! Policies are server-global: tests that set policies or count a user's challenges must hold
//! [`exclusive`] (in-process) and, across test binaries, run with the server to themselves.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Default base URL (what `tests/privacyidea/start.sh` starts).
pub const DEFAULT_URL: &str = "http://127.0.0.1:5080";
/// Default eduMFA base URL (what `tests/edumfa/start.sh` starts).
pub const DEFAULT_EDUMFA_URL: &str = "http://127.0.0.1:5081";
/// Realm that start.sh creates; users `alice`/`alicepw` and `bob`/`bobpw` live in it.
pub const REALM: &str = "defrealm";

static PI_LOCK: Mutex<()> = Mutex::new(());

/// Serialises tests (within one test binary) that touch global server state: policies, or the
/// set of tokens/challenges of a shared user such as `alice`.
pub fn exclusive() -> MutexGuard<'static, ()> {
    PI_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// State of a login transaction as seen by the login client (`GET /validate/polltransaction`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxStatus {
    /// `challenge_status: "pending"`: not answered yet. Also what privacyIDEA answers for an
    /// unknown or already finalized transaction id, and for a code-to-phone challenge that the
    /// phone confirmed (the user still has to type the display code).
    Pending,
    /// `challenge_status: "accept"`, `authentication: "ACCEPT"`, `value: true`.
    Accepted,
    /// `challenge_status: "declined"`, `authentication: "DECLINED"` (decline without reason,
    /// with `unknown_trigger`, or with an unknown reason).
    Declined,
    /// `challenge_status: "cancelled"`, `authentication: "DECLINED"` (decline with reason `cancelled`).
    Cancelled,
    /// Anything else (raw `challenge_status`).
    Other(String),
}

/// A login started with `/validate/check` that answered `CHALLENGE`.
#[derive(Debug, Clone)]
pub struct Login {
    /// `detail.transaction_id`.
    pub transaction_id: String,
    /// `detail.presence_answer`: the option the user is told to press (only with `push_require_presence`).
    pub presence_answer: Option<String>,
    /// `detail.client_mode`: `poll` for plain push/presence, `interactive` with `push_code_to_phone`.
    pub client_mode: Option<String>,
    /// `detail.message`.
    pub message: Option<String>,
    /// The whole `detail` object (has `multi_challenge`, `transaction_ids`, `serial`, ...).
    pub detail: Value,
}

/// Admin + login-client side of a running privacyIDEA (or eduMFA).
pub struct PiServer {
    /// `privacyIDEA` or `eduMFA`, for messages.
    product: &'static str,
    base: String,
    client: reqwest::blocking::Client,
    jwt: String,
}

/// Deletes its policy when dropped (also on panic), so one test's policy cannot leak into the next.
pub struct PolicyGuard<'a> {
    server: &'a PiServer,
    name: String,
}

impl Drop for PolicyGuard<'_> {
    fn drop(&mut self) {
        // Never panic here: drop may run while a failing test is already unwinding.
        let _ = self
            .server
            .client
            .delete(self.server.url(&format!("/policy/{}", self.name)))
            .header("Authorization", self.server.jwt.as_str())
            .send();
    }
}

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_string())
}

fn str_at<'v>(v: &'v Value, pointer: &str) -> Option<&'v str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// Reads a response as (HTTP status, JSON body); panics with the body if it is not JSON.
/// (Messages say privacyIDEA; eduMFA answers the same shapes.)
fn read(what: &str, resp: reqwest::Result<reqwest::blocking::Response>) -> (u16, Value) {
    let resp = resp.unwrap_or_else(|e| panic!("privacyIDEA {what}: request failed: {e}"));
    let status = resp.status().as_u16();
    let text = resp
        .text()
        .unwrap_or_else(|e| panic!("privacyIDEA {what}: reading the body failed: {e}"));
    let json: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!("privacyIDEA {what}: HTTP {status}, body is not JSON ({e}): {text}")
    });
    (status, json)
}

/// Panics unless HTTP 200 and `result.status == true`.
fn ok(what: &str, (status, json): (u16, Value)) -> Value {
    if status != 200 || json.pointer("/result/status") != Some(&Value::Bool(true)) {
        panic!("privacyIDEA {what}: unexpected answer HTTP {status}: {json}");
    }
    json
}

/// Where a server is found and what its environment variables are called.
struct Target {
    product: &'static str,
    url_var: &'static str,
    default_url: &'static str,
    user_var: &'static str,
    pass_var: &'static str,
    required_var: &'static str,
    start_script: &'static str,
    live_path: &'static str,
}

impl PiServer {
    /// Connects to `PI_URL` (default [`DEFAULT_URL`]) and logs in as admin.
    /// Returns `None` (after printing a loud message) when `/healthz/livez` does not answer, so
    /// tests can skip; with `PI_REQUIRED=1` it panics instead. Panics if the admin login fails.
    pub fn from_env() -> Option<PiServer> {
        Self::connect(Target {
            product: "privacyIDEA",
            url_var: "PI_URL",
            default_url: DEFAULT_URL,
            user_var: "PI_ADMIN_USER",
            pass_var: "PI_ADMIN_PASS",
            required_var: "PI_REQUIRED",
            start_script: "tests/privacyidea/start.sh",
            // privacyIDEA's liveness endpoint.
            live_path: "/healthz/livez",
        })
    }

    /// Connects to eduMFA at `EDUMFA_URL` (default [`DEFAULT_EDUMFA_URL`]) as admin
    /// (`EDUMFA_ADMIN_USER` / `EDUMFA_ADMIN_PASS`); skips like [`from_env`](Self::from_env),
    /// panics instead with `EDUMFA_REQUIRED=1`.
    pub fn edumfa_from_env() -> Option<PiServer> {
        Self::connect(Target {
            product: "eduMFA",
            url_var: "EDUMFA_URL",
            default_url: DEFAULT_EDUMFA_URL,
            user_var: "EDUMFA_ADMIN_USER",
            pass_var: "EDUMFA_ADMIN_PASS",
            required_var: "EDUMFA_REQUIRED",
            start_script: "tests/edumfa/start.sh",
            // eduMFA has no /healthz; an unknown transaction answers `value: false`
            // without login.
            live_path: "/validate/polltransaction?transaction_id=0",
        })
    }

    fn connect(t: Target) -> Option<PiServer> {
        let product = t.product;
        let base = env_or(t.url_var, t.default_url)
            .trim_end_matches('/')
            .to_string();
        // The core builds reqwest without a default crypto provider (ring is installed
        // by its transport); the admin client installs the same one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("building the reqwest blocking client");
        let live = client
            .get(format!("{base}{}", t.live_path))
            .timeout(Duration::from_secs(3))
            .send();
        let problem = match live {
            Ok(r) if r.status().is_success() => None,
            Ok(r) => Some(format!("HTTP {}", r.status())),
            Err(e) => Some(e.to_string()),
        };
        if let Some(problem) = problem {
            let msg = format!(
                "{product} is not reachable at {base} ({problem}). \
                 Start it with {} (or set {}).",
                t.start_script, t.url_var
            );
            if std::env::var(t.required_var).is_ok_and(|v| v == "1") {
                panic!("{msg} {}=1, so this is an error.", t.required_var);
            }
            eprintln!();
            eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
            eprintln!("!!! SKIPPING {product} interop test: {msg}");
            eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
            eprintln!();
            return None;
        }
        let user = env_or(t.user_var, "admin");
        let pass = env_or(t.pass_var, "admin-secret");
        let what = format!("POST /auth (admin login as {user})");
        let resp = ok(
            &what,
            read(
                &what,
                client
                    .post(format!("{base}/auth"))
                    .form(&[("username", user.as_str()), ("password", pass.as_str())])
                    .send(),
            ),
        );
        let jwt = str_at(&resp, "/result/value/token")
            .unwrap_or_else(|| panic!("{product} {what}: no result.value.token in {resp}"))
            .to_string();
        Some(PiServer {
            product,
            base,
            client,
            jwt,
        })
    }

    /// `privacyIDEA` or `eduMFA`.
    pub fn product(&self) -> &'static str {
        self.product
    }

    /// Server base URL without trailing slash, e.g. `http://127.0.0.1:5080`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The phone endpoint (`/ttype/push`) that start.sh puts into push enrollment links.
    pub fn push_url(&self) -> String {
        format!("{}/ttype/push", self.base)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    // ------------------------------------------------------------------ raw admin calls

    /// `POST {path}` form-encoded with the admin JWT; panics unless HTTP 200 and `result.status`.
    pub fn admin_post(&self, path: &str, form: &[(&str, &str)]) -> Value {
        let what = format!("POST {path} {form:?}");
        let resp = self
            .client
            .post(self.url(path))
            .header("Authorization", self.jwt.as_str())
            .form(form)
            .send();
        ok(&what, read(&what, resp))
    }

    /// `GET {path}?query` with the admin JWT; panics unless HTTP 200 and `result.status`.
    pub fn admin_get(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let what = format!("GET {path} {query:?}");
        let resp = self
            .client
            .get(self.url(path))
            .header("Authorization", self.jwt.as_str())
            .query(query)
            .send();
        ok(&what, read(&what, resp))
    }

    /// `DELETE {path}` with the admin JWT. Returns `true` if something was deleted, `false` on
    /// HTTP 404 (privacyIDEA ERR601: no such policy / token); panics on anything else.
    pub fn admin_delete(&self, path: &str) -> bool {
        let what = format!("DELETE {path}");
        let resp = self
            .client
            .delete(self.url(path))
            .header("Authorization", self.jwt.as_str())
            .send();
        let (status, json) = read(&what, resp);
        if status == 404 {
            return false;
        }
        ok(&what, (status, json));
        true
    }

    // ------------------------------------------------------------------ tokens

    /// Enrolls a poll-only push token for `user` in [`REALM`] with token PIN `pin`
    /// (then `/validate/check user pass=<pin>` triggers the push challenge).
    /// Returns `(serial, link)`; the `otpauth://pipush/...` link is `detail.pushurl.value`
    /// (NOT `detail.googleurl`, which push tokens do not have).
    pub fn init_push(&self, user: &str, pin: &str) -> (String, String) {
        self.init_push_with(user, pin, &[])
    }

    /// Like [`init_push`](Self::init_push) with extra `/token/init` fields, e.g.
    /// `("appimageurl", "https://example.org/logo.png")` (becomes `&image=` in the link).
    pub fn init_push_with(
        &self,
        user: &str,
        pin: &str,
        extra: &[(&str, &str)],
    ) -> (String, String) {
        self.init_push_type("push", user, pin, extra)
    }

    /// Like [`init_push_with`](Self::init_push_with) for another push token type, e.g.
    /// eduMFA's `edupush` (link `edumfa-push://...`, phone endpoint `/ttype/edupush`).
    pub fn init_push_type(
        &self,
        ttype: &str,
        user: &str,
        pin: &str,
        extra: &[(&str, &str)],
    ) -> (String, String) {
        let mut form = vec![
            ("type", ttype),
            ("genkey", "1"),
            ("user", user),
            ("realm", REALM),
            ("pin", pin),
        ];
        form.extend_from_slice(extra);
        let resp = self.admin_post("/token/init", &form);
        let serial = str_at(&resp, "/detail/serial")
            .unwrap_or_else(|| panic!("{ttype} /token/init: no detail.serial in {resp}"))
            .to_string();
        let link = str_at(&resp, "/detail/pushurl/value")
            .unwrap_or_else(|| panic!("{ttype} /token/init: no detail.pushurl.value in {resp}"))
            .to_string();
        assert_eq!(
            str_at(&resp, "/detail/rollout_state"),
            Some("clientwait"),
            "{ttype} /token/init: expected rollout_state clientwait: {resp}"
        );
        (serial, link)
    }

    /// Enrolls an HOTP or TOTP token (server-generated secret) for `user` with token PIN `pin`.
    /// Returns `(serial, link)` from `detail.googleurl.value`. Login is `pass = <pin><otp>`.
    /// Note: the HOTP link always says `counter=1` while the server counter starts at 0; the
    /// server accepts any of the next 10 counter values (count_window 10), so both work.
    pub fn init_otp(&self, kind: &str, user: &str, pin: &str) -> (String, String) {
        assert!(
            kind == "hotp" || kind == "totp" || kind == "daypassword",
            "init_otp: kind must be hotp, totp or daypassword, got {kind}"
        );
        let resp = self.admin_post(
            "/token/init",
            &[
                ("type", kind),
                ("genkey", "1"),
                ("user", user),
                ("realm", REALM),
                ("pin", pin),
            ],
        );
        let serial = str_at(&resp, "/detail/serial")
            .unwrap_or_else(|| panic!("{kind} /token/init: no detail.serial in {resp}"))
            .to_string();
        let link = str_at(&resp, "/detail/googleurl/value")
            .unwrap_or_else(|| panic!("{kind} /token/init: no detail.googleurl.value in {resp}"))
            .to_string();
        (serial, link)
    }

    /// The token object from `GET /token/?serial=` (`tokens[0]`): `rollout_state`, `count`,
    /// `failcount`, `info` (e.g. `info.firebase_token` after a push token update), ...
    pub fn token(&self, serial: &str) -> Value {
        let resp = self.admin_get("/token/", &[("serial", serial)]);
        resp.pointer("/result/value/tokens/0")
            .cloned()
            .unwrap_or_else(|| panic!("GET /token/?serial={serial}: no such token: {resp}"))
    }

    /// One `info` entry of a token, e.g. `token_info(serial, "firebase_token")`.
    pub fn token_info(&self, serial: &str, key: &str) -> Option<String> {
        self.token(serial)
            .pointer(&format!("/info/{key}"))
            .and_then(Value::as_str)
            .map(str::to_string)
    }

    /// Serials of all tokens of `user` in [`REALM`].
    pub fn tokens_of(&self, user: &str) -> Vec<String> {
        let resp = self.admin_get("/token/", &[("user", user), ("realm", REALM)]);
        resp.pointer("/result/value/tokens")
            .and_then(Value::as_array)
            .map(|tokens| {
                tokens
                    .iter()
                    .filter_map(|t| t.get("serial").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `DELETE /token/<serial>`; a missing token (HTTP 404, ERR601) is not an error.
    pub fn delete_token(&self, serial: &str) {
        self.admin_delete(&format!("/token/{serial}"));
    }

    /// Deletes every token of `user`. Useful at test start: with several push tokens sharing a
    /// PIN, one `/validate/check` creates one challenge per token.
    pub fn delete_tokens_of(&self, user: &str) {
        for serial in self.tokens_of(user) {
            self.delete_token(&serial);
        }
    }

    // ------------------------------------------------------------------ containers

    /// `POST /container/init type=smartphone` owned by `user` in [`REALM`]; returns the
    /// container serial (`SMPH…`).
    pub fn init_container(&self, user: &str) -> String {
        let resp = self.admin_post(
            "/container/init",
            &[("type", "smartphone"), ("user", user), ("realm", REALM)],
        );
        str_at(&resp, "/result/value/container_serial")
            .unwrap_or_else(|| panic!("/container/init: no container_serial in {resp}"))
            .to_string()
    }

    /// `POST /container/<container>/add serial=<token>`.
    pub fn container_add(&self, container: &str, token: &str) {
        self.admin_post(&format!("/container/{container}/add"), &[("serial", token)]);
    }

    /// `POST /container/<container>/remove serial=<token>` (the token itself stays).
    pub fn container_remove(&self, container: &str, token: &str) {
        self.admin_post(
            &format!("/container/{container}/remove"),
            &[("serial", token)],
        );
    }

    /// `POST /container/register/initialize` with `extra` fields (`passphrase_prompt` +
    /// `passphrase_response`, or `passphrase_user=1`); returns the `pia://container/`
    /// link (`container_url.value`). Needs the container policy `privacyIDEA_server_url`.
    pub fn container_register_link(&self, container: &str, extra: &[(&str, &str)]) -> String {
        let mut form = vec![("container_serial", container)];
        form.extend_from_slice(extra);
        let resp = self.admin_post("/container/register/initialize", &form);
        str_at(&resp, "/result/value/container_url/value")
            .unwrap_or_else(|| panic!("register/initialize: no container_url.value in {resp}"))
            .to_string()
    }

    /// The container object from `GET /container/?container_serial=` (`containers[0]`).
    pub fn container(&self, container: &str) -> Value {
        let resp = self.admin_get("/container/", &[("container_serial", container)]);
        resp.pointer("/result/value/containers/0")
            .cloned()
            .unwrap_or_else(|| panic!("GET /container/ {container}: no such container: {resp}"))
    }

    /// `DELETE /container/<serial>` (its tokens stay); a missing one is not an error.
    pub fn delete_container(&self, container: &str) {
        self.admin_delete(&format!("/container/{container}"));
    }

    // ------------------------------------------------------------------ login client (no JWT)

    /// `POST /validate/check user=<user> pass=<pass>` (realm: the default realm); returns the
    /// whole JSON. Accept: `result.value == true`, `result.authentication == "ACCEPT"`.
    /// Reject: `value false`, `authentication "REJECT"`, `detail.message` e.g. `"wrong otp pin"`,
    /// `"wrong otp value. previous otp used again"` (OTP replay).
    pub fn validate_check(&self, user: &str, pass: &str) -> Value {
        self.validate_check_form(&[("user", user), ("pass", pass)])
    }

    fn validate_check_form(&self, form: &[(&str, &str)]) -> Value {
        let what = format!("POST /validate/check {form:?}");
        let resp = self
            .client
            .post(self.url("/validate/check"))
            .form(form)
            .send();
        ok(&what, read(&what, resp))
    }

    /// Starts a push login: `/validate/check user pass=<token PIN>` must answer
    /// `authentication: "CHALLENGE"`. Returns the details (transaction id, presence answer, ...).
    pub fn start_login(&self, user: &str, pass: &str) -> Login {
        let resp = self.validate_check(user, pass);
        assert_eq!(
            str_at(&resp, "/result/authentication"),
            Some("CHALLENGE"),
            "/validate/check user={user}: expected a CHALLENGE: {resp}"
        );
        let detail = resp.get("detail").cloned().unwrap_or(Value::Null);
        let transaction_id = str_at(&detail, "/transaction_id")
            .unwrap_or_else(|| {
                panic!("/validate/check user={user}: no detail.transaction_id: {resp}")
            })
            .to_string();
        Login {
            transaction_id,
            presence_answer: str_at(&detail, "/presence_answer").map(str::to_string),
            client_mode: str_at(&detail, "/client_mode").map(str::to_string),
            message: str_at(&detail, "/message").map(str::to_string),
            detail,
        }
    }

    /// Starts a push login and returns only the transaction id.
    pub fn trigger_login(&self, user: &str, pass: &str) -> String {
        self.start_login(user, pass).transaction_id
    }

    /// `GET /validate/polltransaction?transaction_id=` (GET only: POST is HTTP 405), whole JSON.
    pub fn poll_transaction_raw(&self, tid: &str) -> Value {
        let what = format!("GET /validate/polltransaction transaction_id={tid}");
        let resp = self
            .client
            .get(self.url("/validate/polltransaction"))
            .query(&[("transaction_id", tid)])
            .send();
        ok(&what, read(&what, resp))
    }

    /// `result.value` of polltransaction: `true` once the phone approved (or answered the right
    /// presence option); `false` while pending, after a decline, and for unknown/finalized ids.
    pub fn poll_transaction(&self, tid: &str) -> bool {
        let resp = self.poll_transaction_raw(tid);
        resp.pointer("/result/value")
            .and_then(Value::as_bool)
            .unwrap_or_else(|| panic!("polltransaction {tid}: no boolean result.value: {resp}"))
    }

    /// Transaction state from `detail.challenge_status` (falling back to `result.authentication`).
    pub fn transaction_status(&self, tid: &str) -> TxStatus {
        let resp = self.poll_transaction_raw(tid);
        match str_at(&resp, "/detail/challenge_status") {
            Some("pending") => TxStatus::Pending,
            Some("accept") => TxStatus::Accepted,
            Some("declined") => TxStatus::Declined,
            Some("cancelled") => TxStatus::Cancelled,
            Some(other) => TxStatus::Other(other.to_string()),
            None => match str_at(&resp, "/result/authentication") {
                Some("ACCEPT") => TxStatus::Accepted,
                Some("DECLINED") => TxStatus::Declined,
                _ => TxStatus::Other(resp.to_string()),
            },
        }
    }

    /// `true` when polltransaction says `result.authentication == "DECLINED"`
    /// (after a decline with any reason, including `cancelled`).
    pub fn is_declined(&self, tid: &str) -> bool {
        let resp = self.poll_transaction_raw(tid);
        str_at(&resp, "/result/authentication") == Some("DECLINED")
    }

    /// Polls the transaction every 200 ms until it is no longer [`TxStatus::Pending`] or
    /// `timeout` passes; returns the last status.
    pub fn wait_transaction(&self, tid: &str, timeout: Duration) -> TxStatus {
        let start = Instant::now();
        loop {
            let status = self.transaction_status(tid);
            if status != TxStatus::Pending || start.elapsed() >= timeout {
                return status;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Finalizes an answered push login: `/validate/check user pass="" transaction_id=`.
    /// Returns `result.value` (true = ACCEPT). Single use: a second finalize is rejected
    /// (`"wrong otp pin"`). After a decline it answers false ("Response did not match the challenge.").
    pub fn finalize(&self, user: &str, tid: &str) -> bool {
        self.finalize_with(user, tid, "")
    }

    /// Finalizes with an explicit `pass`, e.g. the `display_code` the phone received with
    /// `push_code_to_phone` (there an empty pass or a wrong code is rejected and the
    /// challenge stays open). Returns `result.value`.
    pub fn finalize_with(&self, user: &str, tid: &str, pass: &str) -> bool {
        let resp =
            self.validate_check_form(&[("user", user), ("pass", pass), ("transaction_id", tid)]);
        resp.pointer("/result/value")
            .and_then(Value::as_bool)
            .unwrap_or_else(|| panic!("finalize {tid}: no boolean result.value: {resp}"))
    }

    // ------------------------------------------------------------------ policies

    /// `POST /policy/<name> scope=<scope> action=<action> active=true`. `action` is privacyIDEA's
    /// string form `"k=v, k2"`. Existing policies of the same name are overwritten.
    /// CAUTION: boolean actions are enabled by their mere presence: `push_require_presence=0`
    /// and `=False` still ENABLE presence. To turn one off, delete the policy.
    /// Useful actions (3.14): authentication: `push_require_presence`,
    /// `push_presence_options=ALPHABETIC|NUMERIC|CUSTOM`, `push_presence_num_options=N`,
    /// `push_presence_custom_options=A1:B2:C3`, `push_code_to_phone`,
    /// `push_code_to_phone_message=...`; enrollment: `push_force_app_pin` (link gets
    /// `pin=True&app_force_unlock=pin`), `push_app_force_unlock=pin|biometric|any`,
    /// `push_use_pia_scheme` (link scheme `pia://`).
    pub fn set_policy(&self, name: &str, scope: &str, action: &str) {
        self.admin_post(
            &format!("/policy/{name}"),
            &[("scope", scope), ("action", action), ("active", "true")],
        );
    }

    /// [`set_policy`](Self::set_policy) returning a guard that deletes the policy on drop.
    pub fn policy(&self, name: &str, scope: &str, action: &str) -> PolicyGuard<'_> {
        self.set_policy(name, scope, action);
        PolicyGuard {
            server: self,
            name: name.to_string(),
        }
    }

    /// `DELETE /policy/<name>`; a missing policy (HTTP 404, ERR601) is not an error.
    pub fn delete_policy(&self, name: &str) {
        self.admin_delete(&format!("/policy/{name}"));
    }
}
