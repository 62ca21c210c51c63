//! Unit tests of the container protocol: every test vector of Appendix A of
//! ../shared/docs/privacyidea-container-protocol.md, the other observed messages of the
//! note, its pitfalls, and round trips.

#![allow(clippy::unwrap_used)]
use super::*;

// Vectors copied byte for byte from the note (Appendix A, sections 4.2, 8.1 and 9).
const PRIVATE_PEM: &str = r#"-----BEGIN PRIVATE KEY-----
MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDBtEWs99mM82Dy3ENst
2/cuU3WrJ/MVfRiF+O3A/SZJ+6dc1OwdqRWVi8SNy/68xUWhZANiAARJTt5must6
4MJZcchRZEpJvpXD5LBzgcFy32/uFX/U1zE02uqKSMCIIBfA3iHg4OG8uGEePpY0
yed67z3M3J5caqjEaSL24++igYNwYecN4lSR8tEKW0Mij9D/4GZ7N/I=
-----END PRIVATE KEY-----
"#;
const PUBLIC_PEM: &str = r#"-----BEGIN PUBLIC KEY-----
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAESU7eZrrLeuDCWXHIUWRKSb6Vw+Swc4HB
ct9v7hV/1NcxNNrqikjAiCAXwN4h4ODhvLhhHj6WNMnneu89zNyeXGqoxGki9uPv
ooGDcGHnDeJUkfLRCltDIo/Q/+Bmezfy
-----END PUBLIC KEY-----
"#;
const A1_QR: &str = r#"pia://container/SMPH0000D060?issuer=privacyIDEA&ttl=10&nonce=378b20b0beeded91bc0c67b975c9ed12f954a786&time=2026-12-01T06%3A32%3A38.508477%2B00%3A00&url=http%3A//127.0.0.1%3A5099/&serial=SMPH0000D060&key_algorithm=secp384r1&hash_algorithm=SHA256&ssl_verify=False&passphrase=&send_passphrase=False"#;
const A2_PUBLIC_SERVER_KEY: &str = r#"PYpGutZfdSEiKTQHzxmQa2gdZ47UrSu0hC20e3vICxI="#;
const A2_INIT_VECTOR: &str = r#"4kOkC8xZzIV-ScJwwxr_KA=="#;
const A2_TAG: &str = r#"XHLhobEnxjjLQ28irVg7Lw=="#;
const A2_CONTAINER_DICT_SERVER: &str = r#"9VA1yGYIxJBoURFmbZWf_-0f8UZSsGt6FXPVMySOrL_wOuPmmrtzOu7eyjC-TKEevW0WlNpuL9izm3pA09Na_4VJEPZNDWT28sqD3VoIt8YEq5reYQ4Sq4KQQD2nxkKZzxT52i18q5lQi1U58_R_s1OAYunQmpLF6o9fRjrxrgmqSOelu2qIZl3kp0FashTl8PYSLyoIdLWZdcs0Ixh1El7cmsCP_FXvTpoO7nhS-gdNvhYLadOADaPpex1ZvGSnFr2vPGruKYVb2G05ukDayzymvSYikn2Q0BdRXz2DL5FuIaa9ssH7B_NacIiH_D44tpkWt_BIPT6BnMnW1AGSfUtdiQPVa9KQG1YfVrlp2RRbExyaFCeQt1pvnfRKLunkv1Pzc6pqn_arVjZ-OLj0RW8mhEPNYfMdDBm5nW_TcQt5sDwZkyGg14QSkJ2uNQRHFlWcvw5pbOUvsbfNJXH1dmln_kW3DtlGXqeKONtC4uEe5PdH6sFd1KZvdZnWMKC6GTSpzn9ZUUNwwcWWUENMhFtoZvTRh2OvATI4cfqpuNa9eE7dJGHURR2-4fJ6kXyVPkZO0f_ua9MDu7GLKQh6gSw9hEzWfdr4_j6bMMsAIqE9kcGDrJ4puYbqOGAc93INbuisBSO1s99YC4DFP21Gki_AyufB9p3ijXB6ibOcKKgKXFKtGIQVi0BWu6g8w8TCYzx-bu4-gLpVqtVoUR2gm0Wm_VL-O3YcitNdiHhhzkPd3EvuEr0xDclLmkvXl3kNLtrmio5V_L6ui9A0Pexuml_w2-fzL00U0SowY9X4LfBnAzxPj6W-hshzo6EQq29EUwFXj_4PVk11Z_kN0DTNyCb4Egy8AnaFtm7NEPI-D0wbQYLmzE9R_RSBDcz4x_ylfE5yoo1qpBV8AwXE4SiB_OauSxIRmxQ40XGJgPm86OgSGm7YXmRZZHfvGa4W4po="#;
const A2_PLAINTEXT: &str = r#"{"container": {"serial": "SMPH0000D060", "type": "smartphone"}, "tokens": {"add": ["otpauth://totp/alice%40defrealm?secret=2IY775C47MVSXHKIS5O6IDBN24JMFPHT&period=30&digits=6&creator=privacyidea&issuer=privacyIDEA-local&serial=TOTP0000209A", "otpauth://hotp/alice%40defrealm?secret=NPZFLM5HD72WJDZWVSVGIDFKFAZWBDDN&counter=1&digits=6&creator=privacyidea&issuer=privacyIDEA-local&serial=OATH0001FE15", "otpauth://pipush/alice%40defrealm?url=http%3A//127.0.0.1%3A5099/ttype/push&ttl=10&issuer=privacyIDEA-local&enrollment_credential=88651b31fc1bfb6bde4be8b0e2c811e1429c4466&v=1&serial=PIPU00005D91&sslverify=0&poll_only=True"], "update": [{"counter": 0, "offline": false, "serial": "OATH00001326", "tokentype": "hotp"}]}}"#;
const A1_SIGNED: &str = r#"378b20b0beeded91bc0c67b975c9ed12f954a786|2026-12-01T06:32:38.508477+00:00|SMPH0000D060|http://127.0.0.1:5099/container/register/finalize|Google|Pixel 8"#;
const A1_SIGNATURE: &str = r#"MGQCMA9M5Z1wW2RAycFehVYo1ncMeMQD4o2+uVoUWcUNv2ENh/TVGciC7/9iGjXipQluYQIwSY5NiyeFU+qxRfZVPp5mrpTIhQ6oFeS7cfXCXhocYWazONE+OIqG4V3ncTvmVGvm"#;
const A2_NONCE: &str = r#"dd454e1258a28318e1522efc4d3b68c6a9cb5e2b"#;
const A2_TIME: &str = r#"2026-12-01T06:32:40.540527+00:00"#;
const A2_X25519_PRIVATE: &str = r#"MHBE8cLkRVR8BAfU9wuPQmYf/qr/NaKu7gsv6kwtllo="#;
const A2_X25519_PUBLIC: &str = r#"rykoLMdDLaBKfHGocJJovYNJegMAeTm7R8E06ccv0VI="#;
const A2_DICT: &str = r#"{"container_serial":"SMPH0000D060","type":"smartphone","tokens":[{"serial":"OATH00001326","tokentype":"hotp"}]}"#;
const A2_SIGNED: &str = r#"dd454e1258a28318e1522efc4d3b68c6a9cb5e2b|2026-12-01T06:32:40.540527+00:00|SMPH0000D060|http://127.0.0.1:5099/container/synchronize|rykoLMdDLaBKfHGocJJovYNJegMAeTm7R8E06ccv0VI=|{"container_serial":"SMPH0000D060","type":"smartphone","tokens":[{"serial":"OATH00001326","tokentype":"hotp"}]}"#;
const A2_SIGNATURE: &str = r#"MGYCMQCNtcDuwwXrJg117IErd8svA+jj+Ot8aNgbz1dWnX5C3Fp/MvDIby3wFKOkt+S6nyECMQDVp/0d3wK0dDioaPxXfLio/fqc+ODV99hVs9ldE9xGzZ5QWp+52FGsuJJffKqVp3I="#;
const A2_SHARED: &str = r#"aM2AGOQpguRToivZvLoLtyBMKIoVXvF38UAJW2iF8GA="#;
const TRANSFER_QR: &str = r#"pia://container/SMPH0000D060?issuer=privacyIDEA&ttl=10&nonce=e9e8dc3c704018def4a98d47494914ccbe591422&time=2026-12-01T06%3A33%3A06.697205%2B00%3A00&url=http%3A//127.0.0.1%3A5099/&serial=SMPH0000D060&key_algorithm=secp384r1&hash_algorithm=SHA256&ssl_verify=False&passphrase=Transfer%20PIN%20shown%20on%20the%20old%20phone&send_passphrase=False"#;
const ROLLOVER_SIGNED: &str = r#"c83ca2749668d13ca6a66e7351f14735b1acf4bb|2026-12-01T06:33:06.635960+00:00|SMPH0000D060|http://127.0.0.1:5099/container/rollover"#;
const TERMINATE_SIGNED: &str = r#"b7002c8d7d97590b6cf8c7f60d9ff6d21fa6d865|2026-12-01T06:33:13.436154+00:00|SMPH0000D060|http://127.0.0.1:5099/container/register/terminate/client"#;
const FINALIZE_4711_SIGNED: &str = r#"fb53d42b5c5da43883732593d5991f8d9b7dc840|2026-12-01T06:33:14.186337+00:00|SMPH0001CE36|http://127.0.0.1:5099/container/register/finalize|4711"#;
const FINALIZE_GRUEN_SIGNED: &str = r#"e9e8dc3c704018def4a98d47494914ccbe591422|2026-12-01T06:33:06.697205+00:00|SMPH0000D060|http://127.0.0.1:5099/container/register/finalize|Fairphone|FP5 Grün|2468"#;

fn vector_key() -> ContainerKey {
    use p384::pkcs8::DecodePrivateKey;
    ContainerKey {
        signing: p384::ecdsa::SigningKey::from_pkcs8_pem(PRIVATE_PEM).unwrap(),
    }
}

fn b64(s: &str) -> Vec<u8> {
    data_encoding::BASE64.decode(s.as_bytes()).unwrap()
}

fn vector_server() -> ContainerServer {
    ContainerServer {
        serial: "SMPH0000D060".into(),
        server_url: "http://127.0.0.1:5099/".into(),
        tls_verify: false,
    }
}

fn challenge(nonce: &str, time_stamp: &str) -> Challenge {
    Challenge {
        nonce: nonce.into(),
        time_stamp: time_stamp.into(),
        enc_key_algorithm: Some("x25519".into()),
        transaction_id: None,
    }
}

fn container_err(r: Result<impl std::fmt::Debug>) -> ContainerError {
    match r {
        Err(Error::Container(c)) => c,
        other => panic!("expected a container error, got {other:?}"),
    }
}

fn sync_answer_body(server_key: &str, iv: &str, tag: &str, ct: &str, policies: &str) -> String {
    format!(
        r#"{{"id": 1, "jsonrpc": "2.0", "result": {{"status": true, "value": {{
   "container_dict_server": "{ct}",
   "encryption_algorithm": "AES",
   "encryption_params": {{"algorithm": "AES", "mode": "GCM",
                         "init_vector": "{iv}", "tag": "{tag}"}},
   "public_server_key": "{server_key}",
   "policies": {policies},
   "server_url": "http://127.0.0.1:5099/"}}}},
 "time": 1796105322.70, "version": "privacyIDEA 3.14", "versionnumber": "3.14",
 "signature": "rsa_sha256_pss:3484b6"}}"#
    )
}

const OBSERVED_POLICIES: &str = r#"{"container_client_rollover": false, "disable_client_container_unregister": false,
                "disable_client_token_deletion": true, "initially_add_tokens_to_container": true}"#;

// ----- Appendix A: the phone key

#[test]
fn vector_public_client_key_is_the_pem_sent() {
    let key = vector_key();
    assert_eq!(key.public_key_pem().unwrap(), PUBLIC_PEM);
    // Saved and read back (what the service seals), the key is the same.
    let der = key.to_pkcs8_der().unwrap();
    let back = ContainerKey::from_pkcs8_der(&der).unwrap();
    assert_eq!(back.public_key_pem().unwrap(), PUBLIC_PEM);
    assert!(matches!(
        ContainerKey::from_pkcs8_der(b"not a key"),
        Err(Error::Storage(_))
    ));
}

// ----- Appendix A.1: registration

#[test]
fn vector_a1_link() {
    let link = parse_container_link(A1_QR).unwrap();
    assert_eq!(link.serial, "SMPH0000D060");
    assert_eq!(link.issuer, "privacyIDEA");
    assert_eq!(link.server_url, "http://127.0.0.1:5099/");
    assert_eq!(link.nonce, "378b20b0beeded91bc0c67b975c9ed12f954a786");
    assert_eq!(link.time, "2026-12-01T06:32:38.508477+00:00");
    assert_eq!(link.ttl_minutes, 10);
    assert_eq!(link.key_algorithm, "secp384r1");
    assert_eq!(link.hash_algorithm, "SHA256");
    assert!(!link.tls_verify);
    assert_eq!(link.warnings.len(), 1);
    assert_eq!(link.passphrase_prompt, None);
    assert!(!link.send_passphrase);
    assert!(!link.needs_passphrase());
    assert!(link.extra.is_empty());
    assert_eq!(link.server(), vector_server());
}

#[test]
fn vector_a1_signed_string_and_signature() {
    let link = parse_container_link(A1_QR).unwrap();
    let device = DeviceInfo {
        brand: Some("Google".into()),
        model: Some("Pixel 8".into()),
    };
    let message = finalize_message(&link, &device, None).unwrap();
    assert_eq!(message.as_str(), A1_SIGNED);
    // The signature the server accepted verifies with the vector key.
    verify_signature(PUBLIC_PEM, A1_SIGNED, A1_SIGNATURE).unwrap();
    assert!(matches!(
        verify_signature(
            PUBLIC_PEM,
            &A1_SIGNED.replace("Pixel 8", "Pixel 9"),
            A1_SIGNATURE
        ),
        Err(Error::BadSignature)
    ));
    // Signed with the public key appended (what the documentation says) it would not be
    // the string the server checks.
    assert!(verify_signature(
        PUBLIC_PEM,
        &format!("{A1_SIGNED}|{PUBLIC_PEM}"),
        A1_SIGNATURE
    )
    .is_err());
}

#[test]
fn vector_a1_form() {
    let link = parse_container_link(A1_QR).unwrap();
    let device = DeviceInfo {
        brand: Some("Google".into()),
        model: Some("Pixel 8".into()),
    };
    let key = vector_key();
    let req = finalize_request(&link, &key, &device, None).unwrap();
    assert_eq!(req.url, "http://127.0.0.1:5099/container/register/finalize");
    assert!(!req.verify_tls);
    let names: Vec<&str> = req.fields.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        names,
        [
            "container_serial",
            "public_client_key",
            "signature",
            "device_brand",
            "device_model"
        ]
    );
    assert_eq!(req.field("container_serial"), Some("SMPH0000D060"));
    assert_eq!(req.field("public_client_key"), Some(PUBLIC_PEM));
    assert_eq!(req.field("device_brand"), Some("Google"));
    assert_eq!(req.field("device_model"), Some("Pixel 8"));
    verify_signature(PUBLIC_PEM, A1_SIGNED, req.field("signature").unwrap()).unwrap();
}

#[test]
fn vector_a1_device_info_is_optional_each_on_its_own() {
    let link = parse_container_link(A1_QR).unwrap();
    let base = "378b20b0beeded91bc0c67b975c9ed12f954a786|2026-12-01T06:32:38.508477+00:00|SMPH0000D060|http://127.0.0.1:5099/container/register/finalize";
    let cases = [
        (None, None, base.to_string()),
        (Some("Google"), None, format!("{base}|Google")),
        (None, Some("Pixel 8"), format!("{base}|Pixel 8")),
        (Some(""), Some(""), base.to_string()),
    ];
    for (brand, model, expected) in cases {
        let device = DeviceInfo {
            brand: brand.map(String::from),
            model: model.map(String::from),
        };
        assert_eq!(
            finalize_message(&link, &device, None).unwrap().as_str(),
            expected
        );
        let req = finalize_request(&link, &vector_key(), &device, None).unwrap();
        assert_eq!(req.field("device_brand"), brand.filter(|b| !b.is_empty()));
        assert_eq!(req.field("device_model"), model.filter(|m| !m.is_empty()));
    }
}

// ----- Section 4.2: the passphrase variants

#[test]
fn observed_admin_passphrase_is_signed_not_sent() {
    // The link of SMPH0001CE36 is not in the note; rebuilt from its signed string.
    let qr = "pia://container/SMPH0001CE36?issuer=privacyIDEA&ttl=10&nonce=fb53d42b5c5da43883732593d5991f8d9b7dc840&time=2026-12-01T06%3A33%3A14.186337%2B00%3A00&url=http%3A//127.0.0.1%3A5099/&serial=SMPH0001CE36&key_algorithm=secp384r1&hash_algorithm=SHA256&ssl_verify=False&passphrase=Your%20employee%20number%3F&send_passphrase=False";
    let link = parse_container_link(qr).unwrap();
    assert_eq!(
        link.passphrase_prompt.as_deref(),
        Some("Your employee number?")
    );
    assert!(link.needs_passphrase() && !link.send_passphrase);
    let none = DeviceInfo::default();
    assert_eq!(
        finalize_message(&link, &none, Some("4711"))
            .unwrap()
            .as_str(),
        FINALIZE_4711_SIGNED
    );
    let req = finalize_request(&link, &vector_key(), &none, Some("4711")).unwrap();
    assert_eq!(req.field("passphrase"), None);
    verify_signature(
        PUBLIC_PEM,
        FINALIZE_4711_SIGNED,
        req.field("signature").unwrap(),
    )
    .unwrap();
    for missing in [None, Some("")] {
        assert_eq!(
            container_err(finalize_request(&link, &vector_key(), &none, missing)),
            ContainerError::PassphraseRequired
        );
    }
}

#[test]
fn observed_transfer_link_with_utf8_device_and_passphrase() {
    let link = parse_container_link(TRANSFER_QR).unwrap();
    assert_eq!(
        link.passphrase_prompt.as_deref(),
        Some("Transfer PIN shown on the old phone")
    );
    assert_eq!(link.time, "2026-12-01T06:33:06.697205+00:00");
    let device = DeviceInfo {
        brand: Some("Fairphone".into()),
        model: Some("FP5 Grün".into()),
    };
    let message = finalize_message(&link, &device, Some("2468")).unwrap();
    assert_eq!(message.as_str(), FINALIZE_GRUEN_SIGNED);
    // UTF-8, not UTF-16 code units cut to bytes (pitfall 15).
    assert!(message.as_bytes().windows(2).any(|w| w == [0xC3, 0xBC]));
    let key = ContainerKey::generate();
    let req = finalize_request(&link, &key, &device, Some("2468")).unwrap();
    verify_signature(
        &key.public_key_pem().unwrap(),
        FINALIZE_GRUEN_SIGNED,
        req.field("signature").unwrap(),
    )
    .unwrap();
}

#[test]
fn user_store_passphrase_is_signed_and_sent() {
    let qr = A1_QR.replace(
        "passphrase=&send_passphrase=False",
        "passphrase=Please%20enter%20the%20passphrase%20of%20your%20user%20store.&send_passphrase=True",
    );
    let link = parse_container_link(&qr).unwrap();
    assert!(link.send_passphrase);
    let req =
        finalize_request(&link, &vector_key(), &DeviceInfo::default(), Some("pw+ /=")).unwrap();
    assert_eq!(req.field("passphrase"), Some("pw+ /="));
    let signed = format!(
        "{}|pw+ /=",
        A1_SIGNED.strip_suffix("|Google|Pixel 8").unwrap()
    );
    verify_signature(PUBLIC_PEM, &signed, req.field("signature").unwrap()).unwrap();
    // send_passphrase=True without a prompt still needs one.
    let qr = A1_QR.replace("send_passphrase=False", "send_passphrase=True");
    let link = parse_container_link(&qr).unwrap();
    assert!(link.needs_passphrase());
    // A link without a prompt signs no passphrase even if one is given.
    let link = parse_container_link(A1_QR).unwrap();
    let req = finalize_request(&link, &vector_key(), &DeviceInfo::default(), Some("x")).unwrap();
    assert_eq!(req.field("passphrase"), None);
    assert!(!finalize_message(&link, &DeviceInfo::default(), Some("x"))
        .unwrap()
        .ends_with("|x"));
}

#[test]
fn finalize_answer() {
    let body = format!(
        r#"{{"result": {{"status": true, "value": {{"success": true, "policies": {OBSERVED_POLICIES}}}}}}}"#
    );
    let p = parse_finalize_answer(200, &body).unwrap();
    assert_eq!(
        p,
        ClientPolicies {
            client_rollover: false,
            disable_unregister: false,
            disable_token_deletion: true,
            initially_add_tokens: true,
        }
    );
    let body = r#"{"result": {"status": true, "value": {"success": false}}}"#;
    assert!(matches!(
        container_err(parse_finalize_answer(200, body)),
        ContainerError::InvalidAnswer {
            field: "success",
            ..
        }
    ));
}

// ----- Section 5 and Appendix A.2: challenge and first synchronization

#[test]
fn observed_challenge_request_and_answer() {
    let req = challenge_request(&vector_server(), Operation::Synchronize).unwrap();
    assert_eq!(req.url, "http://127.0.0.1:5099/container/challenge");
    assert_eq!(
        req.fields,
        [
            ("container_serial", "SMPH0000D060".to_string()),
            (
                "scope",
                "http://127.0.0.1:5099/container/synchronize".to_string()
            )
        ]
    );
    assert!(challenge_request(&vector_server(), Operation::Finalize).is_err());
    let body = r#"{"result": {"status": true, "value": {
      "enc_key_algorithm": "x25519",
      "nonce": "dd454e1258a28318e1522efc4d3b68c6a9cb5e2b",
      "time_stamp": "2026-12-01T06:32:40.540527+00:00",
      "transaction_id": "08677837389413044195"}}}"#;
    let c = parse_challenge_answer(200, body).unwrap();
    assert_eq!(c.nonce, A2_NONCE);
    assert_eq!(c.time_stamp, A2_TIME);
    assert_eq!(c.transaction_id.as_deref(), Some("08677837389413044195"));
    let bad = body.replace("x25519", "secp256r1");
    assert!(parse_challenge_answer(200, &bad).is_err());
    let bad = body.replace(A2_NONCE, "dd45|4e");
    assert!(matches!(
        container_err(parse_challenge_answer(200, &bad)),
        ContainerError::InvalidAnswer { field: "nonce", .. }
    ));
}

fn vector_sync_key() -> SyncKey {
    SyncKey::from_bytes(b64(A2_X25519_PRIVATE).try_into().unwrap())
}

fn vector_reported() -> Vec<ReportedToken> {
    vec![ReportedToken::Serial {
        serial: "OATH00001326".into(),
        tokentype: "hotp".into(),
    }]
}

#[test]
fn vector_a2_sync_request() {
    let sync_key = vector_sync_key();
    assert_eq!(sync_key.public_b64(), A2_X25519_PUBLIC);
    assert_eq!(sync_key.public_b64().len(), 44);
    let dict = container_dict_client("SMPH0000D060", &vector_reported()).unwrap();
    assert_eq!(dict.as_str(), A2_DICT);
    let c = challenge(A2_NONCE, A2_TIME);
    let server = vector_server();
    assert_eq!(
        sync_message(&server, &c, A2_X25519_PUBLIC, &dict).as_str(),
        A2_SIGNED
    );
    verify_signature(PUBLIC_PEM, A2_SIGNED, A2_SIGNATURE).unwrap();
    let req = sync_request(&server, &c, &vector_key(), &sync_key, &vector_reported()).unwrap();
    assert_eq!(req.url, "http://127.0.0.1:5099/container/synchronize");
    assert_eq!(req.field("container_serial"), Some("SMPH0000D060"));
    assert_eq!(req.field("public_enc_key_client"), Some(A2_X25519_PUBLIC));
    // One serialization for the field and the signed string (pitfall 7).
    assert_eq!(req.field("container_dict_client"), Some(A2_DICT));
    verify_signature(PUBLIC_PEM, A2_SIGNED, req.field("signature").unwrap()).unwrap();
}

#[test]
fn vector_a2_shared_secret_and_decryption() {
    let sync_key = vector_sync_key();
    let server_public: [u8; 32] = b64(A2_PUBLIC_SERVER_KEY).try_into().unwrap();
    let shared = sync_key.shared(server_public).unwrap();
    assert_eq!(shared.as_slice(), b64(A2_SHARED).as_slice());
    let plain = decrypt_sync_payload(
        &sync_key,
        A2_PUBLIC_SERVER_KEY,
        A2_INIT_VECTOR,
        A2_TAG,
        A2_CONTAINER_DICT_SERVER,
    )
    .unwrap();
    assert_eq!(plain.len(), 719);
    assert_eq!(plain.as_slice(), A2_PLAINTEXT.as_bytes());
}

#[test]
fn vector_a2_sync_answer() {
    let body = sync_answer_body(
        A2_PUBLIC_SERVER_KEY,
        A2_INIT_VECTOR,
        A2_TAG,
        A2_CONTAINER_DICT_SERVER,
        OBSERVED_POLICIES,
    );
    let answer = parse_sync_answer(200, &body, &vector_sync_key(), "SMPH0000D060").unwrap();
    assert_eq!(answer.container.serial, "SMPH0000D060");
    assert_eq!(answer.container.container_type, "smartphone");
    assert_eq!(answer.add.len(), 3);
    assert!(answer.add[0]
        .starts_with("otpauth://totp/alice%40defrealm?secret=2IY775C47MVSXHKIS5O6IDBN24JMFPHT"));
    assert!(answer.add[1].contains("counter=1") && answer.add[1].ends_with("serial=OATH0001FE15"));
    assert!(answer.add[2].starts_with("otpauth://pipush/"));
    assert_eq!(
        answer.update,
        [SyncUpdate {
            serial: "OATH00001326".into(),
            tokentype: "hotp".into(),
            offline: false,
            counter: Some(0),
            otp: None,
        }]
    );
    assert_eq!(answer.offline, None);
    assert!(answer.policies.disable_token_deletion && answer.policies.initially_add_tokens);
    assert!(!answer.policies.client_rollover && !answer.policies.disable_unregister);
    assert_eq!(answer.server_url.as_deref(), Some("http://127.0.0.1:5099/"));
    // The links the answer carries are each parsed by the one link parser.
    for link in &answer.add {
        crate::links::parse_link(link).unwrap();
    }
    // Debug shows no secret.
    let dbg = format!("{answer:?}");
    assert!(
        !dbg.contains("2IY775C47") && !dbg.contains("88651b31fc"),
        "{dbg}"
    );
    // An answer for another container is refused.
    assert!(matches!(
        container_err(parse_sync_answer(
            200,
            &body,
            &vector_sync_key(),
            "SMPH0001CE36"
        )),
        ContainerError::InvalidAnswer { .. }
    ));
}

#[test]
fn pitfall_3_only_raw_key_and_16_byte_iv_decrypt() {
    let sync_key = vector_sync_key();
    // A 12-byte IV (what standard AES-GCM helpers take) is refused before decrypting.
    let iv12 = data_encoding::BASE64URL.encode(&[0u8; 12]);
    assert!(matches!(
        container_err(decrypt_sync_payload(
            &sync_key,
            A2_PUBLIC_SERVER_KEY,
            &iv12,
            A2_TAG,
            A2_CONTAINER_DICT_SERVER
        )),
        ContainerError::InvalidAnswer {
            field: "init_vector",
            ..
        }
    ));
    // A wrong tag, ciphertext or ephemeral key fails authentication.
    let mut tag = b64(A2_TAG);
    tag[0] ^= 1;
    let tag = data_encoding::BASE64URL.encode(&tag);
    assert_eq!(
        container_err(decrypt_sync_payload(
            &sync_key,
            A2_PUBLIC_SERVER_KEY,
            A2_INIT_VECTOR,
            &tag,
            A2_CONTAINER_DICT_SERVER
        )),
        ContainerError::DecryptFailed
    );
    assert_eq!(
        container_err(decrypt_sync_payload(
            &SyncKey::generate(),
            A2_PUBLIC_SERVER_KEY,
            A2_INIT_VECTOR,
            A2_TAG,
            A2_CONTAINER_DICT_SERVER
        )),
        ContainerError::DecryptFailed
    );
    // An all-zero (low-order) server key gives no shared secret.
    let zero = data_encoding::BASE64URL.encode(&[0u8; 32]);
    assert!(matches!(
        container_err(decrypt_sync_payload(
            &sync_key,
            &zero,
            A2_INIT_VECTOR,
            A2_TAG,
            A2_CONTAINER_DICT_SERVER
        )),
        ContainerError::InvalidAnswer {
            field: "public_server_key",
            ..
        }
    ));
    // Unpadded base64 is refused.
    let unpadded = A2_TAG.trim_end_matches('=');
    assert!(decrypt_sync_payload(
        &sync_key,
        A2_PUBLIC_SERVER_KEY,
        A2_INIT_VECTOR,
        unpadded,
        A2_CONTAINER_DICT_SERVER
    )
    .is_err());
}

/// Encrypts a plaintext as the server does, for round trips.
fn server_encrypt(client_public_b64: &str, plaintext: &[u8]) -> String {
    use aes_gcm::aead::generic_array::{typenum::U16, GenericArray};
    use aes_gcm::aead::{AeadInPlace, KeyInit};
    let server = x25519_dalek::StaticSecret::random_from_rng(rand::rngs::OsRng);
    let client: [u8; 32] = b64(client_public_b64).try_into().unwrap();
    let shared = server.diffie_hellman(&x25519_dalek::PublicKey::from(client));
    let cipher = aes_gcm::AesGcm::<aes_gcm::aes::Aes256, U16>::new(GenericArray::from_slice(
        shared.as_bytes(),
    ));
    let iv: [u8; 16] = rand::random();
    let mut buf = plaintext.to_vec();
    let tag = cipher
        .encrypt_in_place_detached(GenericArray::from_slice(&iv), b"", &mut buf)
        .unwrap();
    let url = |b: &[u8]| data_encoding::BASE64URL.encode(b);
    sync_answer_body(
        &url(x25519_dalek::PublicKey::from(&server).as_bytes()),
        &url(&iv),
        &url(&tag),
        &url(&buf),
        r#"{"container_client_rollover": "False", "disable_client_container_unregister": true,
            "disable_client_token_deletion": false}"#,
    )
}

#[test]
fn sync_round_trip_with_otp_reports_and_offline_list() {
    let sync_key = SyncKey::generate();
    let reported = [
        ReportedToken::Serial {
            serial: "TOTP1".into(),
            tokentype: "totp".into(),
        },
        ReportedToken::Otp {
            tokentype: "hotp".into(),
            otp: ["012328".into(), "470990".into()],
            counter: Some(5),
        },
    ];
    let dict = container_dict_client("SMPH1", &reported).unwrap();
    assert_eq!(
        dict.as_str(),
        r#"{"container_serial":"SMPH1","type":"smartphone","tokens":[{"serial":"TOTP1","tokentype":"totp"},{"tokentype":"hotp","otp":["012328","470990"],"counter":5}]}"#
    );
    assert!(!format!("{reported:?}").contains("012328"));
    let plain = r#"{"container": {"serial": "SMPH1", "type": "smartphone"}, "tokens": {"add": [], "offline": [], "update": [{"counter": 59870225, "offline": false, "serial": "TOTP1", "tokentype": "TOTP"}, {"counter": 7, "offline": false, "otp": ["012328", "470990"], "serial": "OATH9", "tokentype": "hotp"}, {"offline": true, "serial": "OATH10", "tokentype": "hotp"}]}}"#;
    let body = server_encrypt(&sync_key.public_b64(), plain.as_bytes());
    let a = parse_sync_answer(200, &body, &sync_key, "SMPH1").unwrap();
    assert!(a.add.is_empty());
    assert_eq!(a.offline, Some(vec![]));
    assert_eq!(a.update[0].tokentype, "totp");
    assert_eq!(a.update[0].counter, Some(59_870_225));
    assert_eq!(a.update[1].serial, "OATH9");
    assert_eq!(
        a.update[1].otp.as_deref(),
        Some(&["012328".to_string(), "470990".to_string()][..])
    );
    assert!(a.update[2].offline && a.update[2].counter.is_none());
    // "False" is on, a missing key is off (section 10).
    assert!(a.policies.client_rollover && a.policies.disable_unregister);
    assert!(!a.policies.disable_token_deletion && !a.policies.initially_add_tokens);
}

#[test]
fn pitfall_10_policies_anything_but_false_is_on() {
    let on = |v: &str| {
        let value: Value =
            serde_json::from_str(&format!(r#"{{"container_client_rollover": {v}}}"#)).unwrap();
        ClientPolicies::from_value(Some(&value)).client_rollover
    };
    assert!(!on("false"));
    for v in [
        "true",
        r#""True""#,
        r#""False""#,
        r#""false""#,
        "0",
        "null",
        r#""""#,
    ] {
        assert!(on(v), "{v}");
    }
    assert_eq!(ClientPolicies::from_value(None), ClientPolicies::default());
    let empty: Value = serde_json::from_str("{}").unwrap();
    assert_eq!(
        ClientPolicies::from_value(Some(&empty)),
        ClientPolicies::default()
    );
}

// ----- Sections 8 and 9: rollover and terminate

#[test]
fn observed_rollover_signed_string_request_and_answer() {
    let server = vector_server();
    let c = challenge(
        "c83ca2749668d13ca6a66e7351f14735b1acf4bb",
        "2026-12-01T06:33:06.635960+00:00",
    );
    assert_eq!(
        plain_message(&server, &c, Operation::Rollover),
        ROLLOVER_SIGNED
    );
    let protection = TransferProtection::Passphrase {
        prompt: "Transfer PIN shown on the old phone".into(),
        response: Zeroizing::new("2468".into()),
    };
    let req = rollover_request(&server, &c, &vector_key(), &protection).unwrap();
    assert_eq!(req.url, "http://127.0.0.1:5099/container/rollover");
    let names: Vec<&str> = req.fields.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        names,
        [
            "container_serial",
            "signature",
            "passphrase_prompt",
            "passphrase_response"
        ]
    );
    // The protection fields are not signed.
    verify_signature(PUBLIC_PEM, ROLLOVER_SIGNED, req.field("signature").unwrap()).unwrap();
    assert!(!format!("{protection:?}").contains("2468"));
    let req = rollover_request(&server, &c, &vector_key(), &TransferProtection::UserStore).unwrap();
    assert_eq!(req.field("passphrase_user"), Some("True"));
    let req = rollover_request(&server, &c, &vector_key(), &TransferProtection::None).unwrap();
    assert_eq!(req.fields.len(), 2);
    let empty = TransferProtection::Passphrase {
        prompt: "PIN".into(),
        response: Zeroizing::new(String::new()),
    };
    assert!(rollover_request(&server, &c, &vector_key(), &empty).is_err());

    let body = format!(
        r#"{{"result": {{"status": true, "value": {{"container_url": {{"description": "URL for privacyIDEA Container Registration", "img": "data:image/png;base64,AAAA",
                      "value": "{TRANSFER_QR}"}},
    "hash_algorithm": "SHA256", "key_algorithm": "secp384r1", "nonce": "e9e8dc3c704018def4a98d47494914ccbe591422",
    "passphrase_prompt": "Transfer PIN shown on the old phone", "send_passphrase": false,
    "server_url": "http://127.0.0.1:5099/", "ssl_verify": "False",
    "time_stamp": "2026-12-01T06:33:06.697205+00:00", "transaction_id": "01999477606293272205", "ttl": 10}}}}}}"#
    );
    let t = parse_rollover_answer(200, &body, "SMPH0000D060").unwrap();
    assert_eq!(t.link, TRANSFER_QR);
    assert_eq!(t.parsed.nonce, "e9e8dc3c704018def4a98d47494914ccbe591422");
    assert_eq!(
        t.image_png.as_deref(),
        Some(&[0u8, 0, 0][..]),
        "the data URI decoded"
    );
    assert!(parse_rollover_answer(200, &body, "SMPH0001CE36").is_err());
    let no_image = body.replace("data:image/png;base64,AAAA", "https://example.org/qr.png");
    assert_eq!(
        parse_rollover_answer(200, &no_image, "SMPH0000D060")
            .unwrap()
            .image_png,
        None
    );
}

#[test]
fn observed_terminate_signed_string_request_and_answer() {
    let server = vector_server();
    let c = challenge(
        "b7002c8d7d97590b6cf8c7f60d9ff6d21fa6d865",
        "2026-12-01T06:33:13.436154+00:00",
    );
    assert_eq!(
        plain_message(&server, &c, Operation::Terminate),
        TERMINATE_SIGNED
    );
    let req = terminate_request(&server, &c, &vector_key()).unwrap();
    assert_eq!(
        req.url,
        "http://127.0.0.1:5099/container/register/terminate/client"
    );
    assert_eq!(req.fields.len(), 2);
    verify_signature(
        PUBLIC_PEM,
        TERMINATE_SIGNED,
        req.field("signature").unwrap(),
    )
    .unwrap();
    parse_terminate_answer(
        200,
        r#"{"result": {"status": true, "value": {"success": true}}}"#,
    )
    .unwrap();
    let challenge_req = challenge_request(&server, Operation::Terminate).unwrap();
    assert_eq!(
        challenge_req.field("scope"),
        Some(TERMINATE_SIGNED.rsplit('|').next().unwrap())
    );
}

// ----- Section 12: error answers

fn error_body(code: i64, message: &str) -> String {
    format!(
        r#"{{"detail": null, "id": 1, "jsonrpc": "2.0", "result": {{"status": false, "error": {{"code": {code}, "message": "{message}"}}}}, "signature": "rsa_sha256_pss:00", "time": 1, "version": "privacyIDEA 3.14", "versionnumber": "3.14"}}"#
    )
}

#[test]
fn error_answers_are_typed() {
    use ContainerError as C;
    let sync = Operation::Synchronize;
    let cases: Vec<(u16, String, Operation, C)> = vec![
        (400, error_body(3002, "ERR3002: Could not verify signature!"), sync, C::SignatureRejected),
        (400, error_body(3001, "ERR3001: Container is not registered."), Operation::Challenge, C::NotRegistered),
        (400, error_body(3001, "ERR3001: The container is not registered or was unregistered!"), Operation::Terminate, C::NotRegistered),
        (400, error_body(3000, "ERR3000: Cannot finalize registration: the container is already registered. Re-register it via the rollover flow."), Operation::Finalize, C::AlreadyRegistered),
        (400, error_body(3000, "Failed finalizing container registration"), Operation::Finalize, C::Hidden { op: "registration" }),
        (400, error_body(3000, "Failed container synchronization"), sync, C::Hidden { op: "synchronization" }),
        (400, error_body(905, "ERR905: Missing parameter: public_client_key"), Operation::Finalize, C::MissingParameter { message: "ERR905: Missing parameter: public_client_key".into() }),
        (403, error_body(303, "Container actions are defined, but the action container_client_rollover is not allowed!"), Operation::Rollover, C::PolicyRefused { message: "Container actions are defined, but the action container_client_rollover is not allowed!".into() }),
        (403, error_body(303, "The action is not allowed! Policy disable_client_container_unregister is set."), Operation::Terminate, C::PolicyRefused { message: "The action is not allowed! Policy disable_client_container_unregister is set.".into() }),
        (404, error_body(601, "Unable to find container with serial SMPH0000D060."), Operation::Challenge, C::UnknownContainer),
        (404, r#"{"error": "Not found"}"#.into(), sync, C::EndpointNotFound),
        (500, error_body(-500, "500 Internal Server Error: boom"), Operation::Finalize, C::Server { status: 500, code: Some(-500), message: "500 Internal Server Error: boom".into() }),
        (502, "<html>Bad gateway</html>".into(), sync, C::Server { status: 502, code: None, message: "no message".into() }),
        (200, "not json".into(), sync, C::InvalidAnswer { field: "answer", reason: "is not JSON".into() }),
        // status false on HTTP 200 is an error too.
        (200, error_body(3002, "ERR3002: Could not verify signature!"), sync, C::SignatureRejected),
    ];
    for (status, body, op, expected) in cases {
        assert_eq!(
            container_err(parse_answer(status, &body, op)),
            expected,
            "{body}"
        );
    }
    // Mapped to the public errors a UI acts on.
    let public: crate::AuthenticatorError = Error::Container(C::PolicyRefused {
        message: "x".into(),
    })
    .into();
    assert!(matches!(
        public,
        crate::AuthenticatorError::PolicyRefused { .. }
    ));
    for c in [C::NotRegistered, C::UnknownContainer] {
        let public: crate::AuthenticatorError = Error::Container(c).into();
        assert!(matches!(
            public,
            crate::AuthenticatorError::ContainerNotRegistered
        ));
    }
    let public: crate::AuthenticatorError = Error::Container(C::PassphraseRequired).into();
    assert!(matches!(
        public,
        crate::AuthenticatorError::PassphraseRequired
    ));
    let public: crate::AuthenticatorError = Error::Container(C::SignatureRejected).into();
    assert!(matches!(
        public,
        crate::AuthenticatorError::Server { status: 400, .. }
    ));
    let public: crate::AuthenticatorError = Error::Container(C::InvalidLink {
        field: "url",
        reason: "x".into(),
    })
    .into();
    assert!(matches!(
        public,
        crate::AuthenticatorError::InvalidEnrollment { .. }
    ));
}

#[test]
fn finalize_rejection_hints() {
    let link = parse_container_link(TRANSFER_QR).unwrap();
    let created = chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
        .unwrap()
        .and_hms_opt(6, 33, 6)
        .unwrap()
        .and_utc()
        .timestamp();
    assert_eq!(link.expires_at(), Some(created + 600));
    assert_eq!(
        classify_finalize_rejection(&link, created + 30),
        FinalizeRejection::WrongPassphrase
    );
    assert_eq!(
        classify_finalize_rejection(&link, created + 600),
        FinalizeRejection::LinkExpired
    );
    let plain = parse_container_link(A1_QR).unwrap();
    assert_eq!(
        classify_finalize_rejection(&plain, 0),
        FinalizeRejection::Rejected
    );
    assert_eq!(
        parse_iso_time("2026-12-01T06:25:37+00:00"),
        Some(created - 449)
    );
    assert_eq!(
        parse_iso_time("2026-12-01T07:25:37.1+01:00"),
        Some(created - 449)
    );
    assert_eq!(parse_iso_time("2026-12-01T06:25:37Z"), Some(created - 449));
    assert_eq!(parse_iso_time("1970-01-01T00:00:00+00:00"), Some(0));
    assert_eq!(parse_iso_time("2000-02-29T00:00:00Z"), Some(951_782_400));
    for bad in [
        "",
        "2026-12-01",
        "2026-13-01T00:00:00Z",
        "2026-12-01T06:25:37",
        "2026-12-01T06:25:37+0000",
    ] {
        assert_eq!(parse_iso_time(bad), None, "{bad}");
    }
}

// ----- Section 13: pitfalls

#[test]
fn pitfall_1_time_is_signed_verbatim() {
    let server = vector_server();
    for time in [
        "2026-12-01T06:25:37+00:00",        // microseconds 0: no fraction
        "2026-12-01T06:25:37.173000+00:00", // trailing zeros kept
        "2026-12-01T06:25:37.508477Z",
    ] {
        let encoded = time.replace(':', "%3A").replace('+', "%2B");
        let qr = A1_QR.replace("2026-12-01T06%3A32%3A38.508477%2B00%3A00", &encoded);
        let link = parse_container_link(&qr).unwrap();
        assert_eq!(link.time, time);
        let m = finalize_message(&link, &DeviceInfo::default(), None).unwrap();
        assert_eq!(m.split('|').nth(1), Some(time));
        let body = format!(
            r#"{{"result": {{"status": true, "value": {{"nonce": "abc", "time_stamp": "{time}"}}}}}}"#
        );
        let c = parse_challenge_answer(200, &body).unwrap();
        assert_eq!(
            plain_message(&server, &c, Operation::Terminate)
                .split('|')
                .nth(1),
            Some(time)
        );
    }
    // A '+' that became a space (form-decoded by some tool) is refused, not signed.
    let qr = A1_QR.replace("%2B00%3A00", "+00%3A00");
    assert_eq!(
        parse_container_link(&qr).unwrap().time,
        "2026-12-01T06:32:38.508477+00:00"
    );
    let qr = A1_QR.replace("%2B00%3A00", "%2000%3A00");
    assert!(matches!(
        container_err(parse_container_link(&qr)),
        ContainerError::InvalidLink { field: "time", .. }
    ));
}

#[test]
fn pitfall_5_signature_is_padded_base64_der() {
    let key = ContainerKey::generate();
    let pem = key.public_key_pem().unwrap();
    assert!(
        pem.starts_with("-----BEGIN PUBLIC KEY-----\n")
            && pem.ends_with("-----END PUBLIC KEY-----\n")
    );
    for i in 0..8 {
        let msg = format!("n|t|SMPH|scope|{i}");
        let sig = key.sign(&msg).unwrap();
        assert_eq!(sig.len() % 4, 0);
        let der = b64(&sig);
        assert_eq!(der[0], 0x30, "DER SEQUENCE");
        assert!((100..=104).contains(&der.len()), "{}", der.len());
        verify_signature(&pem, &msg, &sig).unwrap();
        // The url alphabet is accepted too, unpadded base64 and raw r||s are not.
        let url = data_encoding::BASE64URL.encode(&der);
        verify_signature(&pem, &msg, &url).unwrap();
        if sig.ends_with('=') {
            assert!(verify_signature(&pem, &msg, sig.trim_end_matches('=')).is_err());
        }
        let raw = p384::ecdsa::Signature::from_der(&der).unwrap().to_bytes();
        assert!(verify_signature(&pem, &msg, &data_encoding::BASE64.encode(&raw)).is_err());
    }
    // Two keys are different.
    assert_ne!(pem, ContainerKey::generate().public_key_pem().unwrap());
}

#[test]
fn pitfall_6_endpoint_joins_with_one_slash() {
    use Operation as O;
    assert_eq!(
        endpoint("http://127.0.0.1:5099/", O::Synchronize),
        "http://127.0.0.1:5099/container/synchronize"
    );
    assert_eq!(
        endpoint("http://127.0.0.1:5099", O::Synchronize),
        "http://127.0.0.1:5099/container/synchronize"
    );
    // A server below a path prefix keeps it (the app's path replacement would drop it).
    assert_eq!(
        endpoint("https://pi.example/pi/", O::Finalize),
        "https://pi.example/pi/container/register/finalize"
    );
    assert_eq!(
        endpoint("https://pi.example/pi", O::Terminate),
        "https://pi.example/pi/container/register/terminate/client"
    );
    for op in [
        O::Finalize,
        O::Challenge,
        O::Synchronize,
        O::Rollover,
        O::Terminate,
    ] {
        let e = endpoint("https://pi.example/", op);
        assert!(
            !e.ends_with('/') && !e["https://".len()..].contains("//"),
            "{e}"
        );
    }
}

#[test]
fn form_body_percent_encodes_plus_slash_equals_and_newlines() {
    let link = parse_container_link(A1_QR).unwrap();
    let req = finalize_request(&link, &vector_key(), &DeviceInfo::default(), None).unwrap();
    let body = req.form_body();
    assert!(!body.contains('+') && !body.contains('\n') && !body.contains(' '));
    assert!(body.contains("public_client_key=-----BEGIN%20PUBLIC%20KEY-----%0AMHYwEAYHKoZIzj0CAQYFK4EEACIDYgAESU7eZrrLeuDCWXHIUWRKSb6Vw%2BSwc4HB%0A"));
    assert!(body.contains("container_serial=SMPH0000D060&"));
    // Decoded as the server decodes a form (`+` is a space), every value comes back.
    for pair in body.split('&') {
        let (k, v) = pair.split_once('=').unwrap();
        let spaced = v.replace('+', " ");
        let decoded = percent_encoding::percent_decode_str(&spaced)
            .decode_utf8()
            .unwrap();
        assert_eq!(Some(decoded.as_ref()), req.field(k));
    }
    let sig = req.field("signature").unwrap();
    if sig.contains('+') {
        assert!(body.contains("%2B"));
    }
}

// ----- Link strictness

#[test]
fn link_urls_follow_the_push_rule() {
    let with_url = |u: &str| A1_QR.replace("url=http%3A//127.0.0.1%3A5099/", &format!("url={u}"));
    let ok = parse_container_link(&with_url("https%3A//pi.example/pi/")).unwrap();
    assert_eq!(ok.server_url, "https://pi.example/pi/");
    assert!(!ok.tls_verify, "ssl_verify=False still flags it");
    let qr = with_url("https%3A//pi.example/").replace("ssl_verify=False", "ssl_verify=True");
    let ok = parse_container_link(&qr).unwrap();
    assert!(ok.tls_verify && ok.warnings.is_empty());
    // Plain http to a loopback host is allowed and flagged even with ssl_verify=True.
    for u in [
        "http%3A//localhost%3A5000/",
        "http%3A//127.1.2.3/",
        "http%3A//%5B%3A%3A1%5D%3A5000/",
    ] {
        let link =
            parse_container_link(&with_url(u).replace("ssl_verify=False", "ssl_verify=True"))
                .unwrap();
        assert!(!link.tls_verify && !link.warnings.is_empty(), "{u}");
    }
    for u in [
        "http%3A//pi.example/",
        "http%3A//10.0.0.1/",
        "ftp%3A//pi.example/",
        "not a url",
        "",
    ] {
        let e = parse_container_link(&with_url(u)).unwrap_err();
        assert!(
            matches!(e, Error::InvalidEnrollment(_) | Error::Container(_)),
            "{u}: {e:?}"
        );
        assert!(e.to_string().contains("url"), "{e}");
    }
}

#[test]
fn link_strict_fields_are_refused_by_name() {
    use ContainerError as C;
    let field_of = |qr: &str| match container_err(parse_container_link(qr)) {
        C::InvalidLink { field, .. } | C::UnsupportedLink { field, .. } => field,
        other => panic!("{other:?}"),
    };
    let nonce = "378b20b0beeded91bc0c67b975c9ed12f954a786";
    assert_eq!(
        field_of(&A1_QR.replace(&format!("nonce={nonce}&"), "")),
        "nonce"
    );
    assert_eq!(field_of(&A1_QR.replace(nonce, "378b|20b0")), "nonce");
    assert_eq!(
        field_of(&A1_QR.replace("&time=2026-12-01T06%3A32%3A38.508477%2B00%3A00", "")),
        "time"
    );
    assert_eq!(
        field_of(&format!("{A1_QR}&url=https%3A//evil.example/")),
        "url"
    );
    assert_eq!(field_of(&format!("{A1_QR}&nonce=00")), "nonce");
    assert_eq!(
        field_of(&A1_QR.replace("serial=SMPH0000D060", "serial=SMPH0000D061")),
        "serial"
    );
    assert_eq!(
        field_of(&A1_QR.replace("container/SMPH0000D060?", "container/SMPH%7C1?")),
        "serial"
    );
    assert_eq!(
        field_of(&A1_QR.replace("secp384r1", "secp256r1")),
        "key_algorithm"
    );
    assert_eq!(field_of(&A1_QR.replace("SHA256", "SHA1")), "hash_algorithm");
    assert_eq!(
        field_of(&A1_QR.replace("ssl_verify=False", "ssl_verify=maybe")),
        "ssl_verify"
    );
    assert_eq!(
        field_of(&A1_QR.replace("send_passphrase=False", "send_passphrase=yes")),
        "send_passphrase"
    );
    assert_eq!(field_of(&A1_QR.replace("ttl=10", "ttl=ten")), "ttl");
    assert_eq!(field_of("pia://pipush/x?v=1"), "link");
    assert_eq!(field_of("otpauth://container/SMPH1"), "link");
    // No error text carries the nonce.
    let e =
        parse_container_link(&A1_QR.replace("ssl_verify=False", "ssl_verify=maybe")).unwrap_err();
    assert!(!e.to_string().contains(nonce));
    assert!(!format!("{:?}", parse_container_link(A1_QR).unwrap()).contains(nonce));
}

#[test]
fn link_lenient_parts() {
    // Scheme, host and parameter case, a trailing slash, the serial only in the query,
    // missing optional parameters, unknown parameters, a fragment.
    let qr = "PIA://Container/?Serial=SMPH1&NONCE=abc123&time=2026-12-01T06%3A25%3A37%2B00%3A00&url=https%3A//pi.example&custom=1&passphrase=%20%20#frag";
    let link = parse_container_link(qr).unwrap();
    assert_eq!(link.serial, "SMPH1");
    assert_eq!(link.nonce, "abc123");
    assert_eq!(link.ttl_minutes, DEFAULT_LINK_TTL_MINUTES);
    assert!(link.tls_verify, "ssl_verify defaults to True");
    assert_eq!(link.passphrase_prompt, None);
    assert_eq!(link.extra, [("custom".to_string(), "1".to_string())]);
    assert_eq!(link.issuer, "privacyIDEA");
    let link = parse_container_link(&A1_QR.replace("SMPH0000D060?", "SMPH0000D060/?")).unwrap();
    assert_eq!(link.serial, "SMPH0000D060");
    // ttl <= 0 is the server's default, like the server reads it.
    let link = parse_container_link(&A1_QR.replace("ttl=10", "ttl=0")).unwrap();
    assert_eq!(link.ttl_minutes, DEFAULT_LINK_TTL_MINUTES);
    let link = parse_container_link(&A1_QR.replace("ttl=10", "ttl=1")).unwrap();
    assert_eq!(link.ttl_minutes, 1);
    // Extra data after send_passphrase is ignored.
    let link = parse_container_link(&format!("{A1_QR}&department=IT%20Ops")).unwrap();
    assert_eq!(
        link.extra,
        [("department".to_string(), "IT Ops".to_string())]
    );
}

#[test]
fn debug_output_shows_no_secret() {
    let key = vector_key();
    assert_eq!(format!("{key:?}"), "ContainerKey(<redacted>)");
    assert_eq!(format!("{:?}", vector_sync_key()), "SyncKey(<redacted>)");
    let link = parse_container_link(A1_QR).unwrap();
    let req = finalize_request(&link, &key, &DeviceInfo::default(), None).unwrap();
    let sig = req.field("signature").unwrap().to_string();
    let dbg = format!("{req:?}");
    assert!(!dbg.contains(&sig) && dbg.contains("signature"), "{dbg}");
    let c = challenge(A2_NONCE, A2_TIME);
    assert!(!format!("{c:?}").contains(A2_NONCE));
}

fn wiped_on_drop<T: zeroize::ZeroizeOnDrop>(_: &T) {}

#[test]
fn keys_are_wiped_on_drop() {
    wiped_on_drop(&vector_key().signing);
    // x25519-dalek derives `Zeroize` with `zeroize(drop)`: its Drop wipes the secret,
    // without the ZeroizeOnDrop marker.
    fn zeroizable<T: zeroize::Zeroize>(_: &T) {}
    zeroizable(&vector_sync_key().secret);
    wiped_on_drop(&vector_key().to_pkcs8_der().unwrap());
}
