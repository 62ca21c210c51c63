//! Writers of the plain formats other apps read: otpauth link lists and Google
//! Authenticator's `otpauth-migration://offline` links, batched so each fits one QR
//! code. (Aegis's vault format is written in `aegis.rs`.)

use super::{NotImported, OtpEntry};
use crate::links::{MigrationPayload, OtpParameters};
use crate::otp::{AccountKind, Algorithm};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use zeroize::Zeroizing;

/// What may stay unescaped in a label or query value (RFC 3986 unreserved).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn esc(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

/// The otpauth link of one account (Key URI format; Steam as `otpauth://steam/`, the
/// form Aegis, andOTP and this core read).
pub fn otpauth_link(e: &OtpEntry) -> Zeroizing<String> {
    let kind = match e.kind {
        AccountKind::Hotp => "hotp",
        AccountKind::Steam => "steam",
        _ => "totp",
    };
    let label = if e.issuer.is_empty() {
        esc(&e.name)
    } else {
        format!("{}:{}", esc(&e.issuer), esc(&e.name))
    };
    let secret = Zeroizing::new(data_encoding::BASE32_NOPAD.encode(&e.secret));
    let mut link = Zeroizing::new(format!("otpauth://{kind}/{label}?secret={}", *secret));
    if !e.issuer.is_empty() {
        link.push_str(&format!("&issuer={}", esc(&e.issuer)));
    }
    if e.kind != AccountKind::Steam {
        link.push_str(&format!(
            "&algorithm={}&digits={}",
            e.algorithm.as_str().to_ascii_uppercase(),
            e.digits
        ));
    }
    match e.kind {
        AccountKind::Hotp => link.push_str(&format!("&counter={}", e.counter)),
        AccountKind::Totp => link.push_str(&format!("&period={}", e.period)),
        _ => {}
    }
    link
}

/// `uri-list`: one link a line.
pub fn write_uri_list(entries: &[OtpEntry]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::new());
    for e in entries {
        out.extend_from_slice(otpauth_link(e).as_bytes());
        out.push(b'\n');
    }
    out
}

/// Longest migration link put in one QR code. Google Authenticator's own exports hold
/// about ten accounts a code; 1,400 characters stay a QR code (version 30-ish, EC level
/// L) that phone cameras read from a screen.
pub const GOOGLE_LINK_MAX_CHARS: usize = 1400;
/// At most this many accounts a QR code, as Google's own exports.
pub const GOOGLE_ACCOUNTS_PER_CODE: usize = 10;

/// Why Google Authenticator cannot hold `e`, if it cannot. Its format has no period
/// (always 30 s), 6 or 8 digits only, and no Steam.
pub fn google_cannot_express(e: &OtpEntry) -> Option<String> {
    match e.kind {
        AccountKind::Steam => Some("Google Authenticator has no Steam codes".into()),
        AccountKind::Push => Some("a push token".into()),
        _ if e.digits != 6 && e.digits != 8 => Some(format!(
            "Google Authenticator has no {}-digit codes",
            e.digits
        )),
        AccountKind::Totp if e.period != 30 => Some(format!(
            "Google Authenticator has no period ({} s); it would show wrong codes",
            e.period
        )),
        _ => None,
    }
}

fn google_params(e: &OtpEntry) -> OtpParameters {
    OtpParameters {
        secret: e.secret.to_vec(),
        name: e.name.clone(),
        issuer: e.issuer.clone(),
        algorithm: match e.algorithm {
            Algorithm::Sha1 => 1,
            Algorithm::Sha256 => 2,
            Algorithm::Sha512 => 3,
        },
        digits: if e.digits == 8 { 2 } else { 1 },
        r#type: if e.kind == AccountKind::Hotp { 1 } else { 2 },
        counter: i64::try_from(e.counter).unwrap_or(i64::MAX),
    }
}

fn migration_link(params: Vec<OtpParameters>, index: i32, size: i32, id: i32) -> Zeroizing<String> {
    let payload = MigrationPayload {
        otp_parameters: params,
        version: 1,
        batch_size: size,
        batch_index: index,
        batch_id: id,
    };
    let bytes = Zeroizing::new(prost::Message::encode_to_vec(&payload));
    let b64 = Zeroizing::new(data_encoding::BASE64.encode(&bytes));
    Zeroizing::new(format!("otpauth-migration://offline?data={}", esc(&b64)))
}

/// `google`: the migration links (one per QR code), and the accounts left out with the
/// reason. Nothing is ever mangled to fit.
pub fn write_google(
    entries: &[OtpEntry],
    batch_id: i32,
) -> (Vec<Zeroizing<String>>, Vec<NotImported>) {
    let mut left_out = Vec::new();
    let mut groups: Vec<Vec<&OtpEntry>> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if let Some(reason) = google_cannot_express(e) {
            left_out.push(NotImported {
                entry: super::entry::label(&e.issuer, &e.name, i + 1),
                reason,
            });
            continue;
        }
        let fits = groups.last().is_some_and(|g| {
            let mut trial: Vec<OtpParameters> = g.iter().map(|x| google_params(x)).collect();
            trial.push(google_params(e));
            g.len() < GOOGLE_ACCOUNTS_PER_CODE
                && migration_link(trial, 0, 1, batch_id).len() <= GOOGLE_LINK_MAX_CHARS
        });
        if fits {
            if let Some(g) = groups.last_mut() {
                g.push(e);
            }
        } else {
            groups.push(vec![e]);
        }
    }
    let size = i32::try_from(groups.len()).unwrap_or(i32::MAX);
    let links = groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            migration_link(
                g.iter().map(|x| google_params(x)).collect(),
                i32::try_from(i).unwrap_or(i32::MAX),
                size,
                batch_id,
            )
        })
        .collect();
    (links, left_out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::links::{parse_link, ParsedLink};

    fn entry(kind: AccountKind, name: &str, digits: u8, period: u32) -> OtpEntry {
        OtpEntry {
            kind,
            issuer: "Ex ample&Co".into(),
            name: name.into(),
            secret: Zeroizing::new((0..20).collect()),
            algorithm: Algorithm::Sha256,
            digits,
            period,
            counter: 41,
            policy: Default::default(),
            serial: None,
        }
    }

    #[test]
    fn uri_list_links_parse_back_to_the_same_accounts() {
        let list = [
            entry(AccountKind::Totp, "a:b c", 8, 45),
            entry(AccountKind::Hotp, "h", 6, 30),
            entry(AccountKind::Steam, "s", 5, 30),
        ];
        let text = write_uri_list(&list);
        let parsed = crate::transfer::uri_list::parse(&text).unwrap();
        assert!(parsed.refused.is_empty(), "{:?}", parsed.refused);
        assert_eq!(parsed.entries.len(), 3);
        for (e, p) in list.iter().zip(&parsed.entries) {
            assert_eq!((p.kind, &p.issuer, &p.name), (e.kind, &e.issuer, &e.name));
            assert_eq!(*p.secret, *e.secret);
        }
        assert_eq!(
            (parsed.entries[0].digits, parsed.entries[0].period),
            (8, 45)
        );
        assert_eq!(parsed.entries[0].algorithm, Algorithm::Sha256);
        assert_eq!(parsed.entries[1].counter, 41);
    }

    #[test]
    fn google_batches_fit_a_qr_code_and_leave_out_what_google_cannot_hold() {
        let mut list: Vec<OtpEntry> = (0..25)
            .map(|i| entry(AccountKind::Totp, &format!("user{i}@example.com"), 6, 30))
            .collect();
        list.push(entry(AccountKind::Totp, "period", 6, 60));
        list.push(entry(AccountKind::Totp, "seven", 7, 30));
        list.push(entry(AccountKind::Steam, "steam", 5, 30));
        list.push(entry(AccountKind::Hotp, "counter", 8, 30));
        let (links, left_out) = write_google(&list, 77);
        let names: Vec<&str> = left_out.iter().map(|n| n.entry.as_str()).collect();
        assert_eq!(
            names,
            [
                "Ex ample&Co: period",
                "Ex ample&Co: seven",
                "Ex ample&Co: steam"
            ]
        );
        assert!(links.len() >= 3);
        let mut seen = 0;
        for (i, l) in links.iter().enumerate() {
            assert!(l.len() <= GOOGLE_LINK_MAX_CHARS);
            // Each link is a QR code that a phone reads.
            assert!(
                qrcode::QrCode::with_error_correction_level(l.as_bytes(), qrcode::EcLevel::L)
                    .is_ok()
            );
            match parse_link(l).unwrap() {
                ParsedLink::Otp { entries, batch, .. } => {
                    let b = batch.unwrap();
                    assert_eq!(
                        (b.index as usize, b.size as usize, b.id),
                        (i, links.len(), 77)
                    );
                    seen += entries.len();
                    if let Some(h) = entries.iter().find(|e| e.name == "counter") {
                        assert_eq!((h.kind, h.counter, h.digits), (AccountKind::Hotp, 41, 8));
                    }
                }
                _ => panic!("not an OTP link"),
            }
        }
        assert_eq!(seen, 26);
    }
}
