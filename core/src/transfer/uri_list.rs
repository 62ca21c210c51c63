//! Plain lists: one otpauth link a line (many apps' plain export, and Ente Auth's plain
//! export with its `codeDisplay` parameter), and Google Authenticator
//! `otpauth-migration` links, one or more, read by the same parser as a scanned link.

use super::{ImportFormat, ParsedFile, TransferError};
use crate::links::{self, ParsedLink};
use percent_encoding::percent_decode_str;

/// Reads a list. A line that is not a link is refused by its line number; blank lines
/// and `#` comments are ignored.
pub fn parse(bytes: &[u8]) -> Result<ParsedFile, TransferError> {
    let text = std::str::from_utf8(bytes).map_err(|_| {
        TransferError::malformed(ImportFormat::UriList, "the file is not UTF-8 text")
    })?;
    let mut out = ParsedFile::default();
    let mut links_seen = 0;
    for (i, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        links_seen += 1;
        let where_ = format!("line {}", i + 1);
        if ente_trashed(line) {
            out.skip(where_, "in the trash of the exporting app");
            continue;
        }
        match links::parse_link(line) {
            Ok(ParsedLink::Otp { entries, .. }) => out.entries.extend(entries),
            Ok(ParsedLink::Push { .. } | ParsedLink::Container { .. }) => {
                out.refused.push(super::NotImported {
                    entry: where_,
                    reason: "a push token cannot be moved: enroll it again from its server".into(),
                })
            }
            Err(e) => out.refused.push(super::NotImported {
                entry: where_,
                reason: match e {
                    crate::error::Error::InvalidEnrollment(r) => r,
                    other => other.to_string(),
                },
            }),
        }
    }
    if links_seen == 0 {
        return Err(TransferError::malformed(
            ImportFormat::UriList,
            "the file holds no links",
        ));
    }
    Ok(out)
}

/// Ente Auth writes `codeDisplay={"pinned":false,"trashed":true,...}` into each link of
/// its plain export; trashed entries are not imported.
fn ente_trashed(line: &str) -> bool {
    let Some((_, query)) = line.split_once('?') else {
        return false;
    };
    query.split('&').any(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if !k.eq_ignore_ascii_case("codeDisplay") {
            return false;
        }
        let v = percent_decode_str(&v.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned();
        serde_json::from_str::<serde_json::Value>(&v)
            .ok()
            .and_then(|j| j.get("trashed").and_then(serde_json::Value::as_bool))
            .unwrap_or(false)
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::otp::AccountKind;

    #[test]
    fn reads_links_refuses_bad_lines_by_number_and_skips_ente_trash() {
        let file = "\u{feff}otpauth://totp/GitHub:alice?secret=JBSWY3DPEHPK3PXP&issuer=GitHub\n\
            \n# a comment\n\
            otpauth://hotp/Bank:bob?secret=JBSWY3DPEHPK3PXP&counter=7\n\
            otpauth://totp/X:y?secret=JBSWY3DPEHPK3PXP&digits=0\n\
            otpauth://totp/Old:z?secret=JBSWY3DPEHPK3PXP&codeDisplay=%7B%22pinned%22%3Afalse%2C%22trashed%22%3Atrue%7D\n\
            otpauth://totp/Kept:z?secret=JBSWY3DPEHPK3PXP&codeDisplay=%7B%22pinned%22%3Atrue%2C%22trashed%22%3Afalse%7D\n";
        let p = parse(file.as_bytes()).unwrap();
        assert_eq!(p.entries.len(), 3);
        assert_eq!(p.entries[1].kind, AccountKind::Hotp);
        assert_eq!(p.entries[1].counter, 7);
        assert_eq!(p.refused.len(), 1);
        assert_eq!(p.refused[0].entry, "line 5");
        assert!(p.refused[0].reason.contains("digits"));
        assert_eq!(p.skipped.len(), 1);
        assert_eq!(p.skipped[0].entry, "line 6");
    }

    #[test]
    fn an_empty_list_is_an_error() {
        assert!(parse(b"\n# nothing\n").is_err());
    }
}
