//! privacyIDEA push protocol v1, pure parts: RSA keys, the signed strings, signature
//! encoding (upper-case padded base32), challenge verification and response parsing.
//! See docs in ../shared/docs/privacyidea-push-protocol.md (copied into ARCHITECTURE.md).

use crate::error::{Error, Result};
use ring::signature::{self, RsaKeyPair, UnparsedPublicKey};
use serde_json::Value;
use std::collections::HashMap;
use zeroize::Zeroizing;

/// Phone key size (what the reference app generates).
pub const PHONE_KEY_BITS: usize = 4096;

/// A freshly generated phone key pair.
pub struct PhoneKey {
    /// PKCS#8 DER of the private key (zeroized on drop).
    pub pkcs8: Zeroizing<Vec<u8>>,
    /// SubjectPublicKeyInfo DER of the public key.
    pub spki: Vec<u8>,
}

/// Generates an RSA key with the `rsa` crate's primitives (ring cannot generate RSA
/// keys); all signing afterwards is done with ring. The two primes are searched on two
/// threads at once, which roughly halves the wall time of a 4096-bit key on a phone's
/// big cores (the search dominates and is independent for p and q).
pub fn generate_phone_key(bits: usize) -> Result<PhoneKey> {
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey};
    use rsa::traits::PublicKeyParts;
    let keygen_err = |what: &str| Error::Internal(format!("RSA key generation: {what}"));
    let half = bits / 2;
    let key = loop {
        let other = std::thread::spawn(move || random_prime(half));
        let p = random_prime(half);
        let q = other
            .join()
            .map_err(|_| keygen_err("prime search thread failed"))?;
        let Ok(key) = rsa::RsaPrivateKey::from_p_q(p, q, rsa::BigUint::from(65_537u32)) else {
            // e not coprime with (p-1)(q-1), or p == q: draw again.
            continue;
        };
        if key.n().bits() == bits && key.validate().is_ok() {
            break key;
        }
    };
    let pkcs8 = key
        .to_pkcs8_der()
        .map_err(|e| Error::Internal(format!("PKCS#8 encoding: {e}")))?;
    let spki = key
        .to_public_key()
        .to_public_key_der()
        .map_err(|e| Error::Internal(format!("SPKI encoding: {e}")))?;
    Ok(PhoneKey {
        pkcs8: Zeroizing::new(pkcs8.as_bytes().to_vec()),
        spki: spki.as_bytes().to_vec(),
    })
}

/// A random prime of exactly `bits` bits with its top two bits set (so the product of
/// two has exactly twice the bits), from the OS CSPRNG.
fn random_prime(bits: usize) -> rsa::BigUint {
    use num_bigint_dig::RandPrime;
    rand::rngs::OsRng.gen_prime(bits)
}

/// Signs `message` with RSASSA-PKCS1-v1_5 SHA-256 and returns it as upper-case padded
/// base32, the encoding privacyIDEA requires.
pub fn sign(pkcs8: &[u8], message: &str) -> Result<String> {
    let pair = RsaKeyPair::from_pkcs8(pkcs8)
        .map_err(|_| Error::Storage("the stored phone key is unreadable".into()))?;
    let mut sig = vec![0u8; pair.public().modulus_len()];
    pair.sign(
        &signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        message.as_bytes(),
        &mut sig,
    )
    .map_err(|_| Error::Internal("RSA signing failed".into()))?;
    Ok(data_encoding::BASE32.encode(&sig))
}

/// Verifies a server signature (base32, PKCS1 v1.5 SHA-256) with the server's PKCS#1
/// public key.
pub fn verify(server_pkcs1: &[u8], message: &str, sig_b32: &str) -> Result<()> {
    let cleaned: String = sig_b32
        .trim()
        .to_ascii_uppercase()
        .chars()
        .filter(|c| *c != '=')
        .collect();
    let sig = data_encoding::BASE32_NOPAD
        .decode(cleaned.as_bytes())
        .map_err(|_| Error::BadSignature)?;
    UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, server_pkcs1)
        .verify(message.as_bytes(), &sig)
        .map_err(|_| Error::BadSignature)
}

/// Base64 of the SPKI DER (standard alphabet, no newlines): the `pubkey` of step 2.
pub fn spki_base64(spki: &[u8]) -> String {
    data_encoding::BASE64.encode(spki)
}

/// Decodes the server key from step 2 (`detail.public_key`: base64 PKCS#1 with line
/// breaks) and checks it is a usable RSA public key.
pub fn decode_server_key(b64: &str) -> Result<Vec<u8>> {
    let cleaned: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
    let der = data_encoding::BASE64
        .decode(cleaned.as_bytes())
        .map_err(|_| Error::InvalidEnrollment("the server's public key is not base64".into()))?;
    // Parse it as PKCS#1 to be sure it is one (ring checks only at verify time).
    use rsa::pkcs1::DecodeRsaPublicKey;
    rsa::RsaPublicKey::from_pkcs1_der(&der).map_err(|_| {
        Error::InvalidEnrollment("the server's public key is not a PKCS#1 RSA key".into())
    })?;
    Ok(der)
}

/// Reads privacyIDEA's answer to enrollment step 2 and returns the server's PKCS#1 key
/// DER (`detail.public_key`). A 400 means a wrong enrollment credential, a 404 a token
/// that is no longer waiting for step 2.
pub fn parse_enrollment_answer(status: u16, body: &str) -> Result<Vec<u8>> {
    let v = parse_answer(status, body).map_err(|err| match err {
        Error::Server {
            status: 400,
            message,
        } => Error::InvalidEnrollment(format!(
            "the server refused the enrollment credential ({message})"
        )),
        Error::Server { status: 404, .. } => Error::InvalidEnrollment(
            "the server has no token waiting for this enrollment (already enrolled or expired)"
                .into(),
        ),
        other => other,
    })?;
    let server_key_b64 = v
        .pointer("/detail/public_key")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::InvalidEnrollment("the server sent no public key".into()))?;
    decode_server_key(server_key_b64)
}

/// The entries of a poll answer (`result.value`: one object per open challenge); a
/// missing or non-list value is an empty list.
pub fn poll_entries(status: u16, body: &str) -> Result<Vec<Value>> {
    let v = parse_answer(status, body)?;
    Ok(v.pointer("/result/value")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default())
}

/// A challenge as the server sent it (push payload or poll list entry). `Debug` leaves
/// the signatures out.
#[derive(Clone, PartialEq, Eq)]
pub struct WireChallenge {
    pub nonce: String,
    pub url: String,
    pub serial: String,
    pub question: String,
    pub title: String,
    pub sslverify: String,
    pub signature: String,
    pub require_presence: Option<String>,
    pub capabilities: Option<String>,
    pub capabilities_signature: Option<String>,
    /// When the messaging service says it sent the push (unix seconds; FCM's
    /// `google.sent_time` in milliseconds). Not signed: used only to expire sooner.
    pub sent_at: Option<i64>,
}

impl std::fmt::Debug for WireChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WireChallenge")
            .field("nonce", &self.nonce)
            .field("url", &self.url)
            .field("serial", &self.serial)
            .field("title", &self.title)
            .field("sslverify", &self.sslverify)
            .field("require_presence", &self.require_presence)
            .field("signature", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl WireChallenge {
    /// Reads a challenge from a string map (FCM data / APNs userInfo, unchanged).
    pub fn from_map(m: &HashMap<String, String>) -> Result<Self> {
        let get = |k: &str| -> Result<String> {
            m.get(k)
                .cloned()
                .ok_or_else(|| Error::InvalidPush(format!("the message has no '{k}'")))
        };
        let c = WireChallenge {
            nonce: get("nonce")?,
            url: get("url")?,
            serial: get("serial")?,
            question: get("question")?,
            title: get("title")?,
            sslverify: get("sslverify")?,
            signature: get("signature")?,
            require_presence: m.get("require_presence").cloned().filter(|s| !s.is_empty()),
            capabilities: m.get("capabilities").cloned().filter(|s| !s.is_empty()),
            capabilities_signature: m.get("capabilities_signature").cloned(),
            sent_at: ["google.sent_time", "sent_time"]
                .iter()
                .find_map(|k| m.get(*k))
                .and_then(|v| v.trim().parse::<i64>().ok())
                .map(|ms| ms.div_euclid(1000)),
        };
        c.check_shape()?;
        Ok(c)
    }

    /// Reads a challenge from a poll-list JSON object.
    pub fn from_json(v: &Value) -> Result<Self> {
        let obj = v
            .as_object()
            .ok_or_else(|| Error::InvalidPush("a poll entry is not an object".into()))?;
        let mut m = HashMap::new();
        for (k, v) in obj {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Null => continue,
                other => other.to_string(),
            };
            m.insert(k.clone(), s);
        }
        Self::from_map(&m)
    }

    fn check_shape(&self) -> Result<()> {
        let nonce_ok = !self.nonce.is_empty()
            && self.nonce.len() <= 128
            && self
                .nonce
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '=');
        if !nonce_ok {
            return Err(Error::InvalidPush("the nonce is malformed".into()));
        }
        if self.serial.is_empty() || self.serial.len() > 128 {
            return Err(Error::InvalidPush("the serial is malformed".into()));
        }
        if self.question.len() > 4096 || self.title.len() > 1024 {
            return Err(Error::InvalidPush("the message is too long".into()));
        }
        // The signed string joins the fields with '|' unescaped. Only the question (free
        // text) may contain one: every other field is refused if it does, and the fields
        // after the question are pinned by their domains (sslverify is 0 or 1, presence
        // options are a list of at least two), so no text can move between fields (for
        // example to drop require_presence) with the signature still valid.
        for (name, value) in [
            ("url", self.url.as_str()),
            ("serial", self.serial.as_str()),
            ("title", self.title.as_str()),
            ("sslverify", self.sslverify.as_str()),
        ] {
            if value.contains('|') {
                return Err(Error::InvalidPush(format!("the {name} contains '|'")));
            }
        }
        if self.sslverify != "0" && self.sslverify != "1" {
            return Err(Error::InvalidPush("sslverify must be 0 or 1".into()));
        }
        if let Some(p) = &self.require_presence {
            let options: Vec<&str> = p.split(',').map(str::trim).collect();
            let mut unique = options.clone();
            unique.sort_unstable();
            unique.dedup();
            let well_formed = options.len() >= 2
                && options.len() <= 16
                && unique.len() == options.len()
                && options
                    .iter()
                    .all(|o| !o.is_empty() && o.len() <= 32 && !o.contains('|'));
            if !well_formed {
                return Err(Error::InvalidPush(
                    "the presence options are malformed".into(),
                ));
            }
        }
        Ok(())
    }

    /// The string the server signed.
    pub fn signed_string(&self) -> String {
        let mut s = format!(
            "{}|{}|{}|{}|{}|{}",
            self.nonce, self.url, self.serial, self.question, self.title, self.sslverify
        );
        if let Some(p) = &self.require_presence {
            s.push('|');
            s.push_str(p);
        }
        s
    }

    /// Verifies the server's signature (and the capabilities signature, when present).
    pub fn verify(&self, server_pkcs1: &[u8]) -> Result<()> {
        verify(server_pkcs1, &self.signed_string(), &self.signature)?;
        if let Some(caps) = &self.capabilities {
            let sig = self
                .capabilities_signature
                .as_deref()
                .ok_or(Error::BadSignature)?;
            let caps_value: Value = serde_json::from_str(caps)
                .map_err(|_| Error::InvalidPush("capabilities are not JSON".into()))?;
            verify(
                server_pkcs1,
                &canonical_capabilities(&caps_value, &self.nonce),
                sig,
            )?;
        }
        Ok(())
    }

    /// Presence options the user must pick from (number matching), if any.
    pub fn presence_options(&self) -> Vec<String> {
        self.require_presence
            .as_deref()
            .map(|p| {
                p.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Decline reasons the server advertises (capabilities `decline_reason: true`).
    pub fn decline_reasons(&self) -> Vec<String> {
        let supported = self
            .capabilities
            .as_deref()
            .and_then(|c| serde_json::from_str::<Value>(c).ok())
            .and_then(|v| v.get("decline_reason").and_then(Value::as_bool))
            .unwrap_or(false);
        if supported {
            DECLINE_REASONS.iter().map(|s| s.to_string()).collect()
        } else {
            Vec::new()
        }
    }
}

/// The decline reasons privacyIDEA 3.14 knows.
pub const DECLINE_REASONS: [&str; 2] = ["unknown_trigger", "cancelled"];

/// RFC 8785 canonical JSON of `{"capabilities": caps, "nonce": nonce}`. serde_json's
/// default map is sorted, and its compact output matches JCS for the strings, booleans
/// and small integers capabilities hold.
pub fn canonical_capabilities(caps: &Value, nonce: &str) -> String {
    let mut m = serde_json::Map::new();
    m.insert("capabilities".into(), caps.clone());
    m.insert("nonce".into(), Value::String(nonce.into()));
    Value::Object(m).to_string()
}

/// String signed by an approve (or presence) answer.
pub fn approve_message(nonce: &str, serial: &str, presence: Option<&str>) -> String {
    match presence {
        Some(p) => format!("{nonce}|{serial}|{p}"),
        None => format!("{nonce}|{serial}"),
    }
}

/// String signed by a decline.
pub fn decline_message(nonce: &str, serial: &str, reason: Option<&str>) -> String {
    match reason {
        Some(r) => format!("{nonce}|{serial}|decline|{r}"),
        None => format!("{nonce}|{serial}|decline"),
    }
}

/// The ISO 8601 UTC timestamp used by polls and token updates
/// (`2023-11-14T22:13:20.000000Z`). Times outside years 0..=9999 give the epoch.
pub fn timestamp(unix: i64) -> String {
    // 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
    let unix = if (-62_167_219_200..=253_402_300_799).contains(&unix) {
        unix
    } else {
        0
    };
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's days_from_civil, inverted),
    // in 400-year eras of 146,097 days starting on 0000-03-01.
    let z = days + 719_468;
    let (era, doe) = (z.div_euclid(146_097), z.rem_euclid(146_097));
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.000000Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Parses a privacyIDEA JSON answer: errors for non-200 or `status:false`.
pub fn parse_answer(status: u16, body: &str) -> Result<Value> {
    let v: Value = serde_json::from_str(body).map_err(|_| Error::Server {
        status,
        message: "the server's answer is not JSON".into(),
    })?;
    let result = v.get("result");
    let ok = result
        .and_then(|r| r.get("status"))
        .and_then(Value::as_bool)
        == Some(true);
    if status != 200 || !ok {
        let message = result
            .and_then(|r| r.get("error"))
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str)
            .unwrap_or("no message")
            .chars()
            .take(300)
            .collect();
        return Err(Error::Server { status, message });
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sign_verify_roundtrip_with_pkcs1_public_key() {
        let k = generate_phone_key(2048).unwrap();
        let sig = sign(&k.pkcs8, "nonce|serial").unwrap();
        assert!(sig.ends_with('=') || sig.len().is_multiple_of(8));
        assert_eq!(sig, sig.to_ascii_uppercase());
        // ring verifies with PKCS#1 RSAPublicKey DER: derive it from the pair.
        let pair = RsaKeyPair::from_pkcs8(&k.pkcs8).unwrap();
        let pkcs1 = pair.public().as_ref().to_vec();
        verify(&pkcs1, "nonce|serial", &sig).unwrap();
        assert!(matches!(
            verify(&pkcs1, "nonce|serial2", &sig),
            Err(Error::BadSignature)
        ));
    }

    #[test]
    fn canonical_capabilities_matches_protocol_doc() {
        let caps: Value = serde_json::from_str("{\"decline_reason\": true}").unwrap();
        assert_eq!(
            canonical_capabilities(&caps, "ABC"),
            "{\"capabilities\":{\"decline_reason\":true},\"nonce\":\"ABC\"}"
        );
    }

    #[test]
    fn signed_string_includes_presence_only_when_present() {
        let mut m: HashMap<String, String> = [
            ("nonce", "FNO2NEWKB6CCROL5F3BKJTDNGB4HBYCX"),
            ("url", "http://127.0.0.1:5080/ttype/push"),
            ("serial", "PIPU000099FE"),
            ("question", "Login for Alice from 127.0.0.1?"),
            ("title", "privacyIDEA-local"),
            ("sslverify", "0"),
            ("signature", "AAAA"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let c = WireChallenge::from_map(&m).unwrap();
        assert_eq!(c.signed_string(), "FNO2NEWKB6CCROL5F3BKJTDNGB4HBYCX|http://127.0.0.1:5080/ttype/push|PIPU000099FE|Login for Alice from 127.0.0.1?|privacyIDEA-local|0");
        m.insert("require_presence".into(), "A,B,C".into());
        let c = WireChallenge::from_map(&m).unwrap();
        assert!(c.signed_string().ends_with("|0|A,B,C"));
        assert_eq!(c.presence_options(), vec!["A", "B", "C"]);
        m.remove("nonce");
        assert!(matches!(
            WireChallenge::from_map(&m),
            Err(Error::InvalidPush(_))
        ));
    }

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn text_cannot_move_between_signed_fields() {
        let original = map(&[
            ("nonce", "NONCE"),
            ("url", "https://pi.example/ttype/push"),
            ("serial", "PIPU1"),
            ("question", "Login?"),
            ("title", "PI"),
            ("sslverify", "1"),
            ("require_presence", "12,34,56"),
            ("signature", "AAAA"),
        ]);
        let signed = WireChallenge::from_map(&original).unwrap().signed_string();
        // A man in the middle drops require_presence and shifts the text left: the
        // joined string, and so the signature, would be the same.
        let forgeries = [
            map(&[
                ("nonce", "NONCE"),
                ("url", "https://pi.example/ttype/push"),
                ("serial", "PIPU1"),
                ("question", "Login?|PI"),
                ("title", "1"),
                ("sslverify", "12,34,56"),
                ("signature", "AAAA"),
            ]),
            map(&[
                ("nonce", "NONCE"),
                ("url", "https://pi.example/ttype/push"),
                ("serial", "PIPU1"),
                ("question", "Login?"),
                ("title", "PI|1"),
                ("sslverify", "12,34,56"),
                ("signature", "AAAA"),
            ]),
        ];
        for f in &forgeries {
            let joined = ["nonce", "url", "serial", "question", "title", "sslverify"]
                .iter()
                .map(|k| f[*k].as_str())
                .collect::<Vec<_>>()
                .join("|");
            assert_eq!(joined, signed, "the forgery signs the same string");
            assert!(matches!(
                WireChallenge::from_map(f),
                Err(Error::InvalidPush(_))
            ));
        }
        // The question may hold a '|' (free text); the other fields may not.
        let mut ok = original.clone();
        ok.insert("question".into(), "Login | from 10.0.0.1?".into());
        assert!(WireChallenge::from_map(&ok).is_ok());
        for (k, v) in [
            ("url", "https://pi.example/a|b"),
            ("serial", "PIPU|1"),
            ("title", "P|I"),
            ("sslverify", "true"),
            ("sslverify", "01"),
            ("require_presence", "12"),
            ("require_presence", "12,,34"),
            ("require_presence", "12,12"),
            ("require_presence", "1|2,34"),
        ] {
            let mut bad = original.clone();
            bad.insert(k.into(), v.into());
            assert!(
                matches!(WireChallenge::from_map(&bad), Err(Error::InvalidPush(_))),
                "{k}={v}"
            );
        }
    }

    #[test]
    fn answer_strings() {
        assert_eq!(approve_message("N", "S", None), "N|S");
        assert_eq!(approve_message("N", "S", Some("Q")), "N|S|Q");
        assert_eq!(decline_message("N", "S", None), "N|S|decline");
        assert_eq!(
            decline_message("N", "S", Some("cancelled")),
            "N|S|decline|cancelled"
        );
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000000Z");
    }

    #[test]
    fn timestamps_match_chrono() {
        let chrono = |t: i64| {
            chrono::DateTime::from_timestamp(t, 0)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                .to_string()
        };
        assert_eq!(timestamp(1_700_000_000), "2023-11-14T22:13:20.000000Z");
        assert_eq!(timestamp(951_782_400), "2000-02-29T00:00:00.000000Z");
        assert_eq!(timestamp(-1), "1969-12-31T23:59:59.000000Z");
        assert_eq!(timestamp(i64::MAX), timestamp(0));
        assert_eq!(timestamp(253_402_300_800), timestamp(0));
        assert_eq!(timestamp(-62_167_219_201), timestamp(0));
        assert_eq!(timestamp(-62_167_219_200), "0000-01-01T00:00:00.000000Z");
        assert_eq!(timestamp(253_402_300_799), "9999-12-31T23:59:59.000000Z");
        // Month and leap-year edges, and a pseudo-random walk over years 0..=9999.
        let mut t: i64 = -62_167_219_199;
        let mut step: i64 = 1;
        while t <= 253_402_300_799 {
            assert_eq!(timestamp(t), chrono(t), "{t}");
            assert_eq!(timestamp(t - 1), chrono(t - 1), "{}", t - 1);
            step = step
                .wrapping_mul(6_364_136_223_846_793)
                .wrapping_add(1_442_695_040_888_963)
                .rem_euclid(7_919_999);
            t += 86_400 * 3 + step;
        }
        for year_start in [-62_167_219_200, 946_684_800, 4_102_444_800, 253_370_764_800] {
            for day in 0..366 {
                let t = (year_start + day * 86_400).min(253_402_300_799);
                assert_eq!(timestamp(t), chrono(t), "{t}");
            }
        }
    }
}
