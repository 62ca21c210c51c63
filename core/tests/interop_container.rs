//! Interop of privacyIDEA smartphone containers against a real privacyIDEA 3.14
//! (started by tests/privacyidea/start.sh), through the core's own API: registration
//! without a passphrase, with an admin-defined one and with the user-store password;
//! synced HOTP/TOTP codes that log in with /validate/check; a token removed on the
//! server and gone after the next sync; the client policies refusing deletion and
//! unregistering; unregistering; transfers started by an admin and by the old phone
//! (with a passphrase, the server's QR image checked); the initial-transfer offer; the
//! automatic synchronization once per interval.
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

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn the_old_phone_starts_a_transfer_and_the_new_phone_takes_over() {
    let _g = exclusive();
    let Some(e) = env() else { return };
    let _p = server_url_policy(&e.pi);
    let (c, hotp, totp) = container_with_tokens(&e.pi);
    e.a.add(e.pi.container_register_link(&c, &[])).unwrap();
    // The server refuses a transfer its container policies do not allow.
    assert!(matches!(
        e.a.request_container_transfer(c.clone(), None),
        Err(AuthenticatorError::PolicyRefused { .. })
    ));
    let _rollover = e.pi.policy(
        "interop-container-rollover",
        "container",
        "container_client_rollover",
    );
    // A too short passphrase is refused before anything is sent.
    assert!(matches!(
        e.a.request_container_transfer(c.clone(), Some("12".into())),
        Err(AuthenticatorError::InvalidArgument { .. })
    ));
    let t =
        e.a.request_container_transfer(c.clone(), Some("2468".into()))
            .unwrap();
    assert!(t.link.starts_with("pia://container/"), "a container link");
    assert!(t.passphrase_protected);
    assert!(t.expires_at.unwrap() > now_unix(), "not expired");
    let png = t
        .qr_png
        .clone()
        .expect("the server's QR image shows the link");
    assert_eq!(
        authenticator_core::decode_qr_image(png).unwrap(),
        t.link,
        "the image passed on decodes to the link"
    );
    // Until the new phone registers, the old one keeps working.
    e.a.sync_container(c.clone()).unwrap();
    codes_log_in(&e, &hotp, &totp);

    let (_f2, new_phone) = phone();
    let cp = new_phone
        .preview(t.link.clone())
        .unwrap()
        .container
        .unwrap();
    assert!(cp.needs_passphrase);
    assert!(matches!(
        new_phone.add(t.link.clone()),
        Err(AuthenticatorError::PassphraseRequired)
    ));
    let r = new_phone
        .add_container(t.link.clone(), Some("2468".into()), None)
        .unwrap();
    assert_eq!(r.accounts.len(), 2, "{:?}", r.warnings);
    let new_env = Env {
        pi: PiServer::from_env().unwrap(),
        _f: Fixture::new(),
        a: new_phone.clone(),
    };
    codes_log_in_at(&new_env, &hotp, &totp, 1);
    // The old phone: refused persistently, marked transferred, accounts kept.
    assert!(matches!(
        e.a.sync_container(c.clone()),
        Err(AuthenticatorError::ContainerTransferred)
    ));
    let list = e.a.list_containers().unwrap();
    assert_eq!(list[0].state, ContainerState::Transferred);
    assert!(matches!(
        e.a.request_container_transfer(c.clone(), None),
        Err(AuthenticatorError::ContainerTransferred)
    ));
    assert_eq!(e.a.unregister_container(c.clone()).unwrap().len(), 2);
    new_phone.unregister_container(c.clone()).unwrap();
    e.pi.delete_container(&c);
}

#[test]
fn the_initial_transfer_offer_hands_over_only_what_the_user_chose() {
    let _g = exclusive();
    let Some(e) = env() else { return };
    let _p = server_url_policy(&e.pi);
    let _adopt = e.pi.policy(
        "interop-container-initial",
        "container",
        "initially_add_tokens_to_container",
    );
    // Two legacy tokens enrolled on this phone from privacyIDEA links (they carry serial=).
    let (kept, kept_link) = e.pi.init_otp("hotp", USER, "hp");
    let (left, left_link) = e.pi.init_otp("totp", USER, "tp");
    e.a.add(kept_link).unwrap();
    e.a.add(left_link).unwrap();
    let kept_id = id_of(&e.a, &kept).expect("the legacy link carries its serial");
    let left_id = id_of(&e.a, &left).unwrap();
    let c = e.pi.init_container(USER);
    let r = e.a.add(e.pi.container_register_link(&c, &[])).unwrap();
    assert_eq!(r.container_serial.as_deref(), Some(c.as_str()));
    let mut offer = r.adoptable_account_ids.clone();
    offer.sort();
    let mut both = vec![kept_id.clone(), left_id.clone()];
    both.sort();
    assert_eq!(offer, both, "both legacy accounts are offered");
    let listed = e.a.list_containers().unwrap();
    assert_eq!(
        listed[0].last_sync_at, None,
        "the first sync waits for the answer"
    );
    assert_eq!(listed[0].adoptable_account_ids.len(), 2);
    // Not due automatically while the offer is open.
    assert!(e.a.sync_due_containers().unwrap().is_empty());
    let s =
        e.a.sync_container_adopting(c.clone(), vec![kept_id.clone()])
            .unwrap();
    assert_eq!(s.updated, vec![kept_id.clone()], "{s:?}");
    assert!(s.added.is_empty() && s.removed.is_empty(), "{s:?}");
    let on_server: Vec<String> = e.pi.container(&c)["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["serial"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(on_server, vec![kept.clone()], "only the chosen token moved");
    let accounts = e.a.list_accounts().unwrap();
    let by_id = |id: &str| accounts.iter().find(|a| a.id == id).unwrap().clone();
    assert_eq!(
        by_id(&kept_id).container_serial.as_deref(),
        Some(c.as_str())
    );
    assert_eq!(by_id(&left_id).container_serial, None);
    // Its secret stayed valid (adopted by `update`, not renewed).
    let code = e.a.code(kept_id.clone()).unwrap();
    assert!(accepted(&e.pi, &format!("hp{}", code.code.expose())));
    assert!(e.a.list_containers().unwrap()[0]
        .adoptable_account_ids
        .is_empty());
    e.a.unregister_container(c.clone()).unwrap();
    e.pi.delete_container(&c);
}

#[test]
fn an_unlock_synchronizes_a_container_once_per_interval() {
    let _g = exclusive();
    let Some(pi) = PiServer::from_env() else {
        return;
    };
    pi.delete_tokens_of(USER);
    let _p = server_url_policy(&pi);
    let f = Fixture::new();
    let clock = TestClock::new(now_unix());
    let a = Authenticator::open_with(
        &f.path,
        f.keystore.clone(),
        OpenOptions {
            kdf: fast_kdf(),
            clock: clock.clone(),
            ..OpenOptions::default()
        },
    )
    .unwrap();
    let (c, hotp, _totp) = container_with_tokens(&pi);
    a.add(pi.container_register_link(&c, &[])).unwrap();
    assert_eq!(
        a.container_sync_interval().unwrap(),
        3600,
        "default: an hour"
    );
    assert!(
        a.sync_due_containers().unwrap().is_empty(),
        "just synchronized at registration"
    );
    // The server removes a token; an hour later an unlock picks it up.
    pi.container_remove(&c, &hotp);
    clock.advance(3599);
    assert!(a.sync_due_containers().unwrap().is_empty());
    clock.advance(2);
    let reports = a.sync_due_containers().unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].serial, c);
    let res = reports[0].result.clone().expect("synchronized");
    assert_eq!(res.removed.len(), 1, "{res:?}");
    assert!(id_of(&a, &hotp).is_none());
    // Turned off: an old sync no longer makes it due.
    a.set_container_sync_interval(0).unwrap();
    clock.advance(10 * 86_400);
    assert!(a.sync_due_containers().unwrap().is_empty());
    // A push for one of its tokens asks for a sync (the trigger that sets this is
    // unit-tested in vault::tests): due even with the interval off, cleared by it.
    rusqlite::Connection::open(&f.path)
        .unwrap()
        .execute("UPDATE containers SET sync_requested = 1", [])
        .unwrap();
    assert!(a.list_containers().unwrap()[0].sync_requested);
    let reports = a.sync_due_containers().unwrap();
    assert_eq!(reports.len(), 1);
    assert!(reports[0].error.is_none(), "{:?}", reports[0].error);
    assert!(!a.list_containers().unwrap()[0].sync_requested);
    assert!(a.sync_due_containers().unwrap().is_empty());
    assert!(matches!(
        a.set_container_sync_interval(8 * 86_400),
        Err(AuthenticatorError::InvalidArgument { .. })
    ));
    a.unregister_container(c.clone()).unwrap();
    pi.delete_container(&c);
}
