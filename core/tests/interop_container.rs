//! Interop of privacyIDEA smartphone containers against a real privacyIDEA 3.14
//! (started by tests/privacyidea/start.sh), through the core's own API: registration
//! without a passphrase, with an admin-defined one and with the user-store password;
//! synced HOTP/TOTP codes that log in with /validate/check; a token removed on the
//! server and gone after the next sync; the client policies refusing deletion and
//! unregistering; unregistering.
//!
//! The container policy `privacyIDEA_server_url` is set here (and removed on drop).
//! Skips loudly when no server answers, unless PI_REQUIRED=1 (CI sets it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod support;

use authenticator_core::{
    AccountKind, Authenticator, AuthenticatorError, ContainerState, ExportFormat, OpenOptions,
};
use common::*;
use std::sync::Arc;
use support::privacyidea::{exclusive, PiServer, PolicyGuard};

const USER: &str = "alice";

struct Env {
    pi: PiServer,
    _f: Fixture,
    a: Arc<Authenticator>,
}

/// A fresh phone (vault) with the real HTTP transport.
fn phone() -> (Fixture, Arc<Authenticator>) {
    let f = Fixture::new();
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
    (f, a)
}

fn env() -> Option<Env> {
    let pi = PiServer::from_env()?;
    pi.delete_tokens_of(USER);
    let (f, a) = phone();
    Some(Env { pi, _f: f, a })
}

fn server_url_policy(pi: &PiServer) -> PolicyGuard<'_> {
    pi.policy(
        "interop-container-url",
        "container",
        &format!("privacyIDEA_server_url={}/", pi.base_url()),
    )
}

/// A container of alice with one HOTP (PIN `hp`) and one TOTP (PIN `tp`) token.
fn container_with_tokens(pi: &PiServer) -> (String, String, String) {
    let c = pi.init_container(USER);
    let (hotp, _) = pi.init_otp("hotp", USER, "hp");
    let (totp, _) = pi.init_otp("totp", USER, "tp");
    pi.container_add(&c, &hotp);
    pi.container_add(&c, &totp);
    (c, hotp, totp)
}

fn accepted(pi: &PiServer, pass: &str) -> bool {
    let r = pi.validate_check(USER, pass);
    r.pointer("/result/value") == Some(&serde_json::Value::Bool(true))
}

fn id_of(a: &Authenticator, serial: &str) -> Option<String> {
    a.list_accounts()
        .unwrap()
        .into_iter()
        .find(|x| x.serial.as_deref() == Some(serial))
        .map(|x| x.id)
}

/// The synced HOTP and TOTP codes log in. The TOTP code is that of `step` periods ahead
/// (within the server's window), so a second check in the same period is no replay.
fn codes_log_in(e: &Env, hotp: &str, totp: &str) {
    codes_log_in_at(e, hotp, totp, 0)
}

fn codes_log_in_at(e: &Env, hotp: &str, totp: &str, step: i64) {
    let h = id_of(&e.a, hotp).expect("the HOTP token was synced");
    let code = e.a.code(h).unwrap();
    assert!(
        accepted(&e.pi, &format!("hp{}", code.code.expose())),
        "synced HOTP logs in"
    );
    let t = id_of(&e.a, totp).expect("the TOTP token was synced");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let code = e.a.code_at(t, now + 30 * step).unwrap();
    assert!(
        accepted(&e.pi, &format!("tp{}", code.code.expose())),
        "synced TOTP logs in"
    );
}

#[test]
fn register_sync_remove_token_and_unregister() {
    let _g = exclusive();
    let Some(e) = env() else { return };
    let _p = server_url_policy(&e.pi);
    let (c, hotp, totp) = container_with_tokens(&e.pi);
    let link = e.pi.container_register_link(&c, &[]);

    let p = e.a.preview(link.clone()).unwrap();
    let cp = p.container.expect("a container preview");
    assert_eq!(cp.serial, c);
    assert_eq!(cp.server_url, format!("{}/", e.pi.base_url()));
    assert!(!cp.needs_passphrase);
    assert!(cp.passphrase_prompt.is_none());
    assert!(p.accounts.is_empty());

    let r = e.a.add(link.clone()).unwrap();
    assert_eq!(r.container_serial.as_deref(), Some(c.as_str()));
    assert_eq!(r.accounts.len(), 2, "{:?}", r.warnings);
    assert!(r
        .accounts
        .iter()
        .all(|x| x.container_serial.as_deref() == Some(c.as_str())));
    let kinds: Vec<_> = r.accounts.iter().map(|x| x.kind).collect();
    assert!(kinds.contains(&AccountKind::Hotp) && kinds.contains(&AccountKind::Totp));
    codes_log_in(&e, &hotp, &totp);

    let list = e.a.list_containers().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].serial, c);
    assert_eq!(list[0].state, ContainerState::Registered);
    assert_eq!(list[0].account_ids.len(), 2);
    assert!(list[0].last_sync_at.is_some());

    // Container accounts are managed: never exported.
    e.a.set_pin("135790".into()).unwrap();
    let x =
        e.a.export_accounts(ExportFormat::UriList, None, "135790".into())
            .unwrap();
    assert_eq!(x.exported, 0);
    assert_eq!(x.skipped.len(), 2);
    e.a.unlock("135790".into()).ok();

    // The link was used: registering it again (another phone) is refused.
    let (_f2, other) = phone();
    assert!(matches!(
        other.add(link),
        Err(AuthenticatorError::ContainerLinkRejected { .. })
    ));

    // A second sync renews nothing: both kept, the codes still log in.
    let s = e.a.sync_container(c.clone()).unwrap();
    assert!(s.added.is_empty() && s.removed.is_empty(), "{s:?}");
    assert_eq!(s.updated.len(), 2);
    codes_log_in_at(&e, &hotp, &totp, 1);

    // Removed on the server: gone from the phone after the next sync.
    let totp_id = id_of(&e.a, &totp).unwrap();
    e.pi.container_remove(&c, &totp);
    let s = e.a.sync_container(c.clone()).unwrap();
    assert_eq!(s.removed, vec![totp_id]);
    assert!(id_of(&e.a, &totp).is_none());
    assert!(id_of(&e.a, &hotp).is_some());

    // Unregister: terminated on the server, the accounts removed here.
    let hotp_id = id_of(&e.a, &hotp).unwrap();
    let removed = e.a.unregister_container(c.clone()).unwrap();
    assert_eq!(removed, vec![hotp_id]);
    assert!(e.a.list_containers().unwrap().is_empty());
    assert!(e.a.list_accounts().unwrap().is_empty());
    e.pi.delete_container(&c);
}

#[test]
fn registration_with_an_admin_passphrase() {
    let _g = exclusive();
    let Some(e) = env() else { return };
    let _p = server_url_policy(&e.pi);
    let (c, hotp, totp) = container_with_tokens(&e.pi);
    let link = e.pi.container_register_link(
        &c,
        &[
            ("passphrase_prompt", "Your employee number?"),
            ("passphrase_response", "4711"),
        ],
    );
    let cp = e.a.preview(link.clone()).unwrap().container.unwrap();
    assert!(cp.needs_passphrase);
    assert_eq!(
        cp.passphrase_prompt.as_deref(),
        Some("Your employee number?")
    );
    assert!(matches!(
        e.a.add(link.clone()),
        Err(AuthenticatorError::PassphraseRequired)
    ));
    assert!(matches!(
        e.a.add_container(link.clone(), Some("1234".into()), None),
        Err(AuthenticatorError::ContainerLinkRejected { .. })
    ));
    assert!(
        e.a.list_containers().unwrap().is_empty(),
        "a refusal stores nothing"
    );
    // A failed attempt does not consume the link.
    let r = e.a.add_container(link, Some("4711".into()), None).unwrap();
    assert_eq!(r.accounts.len(), 2, "{:?}", r.warnings);
    codes_log_in(&e, &hotp, &totp);
    e.a.unregister_container(c.clone()).unwrap();
    e.pi.delete_container(&c);
}

#[test]
fn registration_with_the_user_store_password() {
    let _g = exclusive();
    let Some(e) = env() else { return };
    let _p = server_url_policy(&e.pi);
    let (c, hotp, totp) = container_with_tokens(&e.pi);
    let link =
        e.pi.container_register_link(&c, &[("passphrase_user", "1")]);
    let cp = e.a.preview(link.clone()).unwrap().container.unwrap();
    assert!(cp.needs_passphrase);
    assert!(matches!(
        e.a.add_container(link.clone(), Some("wrong".into()), None),
        Err(AuthenticatorError::ContainerLinkRejected { .. })
    ));
    let r =
        e.a.add_container(link, Some("alicepw".into()), None)
            .unwrap();
    assert_eq!(r.accounts.len(), 2, "{:?}", r.warnings);
    codes_log_in(&e, &hotp, &totp);
    e.a.unregister_container(c.clone()).unwrap();
    e.pi.delete_container(&c);
}

#[test]
fn client_policies_refuse_deletion_and_unregistering() {
    let _g = exclusive();
    let Some(e) = env() else { return };
    let _p = server_url_policy(&e.pi);
    let (c, hotp, _totp) = container_with_tokens(&e.pi);
    let refuse = e.pi.policy(
        "interop-container-client",
        "container",
        "disable_client_token_deletion, disable_client_container_unregister",
    );
    let link = e.pi.container_register_link(&c, &[]);
    e.a.add(link).unwrap();
    let list = e.a.list_containers().unwrap();
    assert!(list[0].policies.disable_token_deletion);
    assert!(list[0].policies.disable_unregister);
    let h = id_of(&e.a, &hotp).unwrap();
    assert!(matches!(
        e.a.delete_account(h.clone()),
        Err(AuthenticatorError::PolicyRefused { .. })
    ));
    assert!(matches!(
        e.a.unregister_container(c.clone()),
        Err(AuthenticatorError::PolicyRefused { .. })
    ));
    assert_eq!(e.a.list_accounts().unwrap().len(), 2, "nothing was removed");
    // Lifted on the server: the next sync brings the new policies.
    drop(refuse);
    e.a.sync_container(c.clone()).unwrap();
    let list = e.a.list_containers().unwrap();
    assert!(!list[0].policies.disable_token_deletion);
    e.a.delete_account(h).unwrap();
    e.a.unregister_container(c.clone()).unwrap();
    e.pi.delete_container(&c);
}

#[test]
fn a_synced_push_token_approves_a_login() {
    let _g = exclusive();
    let Some(e) = env() else { return };
    let _p = server_url_policy(&e.pi);
    let c = e.pi.init_container(USER);
    let (push, _) = e.pi.init_push(USER, "pp");
    e.pi.container_add(&c, &push);
    let link = e.pi.container_register_link(&c, &[]);
    let r = e.a.add(link).unwrap();
    assert_eq!(r.accounts.len(), 1, "{:?}", r.warnings);
    assert_eq!(r.accounts[0].kind, AccountKind::Push);
    assert_eq!(r.accounts[0].container_serial.as_deref(), Some(c.as_str()));
    assert_eq!(e.pi.token(&push)["rollout_state"], "enrolled");
    let tid = e.pi.trigger_login(USER, "pp");
    let challenges = e.a.poll_challenges().unwrap();
    assert_eq!(challenges.len(), 1);
    assert!(
        e.a.approve(challenges[0].id.clone(), None)
            .unwrap()
            .accepted
    );
    assert!(e.pi.finalize(USER, &tid));
    // The next sync keeps it (reported by serial, not renewed).
    let s = e.a.sync_container(c.clone()).unwrap();
    assert!(s.added.is_empty() && s.removed.is_empty(), "{s:?}");
    e.a.unregister_container(c.clone()).unwrap();
    e.pi.delete_container(&c);
}

#[test]
fn an_admin_transfer_moves_the_container_and_the_old_phone_reports_it() {
    let _g = exclusive();
    let Some(e) = env() else { return };
    let _p = server_url_policy(&e.pi);
    let (c, hotp, totp) = container_with_tokens(&e.pi);
    e.a.add(e.pi.container_register_link(&c, &[])).unwrap();
    // Lost phone: the admin starts a transfer; the new phone registers from its link.
    let link = e.pi.container_register_link(&c, &[("rollover", "1")]);
    let (_f2, new_phone) = phone();
    let r = new_phone.add(link).unwrap();
    assert_eq!(r.accounts.len(), 2, "{:?}", r.warnings);
    let new_env = Env {
        pi: PiServer::from_env().unwrap(),
        _f: Fixture::new(),
        a: new_phone.clone(),
    };
    codes_log_in(&new_env, &hotp, &totp);
    // The old phone is refused persistently: marked transferred, its accounts kept
    // until the user removes the container (no server call then).
    assert!(matches!(
        e.a.sync_container(c.clone()),
        Err(AuthenticatorError::ContainerTransferred)
    ));
    let list = e.a.list_containers().unwrap();
    assert_eq!(list[0].state, ContainerState::Transferred);
    assert_eq!(list[0].account_ids.len(), 2);
    assert_eq!(e.a.unregister_container(c.clone()).unwrap().len(), 2);
    assert!(e.a.list_accounts().unwrap().is_empty());
    new_phone.unregister_container(c.clone()).unwrap();
    e.pi.delete_container(&c);
}
