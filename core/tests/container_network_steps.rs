//! Container network steps run outside the engine lock: while a registration's finalize
//! request hangs on a slow server, the same vault still answers (codes, lists), and the
//! failed registration stores nothing. The transport is an in-test stand-in that blocks
//! until released (unit-test fake only, never shipped).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use authenticator_core::{
    Authenticator, AuthenticatorError, HttpResponse, OpenOptions, Transport, TransportError,
};
use common::*;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A registration link of the container protocol note (Appendix A.1).
const LINK: &str = "pia://container/SMPH0000D060?issuer=privacyIDEA&ttl=10&nonce=378b20b0beeded91bc0c67b975c9ed12f954a786&time=2026-12-01T06%3A32%3A38.508477%2B00%3A00&url=http%3A//127.0.0.1%3A5099/&serial=SMPH0000D060&key_algorithm=secp384r1&hash_algorithm=SHA256&ssl_verify=False&passphrase=&send_passphrase=False";

/// Tells the test a request arrived, then waits for the test's release.
struct HangingTransport {
    entered: Mutex<Sender<String>>,
    release: Mutex<Receiver<()>>,
}

impl Transport for HangingTransport {
    fn post_form(
        &self,
        url: &str,
        _form: &[(&str, &str)],
        _verify_tls: bool,
    ) -> Result<HttpResponse, TransportError> {
        self.entered.lock().unwrap().send(url.to_string()).unwrap();
        self.release
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(30))
            .unwrap();
        Ok(HttpResponse {
            status: 500,
            body: "{}".into(),
        })
    }
    fn get(
        &self,
        _url: &str,
        _query: &[(&str, &str)],
        _verify_tls: bool,
    ) -> Result<HttpResponse, TransportError> {
        unreachable!("no GET in a registration")
    }
}

#[test]
fn the_vault_answers_while_a_registration_waits_for_the_server() {
    let f = Fixture::new();
    let (entered_tx, entered) = channel();
    let (release, release_rx) = channel();
    let a = Authenticator::open_with(
        &f.path,
        f.keystore.clone(),
        OpenOptions {
            transport: Some(Arc::new(HangingTransport {
                entered: Mutex::new(entered_tx),
                release: Mutex::new(release_rx),
            })),
            ..f.options()
        },
    )
    .unwrap();
    let totp = a
        .add("otpauth://totp/ACME:alice?secret=JBSWY3DPEHPK3PXP&issuer=ACME".into())
        .unwrap()
        .accounts[0]
        .id
        .clone();
    let registering = {
        let a = a.clone();
        std::thread::spawn(move || a.add(LINK.into()))
    };
    let url = entered.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(url.ends_with("/container/register/finalize"), "{url}");
    // The finalize request hangs; the vault still answers from another thread.
    let (done_tx, done) = channel();
    {
        let a = a.clone();
        let totp = totp.clone();
        std::thread::spawn(move || {
            let code = a.code(totp).map(|c| c.code.expose().to_string());
            let n = a.list_accounts().map(|l| l.len());
            done_tx.send((code, n)).unwrap();
        });
    }
    let (code, n) = done
        .recv_timeout(Duration::from_secs(5))
        .expect("the engine is not held during the finalize request");
    assert_eq!(code.unwrap().len(), 6);
    assert_eq!(n.unwrap(), 1);
    release.send(()).unwrap();
    let r = registering.join().unwrap();
    assert!(
        matches!(r, Err(AuthenticatorError::Server { .. })),
        "a server error: {r:?}"
    );
    assert!(a.list_containers().unwrap().is_empty(), "nothing stored");
}
