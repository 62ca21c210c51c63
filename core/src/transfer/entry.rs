//! The one place where an imported entry's fields become an [`OtpEntry`]: every parser
//! hands over what its format stored, and the checks (type, algorithm, digits, period,
//! counter, secret) and their reasons are the same for all formats and for links.

use crate::links::{self, AccountLockPolicy, OtpEntry};
use crate::otp::{self, AccountKind, Algorithm};
use zeroize::Zeroizing;

/// An entry's secret as its format stores it.
pub enum SecretInput<'a> {
    /// Base32 text (lenient: case, spaces, dashes, padding).
    Base32(&'a str),
    /// Raw bytes (FreeOTP+'s signed-byte arrays, decoded by the caller).
    Bytes(Zeroizing<Vec<u8>>),
}

/// The fields of one imported entry, before any check. `None` means the format did not
/// store the field (2FAS v1 has no digits, period or algorithm), and the common default
/// applies: SHA1, 6 digits, 30 s, counter 0.
pub struct Fields<'a> {
    /// The token type as the format names it ("TOTP", "hotp", "steam", ...).
    pub kind: &'a str,
    /// Issuer (may be empty).
    pub issuer: &'a str,
    /// Account name (may be empty).
    pub name: &'a str,
    /// The secret.
    pub secret: SecretInput<'a>,
    /// Algorithm name ("SHA1", "sha256", ...).
    pub algorithm: Option<&'a str>,
    /// Code length.
    pub digits: Option<i64>,
    /// TOTP period in seconds.
    pub period: Option<i64>,
    /// HOTP counter of the next code.
    pub counter: Option<i64>,
}

/// A text field of a JSON entry: absent and null are `None`, another type is an error
/// naming the field (never its value).
pub fn json_text<'a>(
    o: &'a serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Result<Option<&'a str>, String> {
    match o.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("the field '{key}' is not text")),
    }
}

/// An integer field of a JSON entry (a JSON number, or a number in a string as some
/// exporters write it).
pub fn json_int(
    o: &serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Result<Option<i64>, String> {
    match o.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("the field '{key}' is not a whole number")),
        Some(serde_json::Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("the field '{key}' is not a whole number")),
        Some(_) => Err(format!("the field '{key}' is not a number")),
    }
}

/// How an entry is named in messages: "issuer: name", the one that is set, or its
/// position in the file (1-based).
pub fn label(issuer: &str, name: &str, position: usize) -> String {
    match (issuer.trim(), name.trim()) {
        ("", "") => format!("entry {position}"),
        (i, "") => i.to_string(),
        ("", n) => n.to_string(),
        (i, n) => format!("{i}: {n}"),
    }
}

/// Parses a type name.
pub fn kind(name: &str) -> Result<AccountKind, String> {
    match name.trim().to_ascii_lowercase().as_str() {
        "totp" => Ok(AccountKind::Totp),
        "hotp" => Ok(AccountKind::Hotp),
        "steam" => Ok(AccountKind::Steam),
        "" => Err("the token type is missing".into()),
        other => Err(format!("unsupported token type '{other}'")),
    }
}

/// Parses an algorithm name ("SHA1", "sha-256", "HmacSHA512", ...).
pub fn algorithm(name: &str) -> Result<Algorithm, String> {
    let n = name.trim().to_ascii_uppercase().replace(['-', '_'], "");
    let n = n.strip_prefix("HMAC").unwrap_or(&n);
    match n {
        "SHA1" => Ok(Algorithm::Sha1),
        "SHA256" => Ok(Algorithm::Sha256),
        "SHA512" => Ok(Algorithm::Sha512),
        "" => Err("the algorithm is missing".into()),
        _ => Err(format!("unsupported algorithm '{}'", name.trim())),
    }
}

fn reason(e: crate::error::Error) -> String {
    match e {
        crate::error::Error::InvalidEnrollment(r) => r,
        other => other.to_string(),
    }
}

/// Checks the fields and builds the account, or says why not.
pub fn build(f: Fields<'_>) -> Result<OtpEntry, String> {
    let kind = kind(f.kind)?;
    let secret = match f.secret {
        SecretInput::Base32(s) => links::decode_base32_secret(s).map_err(reason)?,
        SecretInput::Bytes(b) => b,
    };
    if secret.is_empty() {
        return Err("the secret is missing or empty".into());
    }
    let algorithm = match f.algorithm {
        Some(a) if !a.trim().is_empty() => algorithm(a)?,
        _ => Algorithm::Sha1,
    };
    let digits = match (kind, f.digits) {
        (AccountKind::Steam, _) => otp::STEAM_DIGITS,
        (_, None) => 6,
        (_, Some(d)) => {
            let d = u8::try_from(d).map_err(|_| {
                format!(
                    "digits must be between {} and {}, got {d}",
                    otp::MIN_DIGITS,
                    otp::MAX_DIGITS
                )
            })?;
            otp::check_digits(d).map_err(reason)?;
            d
        }
    };
    let period = match (kind, f.period) {
        (AccountKind::Totp, Some(p)) => {
            let p = u32::try_from(p).map_err(|_| {
                format!(
                    "period must be between 1 and {} seconds, got {p}",
                    otp::MAX_PERIOD
                )
            })?;
            otp::check_period(p).map_err(reason)?;
            p
        }
        _ => 30,
    };
    let counter = match (kind, f.counter) {
        (AccountKind::Hotp, Some(c)) => {
            u64::try_from(c).map_err(|_| "the HOTP counter is negative".to_string())?
        }
        _ => 0,
    };
    Ok(OtpEntry {
        kind,
        issuer: f.issuer.trim().to_string(),
        name: f.name.trim().to_string(),
        secret,
        algorithm,
        digits,
        period,
        counter,
        policy: AccountLockPolicy::default(),
        serial: None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn fields<'a>(kind: &'a str, secret: &'a str) -> Fields<'a> {
        Fields {
            kind,
            issuer: " GitHub ",
            name: "alice",
            secret: SecretInput::Base32(secret),
            algorithm: None,
            digits: None,
            period: None,
            counter: None,
        }
    }

    #[test]
    fn defaults_apply_to_fields_a_format_does_not_store() {
        let e = build(fields("TOTP", "JBSWY3DPEHPK3PXP")).unwrap();
        assert_eq!(
            (e.kind, e.algorithm, e.digits, e.period),
            (AccountKind::Totp, Algorithm::Sha1, 6, 30)
        );
        assert_eq!(e.issuer, "GitHub");
    }

    #[test]
    fn bad_fields_are_refused_with_a_reason_and_no_secret() {
        let mut f = fields("totp", "JBSWY3DPEHPK3PXP");
        f.digits = Some(0);
        assert!(build(f).unwrap_err().contains("digits"));
        let mut f = fields("totp", "JBSWY3DPEHPK3PXP");
        f.period = Some(0);
        assert!(build(f).unwrap_err().contains("period"));
        let mut f = fields("totp", "JBSWY3DPEHPK3PXP");
        f.algorithm = Some("SHA384");
        assert_eq!(build(f).unwrap_err(), "unsupported algorithm 'SHA384'");
        let e = build(fields("totp", "JBSWY3DP!!")).unwrap_err();
        assert!(e.contains("base32") && !e.contains("JBSW"), "{e}");
        assert!(build(fields("motp", "JBSWY3DPEHPK3PXP"))
            .unwrap_err()
            .contains("motp"));
        let mut f = fields("hotp", "JBSWY3DPEHPK3PXP");
        f.counter = Some(-1);
        assert!(build(f).unwrap_err().contains("negative"));
    }

    #[test]
    fn algorithm_names_of_every_format() {
        for (n, a) in [
            ("SHA1", Algorithm::Sha1),
            ("sha256", Algorithm::Sha256),
            ("SHA-512", Algorithm::Sha512),
            ("HmacSHA1", Algorithm::Sha1),
        ] {
            assert_eq!(algorithm(n), Ok(a), "{n}");
        }
        assert!(algorithm("MD5").is_err());
    }

    #[test]
    fn labels_name_the_entry() {
        assert_eq!(label("GitHub", "alice", 3), "GitHub: alice");
        assert_eq!(label("", "", 3), "entry 3");
        assert_eq!(label("", "bob", 1), "bob");
    }
}
