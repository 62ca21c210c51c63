//! Entry points for the fuzz targets (`fuzz/`) and their regression tests
//! (`core/tests/fuzz_regressions.rs`): thin wrappers over the parsers that untrusted
//! input reaches, each calling the same code the engine calls. Unlike the exported
//! API they do not catch panics, so a fuzzer sees every one. Not part of the
//! supported API.
#![doc(hidden)]

use crate::enroll;
use crate::error::AuthenticatorError;
use crate::links::{self, ParsedLink};
use crate::push::{self, protocol, protocol::WireChallenge};
use std::collections::HashMap;

type Result<T> = std::result::Result<T, AuthenticatorError>;

/// A fixed "now" for the codes a preview shows (2023-11-14T22:13:20Z).
pub const PREVIEW_NOW: i64 = 1_700_000_000;

/// The preview path of a scanned or pasted link: `links::parse_link`, then the code
/// each OTP entry would show at `now`. Returns how many accounts the link holds; an
/// accepted account that has no code is an `Internal` error (a bug).
pub fn preview_link(link: &str, now: i64) -> Result<usize> {
    match links::parse_link(link)? {
        ParsedLink::Otp { entries, .. } => {
            for e in &entries {
                if enroll::code_now(e, now).is_none() {
                    return Err(AuthenticatorError::Internal {
                        reason: "an accepted account has no code".into(),
                    });
                }
            }
            Ok(entries.len())
        }
        ParsedLink::Push { .. } | ParsedLink::Container { .. } => Ok(1),
    }
}

/// A Google Authenticator export payload (the protobuf bytes), put into an
/// `otpauth-migration://offline?data=` link as an exporter would and previewed.
pub fn migration_payload(payload: &[u8]) -> Result<usize> {
    let b64 = data_encoding::BASE64.encode(payload);
    let data = percent_encoding::utf8_percent_encode(&b64, percent_encoding::NON_ALPHANUMERIC);
    preview_link(
        &format!("otpauth-migration://offline?data={data}"),
        PREVIEW_NOW,
    )
}

/// Another app's export file as the import reads it (`transfer::parse_file`): `format`
/// is a CLI name ("2fas", "andotp", ...; `None` detects it), then the code each account
/// would show at [`PREVIEW_NOW`]. Returns how many accounts it holds; a file-level error
/// comes back as the public `PasswordRequired`, `WrongPassword` or `InvalidFile`, an
/// accepted account without a code as `Internal` (a bug).
pub fn import_file(data: &[u8], format: Option<&str>, password: Option<&str>) -> Result<usize> {
    let format = match format {
        Some(name) => Some(crate::transfer::ImportFormat::parse(name).ok_or_else(|| {
            AuthenticatorError::Internal {
                reason: format!("no import format is named '{name}'"),
            }
        })?),
        None => None,
    };
    let (_, parsed) = crate::transfer::parse_file(data, format, password)
        .map_err(|e| AuthenticatorError::from(crate::error::Error::from(e)))?;
    for e in &parsed.entries {
        if enroll::code_now(e, PREVIEW_NOW).is_none() {
            return Err(AuthenticatorError::Internal {
                reason: "an imported account has no code".into(),
            });
        }
    }
    Ok(parsed.entries.len())
}

/// The text of the QR code in a PNG or JPEG image (`enroll::decode_qr_image`).
pub fn decode_qr_image(image: &[u8]) -> Result<String> {
    Ok(enroll::decode_qr_image(image)?)
}

/// A push message (FCM data / APNs userInfo) as `receive_push` reads it: shape checks,
/// the server signature (and capabilities signature) against `server_pkcs1`, then the
/// presence options and decline reasons stored with it.
pub fn push_message(message: &HashMap<String, String>, server_pkcs1: &[u8]) -> Result<()> {
    checked_challenge(WireChallenge::from_map(message)?, server_pkcs1)
}

/// One poll-list entry (a JSON text), read and checked like a push message.
pub fn poll_entry(json: &str, server_pkcs1: &[u8]) -> Result<()> {
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|_| AuthenticatorError::InvalidPushMessage {
            reason: "not JSON".into(),
        })?;
    checked_challenge(WireChallenge::from_json(&v)?, server_pkcs1)
}

fn checked_challenge(c: WireChallenge, server_pkcs1: &[u8]) -> Result<()> {
    c.verify(server_pkcs1)?;
    let _ = (c.presence_options(), c.decline_reasons());
    Ok(())
}

/// A poll answer as `Engine::ingest_poll` reads it: the list, then each entry checked
/// like a push message. Returns how many entries verified.
pub fn poll_list(status: u16, body: &str, server_pkcs1: &[u8]) -> Result<usize> {
    let entries = protocol::poll_entries(status, body)?;
    Ok(entries
        .iter()
        .filter(|e| {
            WireChallenge::from_json(e)
                .map_err(AuthenticatorError::from)
                .and_then(|c| checked_challenge(c, server_pkcs1))
                .is_ok()
        })
        .count())
}

/// Any privacyIDEA JSON answer (`protocol::parse_answer`).
pub fn server_answer(status: u16, body: &str) -> Result<()> {
    protocol::parse_answer(status, body)?;
    Ok(())
}

/// The answer to an approve or decline; true when the server accepted it.
pub fn answer_verdict(status: u16, body: &str) -> Result<bool> {
    Ok(push::answer_outcome(status, body)?.accepted)
}

/// The answer to enrollment step 2; returns the server key's PKCS#1 DER.
pub fn enrollment_answer(status: u16, body: &str) -> Result<Vec<u8>> {
    Ok(protocol::parse_enrollment_answer(status, body)?)
}

/// A server key as step 2 carries it (`detail.public_key`, base64 PKCS#1).
pub fn decode_server_key(b64: &str) -> Result<Vec<u8>> {
    Ok(protocol::decode_server_key(b64)?)
}

/// Verifies `signature` (base32) over `message` with a server key, as every challenge
/// verification does.
pub fn verify_signature(server_pkcs1: &[u8], message: &str, signature: &str) -> bool {
    protocol::verify(server_pkcs1, message, signature).is_ok()
}

/// The answer to a push token update (`push::token_update_verdict`).
pub fn token_update_verdict(status: u16, body: &str) -> Result<()> {
    Ok(push::token_update_verdict(status, body)?)
}

/// Input format of the server-answer fuzz targets: the HTTP status on the first line and
/// the body after it; input whose first line is not a status is a 200 with that input as
/// the body. `None` for input that is not UTF-8 (a `reqwest` body is text).
pub fn status_and_body(data: &[u8]) -> Option<(u16, &str)> {
    let text = std::str::from_utf8(data).ok()?;
    Some(match text.split_once('\n') {
        Some((first, body)) => match first.trim().parse::<u16>() {
            Ok(status) => (status, body),
            Err(_) => (200, text),
        },
        None => (200, text),
    })
}

/// Input format of the push message fuzz target: one `key=value` per line (split at the
/// first `=`; a later line with the same key wins). `None` for input that is not UTF-8
/// (FCM data and APNs userInfo values are strings).
pub fn string_map(data: &[u8]) -> Option<HashMap<String, String>> {
    let text = std::str::from_utf8(data).ok()?;
    Some(
        text.lines()
            .map(|line| {
                let (k, v) = line.split_once('=').unwrap_or((line, ""));
                (k.to_string(), v.to_string())
            })
            .collect(),
    )
}

/// A `pia://container/...` registration or transfer link (`container::protocol`).
pub fn container_link(text: &str) -> Result<()> {
    crate::container::protocol::parse_container_link(text).map_err(AuthenticatorError::from)?;
    Ok(())
}

/// The decrypted plaintext of a container synchronization answer, then the preview of
/// every token link in its `add` list (what the service stores). Returns how many
/// accounts those links hold; a link that fails is a typed error, counted as nothing.
pub fn container_sync_plaintext(plaintext: &[u8]) -> Result<usize> {
    let decrypted = crate::container::protocol::parse_sync_plaintext(plaintext)
        .map_err(AuthenticatorError::from)?;
    let mut accounts = 0usize;
    for link in &decrypted.add {
        match preview_link(link, PREVIEW_NOW) {
            Ok(n) => accounts = accounts.saturating_add(n),
            Err(AuthenticatorError::Internal { reason }) => {
                return Err(AuthenticatorError::Internal { reason })
            }
            Err(_) => {}
        }
    }
    let _ = (
        &decrypted.container,
        decrypted.update.len(),
        &decrypted.offline,
    );
    Ok(accounts)
}

/// Any container endpoint's answer envelope (`status` and body), read as each
/// operation reads it.
pub fn container_answer(status: u16, body: &str) -> Result<()> {
    use crate::container::protocol::{parse_answer, Operation};
    for op in [
        Operation::Finalize,
        Operation::Challenge,
        Operation::Synchronize,
        Operation::Rollover,
        Operation::Terminate,
    ] {
        let _ = parse_answer(status, body, op);
    }
    // The readers built on the envelope: finalize policies, the challenge, the transfer
    // link (with its QR image data URI) and the terminate answer.
    let _ = crate::container::protocol::parse_finalize_answer(status, body);
    let _ = crate::container::protocol::parse_challenge_answer(status, body);
    if let Ok(t) = crate::container::protocol::parse_rollover_answer(status, body, "SMPH0000D060") {
        if t.link.is_empty() || t.parsed.serial != "SMPH0000D060" {
            return Err(AuthenticatorError::Internal {
                reason: "a transfer link that is empty or for another container was accepted"
                    .into(),
            });
        }
    }
    let _ = crate::container::protocol::parse_terminate_answer(status, body);
    Ok(())
}
