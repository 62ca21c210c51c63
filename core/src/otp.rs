//! One-time codes: HOTP (RFC 4226), TOTP (RFC 6238) and Steam Guard, as pure functions
//! of a secret and a counter or a unix time. The HMAC is ring's (the same SHA code the rest
//! of the core uses); truncation and formatting are RFC 4226's, checked against the RFC
//! test vectors below.

use crate::error::{Error, Result};
use ring::hmac;
use std::mem::MaybeUninit;
use zeroize::{Zeroize, Zeroizing};

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
/// Largest TOTP period accepted, in seconds.
pub const MAX_PERIOD: u32 = 3600;
/// Steam Guard codes have 5 characters.
pub const STEAM_DIGITS: u8 = 5;

impl Algorithm {
    fn hmac(self) -> hmac::Algorithm {
        match self {
            Algorithm::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            Algorithm::Sha256 => hmac::HMAC_SHA256,
            Algorithm::Sha512 => hmac::HMAC_SHA512,
        }
    }
}

/// RFC 4226 dynamic truncation of an HMAC: a 31-bit value.
fn truncate(tag: &hmac::Tag) -> u32 {
    let mac = tag.as_ref();
    let offset = usize::from(mac.last().copied().unwrap_or(0) & 0x0f);
    mac.get(offset..offset + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]) & 0x7fff_ffff)
        .unwrap_or(0)
}

/// The truncated HMAC(`secret`, `counter`) (the key lives on the stack for this call).
fn truncated(secret: &[u8], algorithm: Algorithm, counter: u64) -> u32 {
    let key = hmac::Key::new(algorithm.hmac(), secret);
    truncate(&hmac::sign(&key, &counter.to_be_bytes()))
}

/// The last `digits` decimal digits of `value`, zero-padded. The 31-bit value is always
/// below 10^10, so 10 digits are the whole value.
fn decimal(value: u32, digits: u8) -> String {
    match 10u32.checked_pow(u32::from(digits)) {
        Some(modulus) => format!("{:0width$}", value % modulus, width = usize::from(digits)),
        None => format!("{value:010}"),
    }
}

/// Steam Guard's alphabet: the value in base 26, least significant character first.
fn steam_chars(mut value: u32) -> String {
    const ALPHABET: &[u8; 26] = b"23456789BCDFGHJKMNPQRTVWXY";
    (0..STEAM_DIGITS)
        .map(|_| {
            let c = ALPHABET[(value % 26) as usize] as char;
            value /= 26;
            c
        })
        .collect()
}

/// HOTP value for `counter` (RFC 4226 dynamic truncation), as a zero-padded string.
pub fn hotp(secret: &[u8], algorithm: Algorithm, digits: u8, counter: u64) -> Result<String> {
    check_digits(digits)?;
    if secret.is_empty() {
        return Err(Error::InvalidEnrollment("secret is empty".into()));
    }
    Ok(decimal(truncated(secret, algorithm, counter), digits))
}

/// TOTP value at `unix_time` for `period`-second steps.
pub fn totp(
    secret: &[u8],
    algorithm: Algorithm,
    digits: u8,
    period: u32,
    unix_time: u64,
) -> Result<String> {
    check_period(period)?;
    hotp(secret, algorithm, digits, unix_time / u64::from(period))
}

/// Steam Guard code at `unix_time` (HMAC-SHA1, 30-second steps, 5 characters).
pub fn steam(secret: &[u8], unix_time: u64) -> Result<String> {
    if secret.is_empty() {
        return Err(Error::InvalidEnrollment("secret is empty".into()));
    }
    Ok(steam_chars(truncated(
        secret,
        Algorithm::Sha1,
        unix_time / 30,
    )))
}

/// ring's HMAC key: the padded secret already hashed into its inner and outer states,
/// which are as good as the secret. ring does not clear it on drop, so this does.
struct HmacKey(MaybeUninit<hmac::Key>);

// Dropping an hmac::Key runs no code (two digest states and a &'static algorithm, no heap),
// so overwriting it is all its drop has to do.
const _: () = assert!(!std::mem::needs_drop::<hmac::Key>());

impl HmacKey {
    fn new(algorithm: Algorithm, secret: &[u8]) -> Self {
        Self(MaybeUninit::new(hmac::Key::new(algorithm.hmac(), secret)))
    }

    fn get(&self) -> &hmac::Key {
        // SAFETY: initialised in `new`; only `drop` clears it, after the last use.
        unsafe { self.0.assume_init_ref() }
    }
}

impl Drop for HmacKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// A prepared code generator for one time-based account: its HMAC key set up once (and
/// zeroized on drop), so a screen of codes costs only one HMAC per code.
pub struct TimeCodeGenerator {
    key: HmacKey,
    kind: AccountKind,
    digits: u8,
    period: u32,
}

impl TimeCodeGenerator {
    /// Prepares a TOTP (any digits) or Steam generator. `secret` is zeroized when this
    /// returns.
    pub fn new(
        kind: AccountKind,
        secret: Zeroizing<Vec<u8>>,
        algorithm: Algorithm,
        digits: u8,
        period: u32,
    ) -> Result<Self> {
        if secret.is_empty() {
            return Err(Error::InvalidEnrollment("secret is empty".into()));
        }
        let (algorithm, digits, period) = match kind {
            AccountKind::Steam => (Algorithm::Sha1, STEAM_DIGITS, 30),
            AccountKind::Totp => {
                check_digits(digits)?;
                check_period(period)?;
                (algorithm, digits, period)
            }
            _ => return Err(Error::Internal("not a time-based account".into())),
        };
        Ok(Self {
            key: HmacKey::new(algorithm, &secret),
            kind,
            digits,
            period,
        })
    }

    /// The code at `unix_time`.
    pub fn at(&self, unix_time: u64) -> String {
        let value = truncate(&hmac::sign(
            self.key.get(),
            &(unix_time / u64::from(self.period)).to_be_bytes(),
        ));
        if self.kind == AccountKind::Steam {
            steam_chars(value)
        } else {
            decimal(value, self.digits)
        }
    }

    /// The period in seconds.
    pub fn period(&self) -> u32 {
        self.period
    }
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

/// Checks a TOTP period is within 1..=MAX_PERIOD seconds.
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
        let secret = || Zeroizing::new(s.to_vec());
        for alg in [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512] {
            for digits in 6..=10u8 {
                for t in [59u64, 1_111_111_109, 2_000_000_000] {
                    let g = TimeCodeGenerator::new(AccountKind::Totp, secret(), alg, digits, 45)
                        .unwrap();
                    assert_eq!(g.at(t), totp(s, alg, digits, 45, t).unwrap());
                    assert_eq!(g.period(), 45);
                }
            }
        }
        // Steam ignores the stored algorithm, digits and period.
        let g =
            TimeCodeGenerator::new(AccountKind::Steam, secret(), Algorithm::Sha512, 8, 60).unwrap();
        assert_eq!(g.at(1_577_836_800), steam(s, 1_577_836_800).unwrap());
        assert_eq!(g.period(), 30);
        assert!(
            TimeCodeGenerator::new(AccountKind::Hotp, secret(), Algorithm::Sha1, 6, 30).is_err()
        );
        assert!(TimeCodeGenerator::new(
            AccountKind::Totp,
            Zeroizing::new(vec![]),
            Algorithm::Sha1,
            6,
            30
        )
        .is_err());
    }

    #[test]
    fn the_prepared_hmac_key_is_cleared_on_drop() {
        let secret = [0xA5u8; 20];
        let mut key = std::mem::ManuallyDrop::new(HmacKey::new(Algorithm::Sha1, &secret));
        let expected = hmac::sign(&hmac::Key::new(Algorithm::Sha1.hmac(), &secret), b"x");
        assert_eq!(hmac::sign(key.get(), b"x").as_ref(), expected.as_ref());
        // SAFETY: dropped once; afterwards only its (now all written) bytes are read.
        let bytes = unsafe {
            std::ptr::drop_in_place::<HmacKey>(&mut *key);
            std::slice::from_raw_parts(
                key.0.as_ptr().cast::<u8>(),
                std::mem::size_of::<hmac::Key>(),
            )
        };
        assert!(bytes.iter().all(|&b| b == 0));
    }

    #[test]
    fn steam_vectors() {
        // Computed with totp-rs 6 (Algorithm::Steam), which the core used before.
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
    fn agrees_with_totp_rs() {
        // Pseudo-random secrets (10 to 64 bytes), times, digits and algorithms.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..300 {
            let len = 10 + (next() % 55) as usize;
            let secret: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let t = next() % 20_000_000_000;
            let digits = 6 + (next() % 4) as u8;
            let period = 1 + (next() % 120) as u32;
            for (alg, theirs) in [
                (Algorithm::Sha1, totp_rs::Algorithm::SHA1),
                (Algorithm::Sha256, totp_rs::Algorithm::SHA256),
                (Algorithm::Sha512, totp_rs::Algorithm::SHA512),
            ] {
                let reference = totp_rs::Builder::new()
                    .with_algorithm(theirs)
                    .with_digits(digits)
                    .with_step_duration(u64::from(period))
                    .with_skew(0)
                    .with_secret(secret.clone())
                    .build_noncompliant();
                assert_eq!(
                    totp(&secret, alg, digits, period, t).unwrap(),
                    reference.generate(t).to_string()
                );
            }
            let steam_ref = totp_rs::Builder::new()
                .with_algorithm(totp_rs::Algorithm::Steam)
                .with_digits(5)
                .with_step_duration(30)
                .with_skew(0)
                .with_secret(secret.clone())
                .build_noncompliant();
            assert_eq!(
                steam(&secret, t).unwrap(),
                steam_ref.generate(t).to_string()
            );
        }
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
