//! One-time codes: HOTP (RFC 4226), TOTP (RFC 6238) and Steam Guard, as pure functions
//! of a secret and a counter or a unix time, computed with `totp-rs`.

use crate::error::{Error, Result};
use totp_rs::{Algorithm as TotpAlgorithm, Builder};

/// HMAC algorithm of an OTP account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum Algorithm {
    /// HMAC-SHA1 (the default almost everywhere).
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

impl Algorithm {
    /// The name used in otpauth links and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }

    /// Parses a stored or link name, case-insensitively, with or without dashes (no
    /// allocation: it runs for every account row read).
    pub fn parse(s: &str) -> Option<Self> {
        let mut name = [0u8; 6];
        let mut n = 0;
        for b in s.bytes().filter(|&b| b != b'-') {
            *name.get_mut(n)? = b.to_ascii_uppercase();
            n += 1;
        }
        match &name[..n] {
            b"SHA1" => Some(Algorithm::Sha1),
            b"SHA256" => Some(Algorithm::Sha256),
            b"SHA512" => Some(Algorithm::Sha512),
            _ => None,
        }
    }
}

/// What kind of account a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum AccountKind {
    /// Time-based code (RFC 6238).
    Totp,
    /// Counter-based code (RFC 4226).
    Hotp,
    /// Steam Guard: TOTP, 30 s, 5 characters from Steam's alphabet.
    Steam,
    /// privacyIDEA push token (approve/decline).
    Push,
}

impl AccountKind {
    /// Database name.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Totp => "totp",
            AccountKind::Hotp => "hotp",
            AccountKind::Steam => "steam",
            AccountKind::Push => "push",
        }
    }

    /// Parses a database name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "totp" => Some(AccountKind::Totp),
            "hotp" => Some(AccountKind::Hotp),
            "steam" => Some(AccountKind::Steam),
            "push" => Some(AccountKind::Push),
            _ => None,
        }
    }
}

/// Smallest and largest number of digits accepted for HOTP/TOTP.
pub const MIN_DIGITS: u8 = 6;
/// See [`MIN_DIGITS`].
pub const MAX_DIGITS: u8 = 10;
/// Largest period of an `otpauth://totp` link, in seconds.
pub const MAX_PERIOD: u32 = 3600;
/// Largest period of a privacyIDEA day password (`otpauth://daypassword`, typically
/// 86,400 s) and of any stored or imported time-based account: 31 days.
pub const MAX_LONG_PERIOD: u32 = 31 * 86_400;
/// Steam Guard codes have 5 characters.
pub const STEAM_DIGITS: u8 = 5;

fn totp_alg(a: Algorithm) -> TotpAlgorithm {
    match a {
        Algorithm::Sha1 => TotpAlgorithm::SHA1,
        Algorithm::Sha256 => TotpAlgorithm::SHA256,
        Algorithm::Sha512 => TotpAlgorithm::SHA512,
    }
}

/// HOTP value for `counter` (RFC 4226 dynamic truncation), as a zero-padded string.
///
/// HOTP is TOTP with a step of one second evaluated at "time" = counter, which is how it is
/// computed through `totp-rs`. `totp-rs` panics for 10 digits (10^10 does not fit its u32
/// modulus), so 10-digit codes take its HMAC and truncate here: the 31-bit truncated
/// value is always below 10^10, so the code is that value zero-padded.
pub fn hotp(secret: &[u8], algorithm: Algorithm, digits: u8, counter: u64) -> Result<String> {
    check_digits(digits)?;
    if secret.is_empty() {
        return Err(Error::InvalidEnrollment("secret is empty".into()));
    }
    let totp = Builder::new()
        .with_algorithm(totp_alg(algorithm))
        .with_digits(digits.min(9))
        .with_step_duration(1)
        .with_skew(0)
        .with_secret(secret.to_vec())
        .build_noncompliant();
    if digits <= 9 {
        return Ok(totp.generate(counter).to_string());
    }
    let mac = totp.sign(counter);
    Ok(ten_digits(mac.as_ref()))
}

/// TOTP value at `unix_time` for `period`-second steps.
pub fn totp(
    secret: &[u8],
    algorithm: Algorithm,
    digits: u8,
    period: u32,
    unix_time: u64,
) -> Result<String> {
    check_long_period(period)?;
    hotp(secret, algorithm, digits, unix_time / u64::from(period))
}

/// Steam Guard code at `unix_time`.
pub fn steam(secret: &[u8], unix_time: u64) -> Result<String> {
    if secret.is_empty() {
        return Err(Error::InvalidEnrollment("secret is empty".into()));
    }
    let t = Builder::new()
        .with_algorithm(TotpAlgorithm::Steam)
        .with_digits(STEAM_DIGITS)
        .with_step_duration(30)
        .with_skew(0)
        .with_secret(secret.to_vec())
        .build_noncompliant();
    Ok(t.generate(unix_time).to_string())
}

/// A prepared code generator for one time-based account: the `totp-rs` object is built
/// once (it owns a zeroizing copy of the secret), so a screen of codes costs only the
/// HMACs and the formatting. (totp-rs's SHA-1 uses the CPU's SHA instructions where there
/// are some; ring's SHA-1 is portable code: with them, totp-rs's four SHA-1 blocks per
/// code beat the two of a prepared ring HMAC key.)
pub struct TimeCodeGenerator {
    totp: totp_rs::Totp,
    kind: AccountKind,
    digits: u8,
    period: u32,
}

impl TimeCodeGenerator {
    /// Prepares a TOTP (any digits) or Steam generator.
    pub fn new(
        kind: AccountKind,
        secret: &[u8],
        algorithm: Algorithm,
        digits: u8,
        period: u32,
    ) -> Result<Self> {
        if secret.is_empty() {
            return Err(Error::InvalidEnrollment("secret is empty".into()));
        }
        let (alg, d, step) = match kind {
            AccountKind::Steam => (TotpAlgorithm::Steam, STEAM_DIGITS, 30),
            AccountKind::Totp => {
                check_digits(digits)?;
                check_long_period(period)?;
                (totp_alg(algorithm), digits.min(9), u64::from(period))
            }
            _ => return Err(Error::Internal("not a time-based account".into())),
        };
        let totp = Builder::new()
            .with_algorithm(alg)
            .with_digits(d)
            .with_step_duration(step)
            .with_skew(0)
            .with_secret(secret.to_vec())
            .build_noncompliant();
        Ok(Self {
            totp,
            kind,
            digits,
            period: if kind == AccountKind::Steam {
                30
            } else {
                period
            },
        })
    }

    /// The code at `unix_time`.
    pub fn at(&self, unix_time: u64) -> String {
        if self.kind == AccountKind::Totp && self.digits == 10 {
            let mac = self.totp.sign(unix_time);
            return ten_digits(mac.as_ref());
        }
        self.totp.generate(unix_time).to_string()
    }

    /// The period in seconds.
    pub fn period(&self) -> u32 {
        self.period
    }
}

fn ten_digits(mac: &[u8]) -> String {
    let offset = usize::from(mac.last().copied().unwrap_or(0) & 0x0f);
    let value = mac
        .get(offset..offset + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]) & 0x7fff_ffff)
        .unwrap_or(0);
    format!("{value:010}")
}

/// Checks a digit count is within 6..=10.
pub fn check_digits(digits: u8) -> Result<()> {
    if (MIN_DIGITS..=MAX_DIGITS).contains(&digits) {
        Ok(())
    } else {
        Err(Error::InvalidEnrollment(format!(
            "digits must be between {MIN_DIGITS} and {MAX_DIGITS}, got {digits}"
        )))
    }
}

/// Checks a stored, imported or day-password period is within 1..=MAX_LONG_PERIOD seconds.
pub fn check_long_period(period: u32) -> Result<()> {
    if (1..=MAX_LONG_PERIOD).contains(&period) {
        Ok(())
    } else {
        Err(Error::InvalidEnrollment(format!(
            "period must be between 1 and {MAX_LONG_PERIOD} seconds, got {period}"
        )))
    }
}

/// Checks a TOTP link's period is within 1..=MAX_PERIOD seconds.
pub fn check_period(period: u32) -> Result<()> {
    if (1..=MAX_PERIOD).contains(&period) {
        Ok(())
    } else {
        Err(Error::InvalidEnrollment(format!(
            "period must be between 1 and {MAX_PERIOD} seconds, got {period}"
        )))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const RFC4226_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc4226_vectors() {
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (c, e) in expected.iter().enumerate() {
            assert_eq!(
                hotp(RFC4226_SECRET, Algorithm::Sha1, 6, c as u64).unwrap(),
                *e
            );
        }
    }

    #[test]
    fn rfc6238_vectors_all_algorithms() {
        let s1 = b"12345678901234567890".to_vec();
        let s256 = b"12345678901234567890123456789012".to_vec();
        let s512 = b"1234567890123456789012345678901234567890123456789012345678901234".to_vec();
        let table: [(u64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ];
        for (t, e1, e256, e512) in table {
            assert_eq!(
                totp(&s1, Algorithm::Sha1, 8, 30, t).unwrap(),
                e1,
                "sha1 {t}"
            );
            assert_eq!(
                totp(&s256, Algorithm::Sha256, 8, 30, t).unwrap(),
                e256,
                "sha256 {t}"
            );
            assert_eq!(
                totp(&s512, Algorithm::Sha512, 8, 30, t).unwrap(),
                e512,
                "sha512 {t}"
            );
        }
    }

    #[test]
    fn ten_digit_codes_are_the_padded_truncated_value() {
        // 9 digits is value mod 10^9; 10 digits is the whole 31-bit value.
        let c10 = hotp(RFC4226_SECRET, Algorithm::Sha1, 10, 0).unwrap();
        let c9 = hotp(RFC4226_SECRET, Algorithm::Sha1, 9, 0).unwrap();
        assert_eq!(c10.len(), 10);
        assert!(c10.ends_with(&c9));
        // RFC 4226 appendix D: truncated value for counter 0 is 1284755224.
        assert_eq!(c10, "1284755224");
    }

    #[test]
    fn known_totp_sample() {
        let secret = data_encoding::BASE32_NOPAD
            .decode(b"JBSWY3DPEHPK3PXP")
            .unwrap();
        assert_eq!(
            totp(&secret, Algorithm::Sha1, 6, 30, 1577836800).unwrap(),
            "646738"
        );
    }

    #[test]
    fn steam_code_is_five_steam_characters() {
        let c = steam(b"12345678901234567890", 1577836800).unwrap();
        assert_eq!(c.len(), 5);
        assert!(c
            .chars()
            .all(|ch| "23456789BCDFGHJKMNPQRTVWXY".contains(ch)));
    }

    #[test]
    fn prepared_generator_matches_the_plain_functions() {
        let s = b"12345678901234567890";
        for digits in 6..=10u8 {
            for t in [59u64, 1_111_111_109, 2_000_000_000] {
                let g = TimeCodeGenerator::new(AccountKind::Totp, s, Algorithm::Sha1, digits, 30)
                    .unwrap();
                assert_eq!(g.at(t), totp(s, Algorithm::Sha1, digits, 30, t).unwrap());
            }
        }
        let g = TimeCodeGenerator::new(AccountKind::Steam, s, Algorithm::Sha1, 5, 30).unwrap();
        assert_eq!(g.at(1_577_836_800), steam(s, 1_577_836_800).unwrap());
    }

    #[test]
    fn steam_vectors() {
        let s = b"12345678901234567890";
        for (t, code) in [
            (0, "GG5F5"),
            (59, "PV9M4"),
            (1_577_836_800, "JKM4C"),
            (1_700_000_000, "R87JJ"),
            (2_000_000_000, "9N776"),
        ] {
            assert_eq!(steam(s, t).unwrap(), code, "{t}");
        }
        let s = data_encoding::BASE32_NOPAD
            .decode(b"JBSWY3DPEHPK3PXP")
            .unwrap();
        assert_eq!(steam(&s, 1_577_836_800).unwrap(), "JPD9Q");
    }

    #[test]
    fn algorithm_names() {
        for (name, alg) in [
            ("SHA1", Algorithm::Sha1),
            ("sha-256", Algorithm::Sha256),
            ("Sha512", Algorithm::Sha512),
            ("S-H-A-1", Algorithm::Sha1),
        ] {
            assert_eq!(Algorithm::parse(name), Some(alg), "{name}");
            assert_eq!(Algorithm::parse(alg.as_str()), Some(alg));
        }
        for bad in ["", "SHA", "SHA3", "SHA1024", "SHA5120", "MD5", "SHA1 "] {
            assert_eq!(Algorithm::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn rejects_bad_digits_and_period() {
        assert!(hotp(RFC4226_SECRET, Algorithm::Sha1, 5, 0).is_err());
        assert!(hotp(RFC4226_SECRET, Algorithm::Sha1, 11, 0).is_err());
        assert!(totp(RFC4226_SECRET, Algorithm::Sha1, 6, 0, 0).is_err());
    }
}
