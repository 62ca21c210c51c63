//! FreeOTP+'s JSON export (`ImportExportUtil.exportJsonFile`): Gson's form of
//! `SavedTokens(tokens, tokenOrder)`, the tokens being FreeOTP's legacy `Token` class.
//!
//! A token: `type` ("TOTP" or "HOTP"), `algo` ("SHA1", ...), `digits`, `period`,
//! `counter`, `secret` as a JSON array of Java's signed bytes (-128..127), `label` and
//! `issuerExt` (from the link's label), `issuerInt` (its `issuer` parameter), and the
//! user's renames `issuerAlt`/`labelAlt`; `image`/`imageAlt` are not imported. The
//! names shown are FreeOTP's `getIssuer()` (issuerAlt, issuerExt, issuerInt, the first
//! set) and `getLabel()` (labelAlt, else label). A TOTP token whose `issuerExt` is
//! "Steam" shows Steam codes in FreeOTP, so it is imported as Steam.
//!
//! FreeOTP+ computes an HOTP code from the stored counter and then increments it, so the
//! stored `counter` is the next code's counter. It stores a link's `counter` minus one,
//! so a token added from a link with `counter=0` holds -1: that one is imported as 0.
//!
//! FreeOTP+ imports the tokens named in `tokenOrder`, in that order (a token's name
//! there is "issuerInt:label", "issuerExt:label" or "label"); here the tokens listed
//! come first in that order, and tokens not listed follow in file order rather than
//! being dropped.

use super::entry::{self, Fields, SecretInput};
use super::{ImportFormat, ParsedFile, TransferError};
use crate::links::OtpEntry;
use serde_json::{Map, Value};
use std::collections::HashMap;
use zeroize::Zeroizing;

const FORMAT: ImportFormat = ImportFormat::FreeOtpPlus;

fn malformed(reason: impl Into<String>) -> TransferError {
    TransferError::malformed(FORMAT, reason)
}

/// Reads a FreeOTP+ export. It is never encrypted: `password` is not used.
pub fn parse(bytes: &[u8], password: Option<&str>) -> Result<ParsedFile, TransferError> {
    let _ = password;
    let text = std::str::from_utf8(bytes).map_err(|_| malformed("the file is not UTF-8 text"))?;
    let root: Value = serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|_| malformed("the file is not JSON"))?;
    let Value::Object(root) = root else {
        return Err(malformed("the file is not a JSON object"));
    };
    let tokens = match root.get("tokens") {
        Some(Value::Array(t)) => t,
        Some(_) => return Err(malformed("tokens is not an array")),
        None => return Err(malformed("the file has no tokens")),
    };
    // A token's place in `tokenOrder` (its first mention), looked up once per token.
    let mut order: HashMap<&str, usize> = HashMap::new();
    if let Some(Value::Array(names)) = root.get("tokenOrder") {
        for (i, name) in names.iter().filter_map(Value::as_str).enumerate() {
            order.entry(name).or_insert(i);
        }
    }
    let mut indexed: Vec<(usize, usize, &Value)> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let listed = t
                .as_object()
                .and_then(|o| order.get(token_id(o).as_str()).copied())
                .unwrap_or(usize::MAX);
            (listed, i, t)
        })
        .collect();
    indexed.sort_by_key(|(listed, i, _)| (*listed, *i));

    Ok(ParsedFile::read_objects(
        indexed.into_iter().map(|(_, i, token)| (i, token)),
        "a FreeOTP+ token",
        read_token,
    ))
}

fn text<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    o.get(key).and_then(Value::as_str)
}

fn first_set<'a>(o: &'a Map<String, Value>, keys: &[&str]) -> &'a str {
    keys.iter()
        .filter_map(|k| text(o, k))
        .find(|s| !s.is_empty())
        .unwrap_or("")
}

/// The token's name in `tokenOrder` (`Token.getID`).
fn token_id(o: &Map<String, Value>) -> String {
    let label = text(o, "label").unwrap_or("");
    match first_set(o, &["issuerInt", "issuerExt"]) {
        "" => label.to_string(),
        issuer => format!("{issuer}:{label}"),
    }
}

fn int(o: &Map<String, Value>, key: &str) -> Result<Option<i64>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("the field '{key}' is not a whole number")),
    }
}

/// Java's signed bytes back to bytes; a value out of range is named by its place, never
/// by its value (it is part of the secret).
fn secret_bytes(o: &Map<String, Value>) -> Result<Zeroizing<Vec<u8>>, String> {
    let items = match o.get("secret") {
        Some(Value::Array(items)) => items,
        None | Some(Value::Null) => return Err("the secret is missing or empty".into()),
        Some(_) => return Err("the secret is not an array of bytes".into()),
    };
    let mut bytes = Zeroizing::new(Vec::with_capacity(items.len()));
    for (i, item) in items.iter().enumerate() {
        let byte = item
            .as_i64()
            .and_then(|b| i8::try_from(b).ok())
            .ok_or_else(|| {
                format!(
                    "secret byte {} is not a byte from -128 to 127",
                    i.saturating_add(1)
                )
            })?;
        bytes.push(u8::from_be_bytes(byte.to_be_bytes()));
    }
    Ok(bytes)
}

fn read_token(o: &Map<String, Value>, position: usize) -> (String, Result<OtpEntry, String>) {
    let issuer = first_set(o, &["issuerAlt", "issuerExt", "issuerInt"]);
    let name = first_set(o, &["labelAlt", "label"]);
    (
        entry::label(issuer, name, position),
        token_entry(o, issuer, name),
    )
}

fn token_entry(o: &Map<String, Value>, issuer: &str, name: &str) -> Result<OtpEntry, String> {
    let kind = match o.get("type") {
        Some(Value::String(t)) => t.as_str(),
        None | Some(Value::Null) => "",
        Some(_) => return Err("the field 'type' is not text".into()),
    };
    let kind = if kind.eq_ignore_ascii_case("totp") && text(o, "issuerExt") == Some("Steam") {
        "steam"
    } else {
        kind
    };
    let counter = match int(o, "counter")? {
        Some(-1) => Some(0),
        c => c,
    };
    entry::build(Fields {
        kind,
        issuer,
        name,
        secret: SecretInput::Bytes(secret_bytes(o)?),
        algorithm: text(o, "algo"),
        digits: int(o, "digits")?,
        period: int(o, "period")?,
        counter,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::otp::{AccountKind, Algorithm};
    use crate::transfer::{detect, parse_file};
    use serde_json::json;

    /// Bytes as Java's `byte[]` through Gson: signed numbers.
    fn java_bytes(b: &[u8]) -> Value {
        json!(b
            .iter()
            .map(|x| i8::from_be_bytes([*x]))
            .collect::<Vec<_>>())
    }

    fn token(kind: &str, issuer_ext: &str, label: &str, secret: &[u8], extra: Value) -> Value {
        let mut t = json!({
            "algo": "SHA1", "counter": 0, "digits": 6, "issuerExt": issuer_ext,
            "issuerInt": issuer_ext, "label": label, "period": 30,
            "secret": java_bytes(secret), "type": kind,
        });
        for (k, v) in extra.as_object().unwrap() {
            t[k] = v.clone();
        }
        t
    }

    fn export(tokens: Vec<Value>, order: Vec<&str>) -> Vec<u8> {
        serde_json::to_vec(&json!({"tokenOrder": order, "tokens": tokens})).unwrap()
    }

    #[test]
    fn reads_an_export_with_signed_byte_secrets() {
        let secret = [0x00, 0x7f, 0x80, 0xff, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02];
        let file = export(
            vec![
                token("TOTP", "GitHub", "alice", &secret, json!({})),
                token(
                    "HOTP",
                    "Bank",
                    "bob",
                    b"1234567890",
                    json!({"algo": "SHA256", "digits": 8, "counter": 41}),
                ),
                token(
                    "TOTP",
                    "Steam",
                    "carol",
                    b"1234567890",
                    json!({"digits": 5}),
                ),
                token(
                    "TOTP",
                    "Work",
                    "dave",
                    b"1234567890",
                    json!({"algo": "SHA512", "period": 60, "issuerAlt": "Renamed", "labelAlt": "d2"}),
                ),
            ],
            vec!["GitHub:alice", "Bank:bob", "Steam:carol", "Work:dave"],
        );
        assert_eq!(detect(&file), Some(ImportFormat::FreeOtpPlus));
        let (format, p) = parse_file(&file, None, None).unwrap();
        assert_eq!(format, ImportFormat::FreeOtpPlus);
        assert_eq!(p.entries.len(), 4, "{:?}", p.refused);
        assert_eq!(p.entries[0].secret.as_slice(), secret);
        assert_eq!(
            (p.entries[0].issuer.as_str(), p.entries[0].name.as_str()),
            ("GitHub", "alice")
        );
        let bank = &p.entries[1];
        assert_eq!(
            (bank.kind, bank.algorithm, bank.digits, bank.counter),
            (AccountKind::Hotp, Algorithm::Sha256, 8, 41)
        );
        assert_eq!(p.entries[2].kind, AccountKind::Steam);
        let work = &p.entries[3];
        assert_eq!(
            (
                work.issuer.as_str(),
                work.name.as_str(),
                work.period,
                work.algorithm
            ),
            ("Renamed", "d2", 60, Algorithm::Sha512)
        );
    }

    #[test]
    fn the_counter_of_a_token_added_from_a_fresh_link_is_0() {
        let file = export(
            vec![
                token("HOTP", "A", "a", b"1234567890", json!({"counter": -1})),
                token("HOTP", "B", "b", b"1234567890", json!({"counter": -2})),
            ],
            vec![],
        );
        let p = parse(&file, None).unwrap();
        assert_eq!(p.entries[0].counter, 0);
        assert_eq!(p.refused[0].entry, "B: b");
        assert!(p.refused[0].reason.contains("negative"));
    }

    #[test]
    fn bytes_out_of_range_and_other_bad_tokens_are_refused_by_name() {
        let mut out_of_range = token("TOTP", "Big", "x", b"1234567890", json!({}));
        out_of_range["secret"] = json!([1, 2, 200, 4]);
        let mut fraction = token("TOTP", "Frac", "y", b"1234567890", json!({}));
        fraction["secret"] = json!([1, 2.5]);
        let mut text_secret = token("TOTP", "Text", "z", b"1234567890", json!({}));
        text_secret["secret"] = json!("JBSWY3DPEHPK3PXP");
        let file = export(
            vec![
                out_of_range,
                fraction,
                text_secret,
                token("TOTP", "Empty", "e", b"", json!({})),
                token("TOTP", "Md5", "m", b"1234567890", json!({"algo": "MD5"})),
                token("TOTP", "Digits", "d", b"1234567890", json!({"digits": 0})),
                token("TOTP", "Period", "p", b"1234567890", json!({"period": 0})),
                token("MOTP", "Kind", "k", b"1234567890", json!({})),
                json!(7),
                token("TOTP", "Good", "g", b"1234567890", json!({})),
            ],
            vec![],
        );
        let p = parse(&file, None).unwrap();
        assert_eq!(p.entries.len(), 1);
        assert_eq!(p.entries[0].issuer, "Good");
        let refused: Vec<_> = p.refused.iter().map(|r| r.entry.as_str()).collect();
        assert_eq!(
            refused,
            [
                "Big: x",
                "Frac: y",
                "Text: z",
                "Empty: e",
                "Md5: m",
                "Digits: d",
                "Period: p",
                "Kind: k",
                "entry 9"
            ]
        );
        assert_eq!(
            p.refused[0].reason,
            "secret byte 3 is not a byte from -128 to 127"
        );
        assert!(!p.refused[0].reason.contains("200"));
    }

    #[test]
    fn token_order_sorts_and_unlisted_tokens_are_kept() {
        let file = export(
            vec![
                token("TOTP", "A", "a", b"1234567890", json!({})),
                token(
                    "TOTP",
                    "",
                    "nolabel",
                    b"1234567890",
                    json!({"issuerInt": null}),
                ),
                token(
                    "TOTP",
                    "B",
                    "b",
                    b"1234567890",
                    json!({"issuerInt": "Bint"}),
                ),
                token("TOTP", "C", "c", b"1234567890", json!({})),
            ],
            vec!["Bint:b", "nolabel", "A:a"],
        );
        let p = parse(&file, None).unwrap();
        let names: Vec<_> = p.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["b", "nolabel", "a", "c"]);
    }

    #[test]
    fn file_level_problems() {
        for bad in [&b"[]"[..], b"{}", b"{\"tokens\": 3}", b"nope", b"\xff"] {
            assert!(
                matches!(parse(bad, None), Err(TransferError::Malformed { .. })),
                "{bad:?}"
            );
        }
        assert!(parse(&export(vec![], vec![]), None)
            .unwrap()
            .entries
            .is_empty());
    }

    /// Writes the fuzz seeds (`fuzz/seeds/import_freeotp_plus/`):
    /// `cargo test -p authenticator-core --lib write_freeotp_plus_fuzz_seeds -- --ignored`.
    #[test]
    #[ignore = "writes files into fuzz/seeds"]
    fn write_freeotp_plus_fuzz_seeds() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fuzz/seeds/import_freeotp_plus");
        std::fs::create_dir_all(&dir).unwrap();
        let file = export(
            vec![
                token(
                    "TOTP",
                    "GitHub",
                    "alice",
                    &[0x00, 0x7f, 0x80, 0xff, 0xde, 0xad, 0xbe, 0xef, 1, 2],
                    json!({}),
                ),
                token(
                    "HOTP",
                    "Bank",
                    "bob",
                    b"1234567890",
                    json!({"algo": "SHA256", "digits": 8, "counter": 41}),
                ),
                token(
                    "TOTP",
                    "Steam",
                    "carol",
                    b"1234567890",
                    json!({"digits": 5}),
                ),
            ],
            vec!["GitHub:alice", "Bank:bob", "Steam:carol"],
        );
        std::fs::write(dir.join("export"), file).unwrap();
    }

    #[test]
    fn the_fuzz_seeds_import_through_the_fuzz_entry_point() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fuzz/seeds/import_freeotp_plus");
        let mut seen = 0;
        for f in std::fs::read_dir(dir).unwrap() {
            let bytes = std::fs::read(f.unwrap().path()).unwrap();
            let n = crate::fuzz_support::import_file(&bytes, Some("freeotp-plus"), Some("fuzz"))
                .unwrap();
            assert!(n >= 1);
            seen += 1;
        }
        assert!(seen >= 1);
    }
}
