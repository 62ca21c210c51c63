//! Writes the fuzz seed corpora, `fuzz/seeds/<target>/`, from real-world inputs: the
//! link tables of `src/links_tests.rs` and `tests/`, Google Authenticator export
//! payloads, privacyIDEA's answers as `shared/docs/privacyidea-push-protocol.md`
//! records them (signed with the throwaway key in `fuzz/keys/`), and small QR images.
//! The output is deterministic; run it after changing an input, commit what it writes:
//!
//! ```sh
//! cargo run -p authenticator-core --example fuzz_seeds
//! ```

use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

type Res<T = ()> = Result<T, Box<dyn std::error::Error>>;

const SERVER_PKCS8: &[u8] = include_bytes!("../../fuzz/keys/server-test-key.pk8.der");
const SERVER_PKCS1: &[u8] = include_bytes!("../../fuzz/keys/server-test-key.pkcs1.der");

/// privacyIDEA's URL for the phone in the protocol notes.
const PI_URL: &str = "http://127.0.0.1:5080/ttype/push";
const NONCE: &str = "FNO2NEWKB6CCROL5F3BKJTDNGB4HBYCX";
const SERIAL: &str = "PIPU000099FE";

/// Enrollment links, accepted and refused, as real issuers and the tests write them.
const LINKS: &[(&str, &str)] = &[
    ("google", "otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example"),
    ("github_lower", "otpauth://totp/GitHub:octocat?secret=jbswy3dpehpk3pxp&issuer=GitHub"),
    ("microsoft_spaces", "otpauth://totp/Microsoft:user%40outlook.com?secret=JBSW%20Y3DP%20EHPK%203PXP&issuer=Microsoft"),
    ("all_params", "otpauth://totp/ACME%20Co:john.doe@email.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30"),
    ("plus_dashes", "otpauth://totp/ACME+Co:john?secret=JBSW-Y3DP-EHPK-3PXP&issuer=ACME+Co"),
    ("padded_colon", "otpauth://totp/Big%20Corp%3A%20jane?secret=JBSWY3DPEHPK3PXP===="),
    ("raw_space", "otpauth://totp/Big Corp: jane?secret=JBSWY3DPEHPK3PXP"),
    ("no_issuer", "otpauth://totp/jane?secret=JBSWY3DPEHPK3PXP"),
    ("no_label", "otpauth://totp/?secret=JBSWY3DPEHPK3PXP&issuer=NoLabel"),
    ("upper_case", "OTPAUTH://TOTP/X:y?SECRET=JBSWY3DPEHPK3PXP&ISSUER=X"),
    ("sha256_8", "otpauth://totp/S:u?secret=JBSWY3DPEHPK3PXP&algorithm=sha256&digits=8&period=60"),
    ("sha512_10", "otpauth://totp/S:u?secret=JBSWY3DPEHPK3PXP&algorithm=SHA-512&digits=10&period=15"),
    ("extras", "otpauth://totp/S:u?secret=JBSWY3DPEHPK3PXP&image=https%3A%2F%2Fexample.com%2Flogo.png&color=red&foo"),
    ("fragment", "  otpauth://totp/S:u?secret=JBSWY3DPEHPK3PXP#frag\n"),
    ("pi_totp", "otpauth://totp/bob%40defrealm?secret=JBSWY3DPEHPK3PXP&period=30&digits=6&creator=privacyidea&issuer=privacyIDEA-local&serial=TOTP00000C1B"),
    ("pi_hotp", "otpauth://hotp/bob%40defrealm?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=1&digits=6&creator=privacyidea&issuer=privacyIDEA-local&serial=OATH0000D9B6"),
    ("hotp_no_counter", "otpauth://hotp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
    ("hotp_max_counter", "otpauth://hotp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=18446744073709551615"),
    ("issuer_mismatch", "otpauth://totp/OldName:alice?secret=JBSWY3DPEHPK3PXP&issuer=NewName"),
    ("steam", "otpauth://steam/Steam:gaben?secret=JBSWY3DPEHPK3PXP&issuer=Steam"),
    ("steam_encoder", "otpauth://totp/Steam:gaben?secret=JBSWY3DPEHPK3PXP&issuer=Steam&encoder=steam"),
    ("lock_all", "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&lock_pin=1&lock_wipe_after=5&lock_idle=120&lock_pin_length=6&lock_background=30"),
    ("lock_ent", "otpauth://totp/Ent:b?secret=MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U&lock_wipe_after=7&lock_idle=600"),
    ("spaced_secret", "otpauth://totp/acme:Alice@example.com?secret=jbsw y3dp ehpk 3pxp&issuer=ACME"),
    ("pi_push", "otpauth://pipush/alice%40defrealm?url=http%3A//127.0.0.1%3A5080/ttype/push&ttl=10&issuer=privacyIDEA-local&enrollment_credential=de56b173232b5ca50c6324b2712eb0df5418217a&v=1&serial=PIPU000099FE&sslverify=0&poll_only=True&pin=True&app_force_unlock=pin"),
    ("pia_push", "pia://pipush/a?url=https://pi.example/ttype/push&ttl=5&enrollment_credential=ab&v=1&serial=PIPU2"),
    ("push_https", "otpauth://pipush/alice?url=https%3A%2F%2Fpi.example%2Fttype%2Fpush&ttl=10&issuer=Fake&enrollment_credential=goodcredential&v=1&serial=PIPU0001&sslverify=1"),
    ("bad_empty", ""),
    ("bad_scheme", "https://example.com/?secret=JBSWY3DPEHPK3PXP"),
    ("bad_no_slashes", "otpauth:totp/x?secret=JBSWY3DPEHPK3PXP"),
    ("bad_no_secret", "otpauth://totp/x?issuer=X"),
    ("bad_base32", "otpauth://totp/x?secret=JBSWY3DP!HPK3PXP"),
    ("bad_type", "otpauth://motp/x?secret=JBSWY3DPEHPK3PXP"),
    ("bad_md5", "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&algorithm=MD5"),
    ("bad_digits", "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=300"),
    ("bad_period", "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=-30"),
    ("bad_counter", "otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP&counter=18446744073709551616"),
    ("bad_utf8", "otpauth://totp/%FF?secret=JBSWY3DPEHPK3PXP"),
    ("bad_push_version", "otpauth://pipush/x?url=https://p/ttype/push&ttl=10&serial=PIPU1&enrollment_credential=ab&v=2"),
    ("bad_push_url", "otpauth://pipush/x?url=ftp://p&ttl=10&serial=PIPU1&enrollment_credential=ab&v=1"),
    ("bad_migration_b64", "otpauth-migration://offline?data=%%%"),
];

fn link(name: &str) -> Res<&'static str> {
    Ok(LINKS
        .iter()
        .find(|(n, _)| *n == name)
        .ok_or("no such link")?
        .1)
}

/// The export payload of Google Authenticator (`otpauth-migration://offline?data=`).
#[derive(Clone, PartialEq, prost::Message)]
struct MigrationPayload {
    #[prost(message, repeated, tag = "1")]
    otp_parameters: Vec<OtpParameters>,
    #[prost(int32, tag = "2")]
    version: i32,
    #[prost(int32, tag = "3")]
    batch_size: i32,
    #[prost(int32, tag = "4")]
    batch_index: i32,
    #[prost(int32, tag = "5")]
    batch_id: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
struct OtpParameters {
    #[prost(bytes = "vec", tag = "1")]
    secret: Vec<u8>,
    #[prost(string, tag = "2")]
    name: String,
    #[prost(string, tag = "3")]
    issuer: String,
    #[prost(int32, tag = "4")]
    algorithm: i32,
    #[prost(int32, tag = "5")]
    digits: i32,
    #[prost(int32, tag = "6")]
    r#type: i32,
    #[prost(int64, tag = "7")]
    counter: i64,
}

fn otp(secret: &[u8], name: &str, issuer: &str, alg: i32, digits: i32, ty: i32) -> OtpParameters {
    OtpParameters {
        secret: secret.to_vec(),
        name: name.into(),
        issuer: issuer.into(),
        algorithm: alg,
        digits,
        r#type: ty,
        counter: 7,
    }
}

fn payload(entries: Vec<OtpParameters>, size: i32, index: i32) -> Vec<u8> {
    prost::Message::encode_to_vec(&MigrationPayload {
        otp_parameters: entries,
        version: 1,
        batch_size: size,
        batch_index: index,
        batch_id: 42,
    })
}

fn migration_payloads() -> Vec<(&'static str, Vec<u8>)> {
    let s20 = b"12345678901234567890";
    vec![
        (
            "batch_of_three",
            payload(
                vec![
                    otp(s20, "ACME:alice", "ACME", 1, 1, 2),
                    otp(b"abcdefghij", "bob@example.com", "", 2, 2, 1),
                    otp(
                        b"12345678901234567890123456789012",
                        "Corp: carol",
                        "Corp",
                        3,
                        1,
                        2,
                    ),
                ],
                2,
                0,
            ),
        ),
        (
            "single_google",
            payload(vec![otp(s20, "alice@gmail.com", "Google", 1, 1, 2)], 1, 0),
        ),
        ("md5", payload(vec![otp(s20, "a", "X", 4, 1, 2)], 1, 0)),
        (
            "bad_digits",
            payload(vec![otp(s20, "a", "X", 1, 5, 2)], 1, 0),
        ),
        ("bad_type", payload(vec![otp(s20, "a", "X", 1, 1, 3)], 1, 0)),
        (
            "empty_secret",
            payload(vec![otp(b"", "a", "X", 1, 1, 2)], 1, 0),
        ),
        ("no_entries", payload(vec![], 1, 0)),
    ]
}

fn sign(key: &RsaKeyPair, message: &str) -> Res<String> {
    let mut sig = vec![0u8; key.public().modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        message.as_bytes(),
        &mut sig,
    )
    .map_err(|_| "signing failed")?;
    Ok(data_encoding::BASE32.encode(&sig))
}

/// A challenge as privacyIDEA 3.14 sends it (push data or poll entry), signed.
fn challenge(
    key: &RsaKeyPair,
    nonce: &str,
    presence: Option<&str>,
    caps: bool,
) -> Res<BTreeMap<&'static str, String>> {
    let (question, title, sslverify) =
        ("Login for Alice from 127.0.0.1?", "privacyIDEA-local", "0");
    let mut m = BTreeMap::new();
    m.insert("nonce", nonce.to_string());
    m.insert("url", PI_URL.to_string());
    m.insert("serial", SERIAL.to_string());
    m.insert("question", question.to_string());
    m.insert("title", title.to_string());
    m.insert("sslverify", sslverify.to_string());
    let mut signed = format!("{nonce}|{PI_URL}|{SERIAL}|{question}|{title}|{sslverify}");
    if let Some(p) = presence {
        m.insert("require_presence", p.to_string());
        m.insert("version", "2".to_string());
        signed.push('|');
        signed.push_str(p);
    }
    m.insert("signature", sign(key, &signed)?);
    if caps {
        m.insert("capabilities", "{\"decline_reason\": true}".to_string());
        let canonical =
            format!("{{\"capabilities\":{{\"decline_reason\":true}},\"nonce\":\"{nonce}\"}}");
        m.insert("capabilities_signature", sign(key, &canonical)?);
    }
    Ok(m)
}

fn as_lines(m: &BTreeMap<&str, String>) -> String {
    m.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
}

fn as_json(m: &BTreeMap<&str, String>) -> Res<String> {
    Ok(serde_json::to_string(m)?)
}

/// A privacyIDEA answer with the envelope fields 3.14 adds to every one.
fn pi_answer(result: &str, detail: Option<&str>) -> String {
    let detail = detail
        .map(|d| format!(",\"detail\":{d}"))
        .unwrap_or_default();
    format!(
        "{{\"id\":1,\"jsonrpc\":\"2.0\",\"result\":{result}{detail},\"signature\":\"rsa_sha256_pss:5a8c0f\",\"time\":1795668262.51,\"version\":\"privacyIDEA 3.14\",\"versionnumber\":\"3.14\"}}"
    )
}

fn pi_error(code: u32, message: &str) -> String {
    pi_answer(
        &format!("{{\"status\":false,\"error\":{{\"code\":{code},\"message\":\"{message}\"}}}}"),
        None,
    )
}

fn qr_png(text: &str, module: u32) -> Res<Vec<u8>> {
    let img = qrcode::QrCode::new(text.as_bytes())?
        .render::<image::Luma<u8>>()
        .module_dimensions(module, module)
        .build();
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageLuma8(img).write_to(&mut out, image::ImageFormat::Png)?;
    Ok(out.into_inner())
}

fn qr_jpeg(text: &str) -> Res<Vec<u8>> {
    let img = qrcode::QrCode::new(text.as_bytes())?
        .render::<image::Luma<u8>>()
        .module_dimensions(2, 2)
        .build();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 40).encode_image(&img)?;
    Ok(out)
}

struct Seeds {
    root: PathBuf,
    written: usize,
}

impl Seeds {
    fn put(&mut self, target: &str, name: &str, bytes: impl AsRef<[u8]>) -> Res {
        let dir = self.root.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(name), bytes)?;
        self.written += 1;
        Ok(())
    }

    /// A server answer in the "STATUS\nBODY" input format.
    fn answer(&mut self, target: &str, name: &str, status: u16, body: &str) -> Res {
        self.put(target, name, format!("{status}\n{body}"))
    }
}

fn main() -> Res {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds");
    if root.exists() {
        std::fs::remove_dir_all(&root)?;
    }
    let mut s = Seeds { root, written: 0 };
    let key = RsaKeyPair::from_pkcs8(SERVER_PKCS8).map_err(|e| format!("fuzz server key: {e}"))?;

    // Links, and migration links around the export payloads.
    for (name, link) in LINKS {
        s.put("parse_link", name, link)?;
    }
    for (name, p) in migration_payloads() {
        let b64 = data_encoding::BASE64.encode(&p);
        let encoded =
            percent_encoding::utf8_percent_encode(&b64, percent_encoding::NON_ALPHANUMERIC);
        s.put(
            "parse_link",
            &format!("migration_{name}"),
            format!("otpauth-migration://offline?data={encoded}"),
        )?;
        s.put("migration_payload", name, &p)?;
    }
    let raw = data_encoding::BASE64.encode(&migration_payloads()[0].1);
    s.put(
        "parse_link",
        "migration_unescaped",
        format!("otpauth-migration://offline?data={raw}"),
    )?;

    // QR images: small PNGs (2 px modules) and one JPEG.
    s.put("qr_image", "totp.png", qr_png(link("google")?, 2)?)?;
    s.put("qr_image", "hotp.png", qr_png(link("pi_hotp")?, 2)?)?;
    s.put("qr_image", "push.png", qr_png(link("pi_push")?, 1)?)?;
    s.put("qr_image", "totp.jpg", qr_jpeg(link("no_issuer")?)?)?;

    // Push messages and poll entries.
    let plain = challenge(&key, NONCE, None, false)?;
    let caps = challenge(&key, "GQ3TSNBRGA2DOMZRGAYDCMZSGA2TGMZX", None, true)?;
    let presence = challenge(
        &key,
        "KRUGKIDROVUWG2ZAMJZG653OEBTG66BA",
        Some("P,Q,R"),
        true,
    )?;
    let mut unsigned = plain.clone();
    unsigned.insert("signature", "AAAAAAAA".into());
    let mut tampered = presence.clone();
    tampered.insert("require_presence", "P".into());
    for (name, m) in [
        ("plain", &plain),
        ("capabilities", &caps),
        ("presence", &presence),
        ("bad_signature", &unsigned),
        ("presence_removed", &tampered),
    ] {
        s.put("push_message", name, as_lines(m))?;
        s.put("poll_entry", name, as_json(m)?)?;
    }

    // Poll answers.
    let list = format!(
        "{{\"status\":true,\"value\":[{},{},{}]}}",
        as_json(&plain)?,
        as_json(&caps)?,
        as_json(&presence)?
    );
    s.answer("poll_list", "three", 200, &pi_answer(&list, None))?;
    s.answer(
        "poll_list",
        "empty",
        200,
        &pi_answer("{\"status\":true,\"value\":[]}", None),
    )?;
    s.answer(
        "poll_list",
        "err10",
        400,
        &pi_error(10, "ERR10: Could not verify signature!"),
    )?;
    s.answer(
        "poll_list",
        "timestamp",
        400,
        &pi_error(
            10,
            "Timestamp 2026-11-26T02:50:44.419587Z not in valid range.",
        ),
    )?;

    // Answers to approve / decline, and any answer.
    for target in ["server_answer", "token_update"] {
        s.answer(
            target,
            "accepted",
            200,
            &pi_answer("{\"status\":true,\"value\":true}", None),
        )?;
        s.answer(
            target,
            "refused",
            200,
            &pi_answer("{\"status\":true,\"value\":false}", None),
        )?;
        s.answer(
            target,
            "err905",
            400,
            &pi_error(905, "ERR905: Invalid enrollment credential."),
        )?;
        s.answer(
            target,
            "html_502",
            502,
            "<html><body>Bad Gateway</body></html>",
        )?;
    }
    s.answer(
        "server_answer",
        "code_to_phone",
        200,
        &pi_answer(
            "{\"status\":true,\"value\":true}",
            Some("{\"display_code\":\"72\",\"message\":\"Enter the code on the login screen\"}"),
        ),
    )?;
    s.answer("server_answer", "poll", 200, &pi_answer(&list, None))?;

    // Enrollment step 2: the server key as base64 PKCS#1 with a line break every 64.
    let b64 = data_encoding::BASE64.encode(SERVER_PKCS1);
    let wrapped: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(std::str::from_utf8)
        .collect::<Result<_, _>>()?;
    let detail = serde_json::json!({
        "public_key": wrapped.join("\n"),
        "rollout_state": "enrolled",
        "serial": SERIAL,
    });
    s.answer(
        "enroll_answer",
        "enrolled",
        200,
        &pi_answer(
            "{\"status\":true,\"value\":true}",
            Some(&detail.to_string()),
        ),
    )?;
    s.answer(
        "enroll_answer",
        "err905",
        400,
        &pi_error(905, "ERR905: Invalid enrollment credential."),
    )?;
    s.answer(
        "enroll_answer",
        "err601",
        404,
        &pi_error(
            601,
            "ERR601: The token you want to enroll is not in the clientwait state.",
        ),
    )?;
    s.answer(
        "enroll_answer",
        "no_key",
        200,
        &pi_answer(
            "{\"status\":true,\"value\":true}",
            Some("{\"rollout_state\":\"enrolled\"}"),
        ),
    )?;
    s.put("enroll_answer", "bare_key", wrapped.join("\n"))?;

    println!(
        "fuzz seeds: wrote {} files under {}",
        s.written,
        s.root.display()
    );
    Ok(())
}
