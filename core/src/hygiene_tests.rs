//! One test per type that carries a secret: its `Debug` shows no secret, and the secret
//! itself sits in a zeroize-on-drop container, so dropping the value wipes it.

#![allow(clippy::unwrap_used)]

use crate::crypto::Key256;
use crate::links::{parse_link, ParsedLink};
use crate::push::protocol::{generate_phone_key, WireChallenge};
use crate::push::SignedRequest;
use crate::redact::OtpCode;
use zeroize::ZeroizeOnDrop;

/// Compiles only when the secret's container wipes itself on drop.
fn wiped_on_drop<T: ZeroizeOnDrop>(_: &T) {}

const SECRET: &str = "KRUGS4ZANFZSAYJAONSWG4TFOQQGM33SEB2GK43UOM";

#[test]
fn a_vault_key_is_redacted_and_wiped() {
    let k = Key256::from_vec(vec![0x41; 32]).unwrap();
    assert!(!format!("{k:?}").contains("41"));
    assert!(!format!("{k:?}").contains('A'));
    wiped_on_drop(k.inner_for_tests());
}

#[test]
fn an_otp_code_is_redacted_and_wiped() {
    let c = OtpCode::new("646738".into());
    assert!(!format!("{c:?}").contains("646738"));
    wiped_on_drop(c.inner_for_tests());
    let v = crate::engine::CodeValue {
        code: c,
        valid_until: Some(1),
        period: Some(30),
        counter: None,
    };
    assert!(!format!("{v:?}").contains("646738"));
}

#[test]
fn a_parsed_otp_secret_is_redacted_and_wiped() {
    let ParsedLink::Otp { entries, .. } =
        parse_link(&format!("otpauth://totp/A:b?secret={SECRET}")).unwrap()
    else {
        panic!("not an OTP link")
    };
    let e = &entries[0];
    assert!(!format!("{e:?}").contains(SECRET));
    assert!(!format!("{e:?}").contains(&format!("{:?}", &e.secret[..4])));
    wiped_on_drop(&e.secret);
}

#[test]
fn an_enrollment_credential_is_redacted_and_wiped() {
    let ParsedLink::Push { enrollment, .. } = parse_link(
        "otpauth://pipush/a?url=https://pi.example/ttype/push&ttl=5&enrollment_credential=c0ffee1234&v=1&serial=PIPU2",
    )
    .unwrap() else {
        panic!("not a push link")
    };
    assert!(!format!("{enrollment:?}").contains("c0ffee1234"));
    wiped_on_drop(&enrollment.enrollment_credential);
}

#[test]
fn a_phone_key_is_wiped_and_signed_requests_show_no_values() {
    let k = generate_phone_key(2048).unwrap();
    wiped_on_drop(&k.pkcs8);
    let sig = crate::push::protocol::sign(&k.pkcs8, "N|S").unwrap();
    let r = SignedRequest {
        account_id: "a".into(),
        serial: "S".into(),
        url: "https://pi.example".into(),
        verify_tls: true,
        fields: vec![
            ("signature".into(), sig.clone()),
            ("enrollment_credential".into(), "c0ffee1234".into()),
        ],
    };
    let shown = format!("{r:?}");
    assert!(shown.contains("signature") && !shown.contains(&sig[..16]));
    assert!(!shown.contains("c0ffee1234"));
}

#[test]
fn a_challenge_shows_no_signature() {
    let m: std::collections::HashMap<String, String> = [
        ("nonce", "NONCE"),
        ("url", "https://pi.example/ttype/push"),
        ("serial", "PIPU1"),
        ("question", "q"),
        ("title", "t"),
        ("sslverify", "1"),
        ("signature", "SIGNATURESIGNATURE"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let c = WireChallenge::from_map(&m).unwrap();
    assert!(!format!("{c:?}").contains("SIGNATURESIGNATURE"));
}
