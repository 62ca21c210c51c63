//! Parsers for enrollment links: `otpauth://totp|hotp|steam` (Key URI format),
//! `otpauth-migration://offline` (Google Authenticator export) and
//! `otpauth://pipush` / `pia://pipush` (privacyIDEA push, protocol v1).
//!
//! Lenient where real issuers are sloppy (base32 case, spaces, dashes, padding; `+` and
//! percent-encoded labels; `issuer:account` with or without a space; unknown parameters),
//! strict where it matters (secret, type, algorithm, digits, period, counter, version).

use crate::error::{Error, Result};
use crate::otp::{self, AccountKind, Algorithm};
use percent_encoding::percent_decode_str;
use zeroize::Zeroizing;

/// Secrets shorter than this many bits are accepted but flagged as weak (RFC 4226 asks
/// for 128; many real issuers use 80).
pub const WEAK_SECRET_BITS: usize = 128;

/// Lock requirements an enrolling server attached to an account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountLockPolicy {
    /// The app must have a PIN.
    pub require_pin: bool,
    /// Wipe after this many consecutive wrong PINs.
    pub wipe_after: Option<u32>,
    /// Ask the PIN again after this many idle seconds.
    pub idle_seconds: Option<u64>,
    /// Minimum PIN length.
    pub min_pin_length: Option<u8>,
    /// Longest the vault may stay unlocked while the app is in the background.
    pub background_seconds: Option<u64>,
}

/// One OTP account parsed from a link or a migration payload entry.
pub struct OtpEntry {
    /// TOTP, HOTP or Steam.
    pub kind: AccountKind,
    /// Issuer shown to the user (may be empty).
    pub issuer: String,
    /// Account name (without the issuer prefix).
    pub name: String,
    /// The raw shared secret.
    pub secret: Zeroizing<Vec<u8>>,
    /// HMAC algorithm.
    pub algorithm: Algorithm,
    /// Code length.
    pub digits: u8,
    /// TOTP step in seconds (30 for HOTP, unused).
    pub period: u32,
    /// HOTP counter to use for the next code.
    pub counter: u64,
    /// Lock requirements from the link.
    pub policy: AccountLockPolicy,
    /// privacyIDEA (or other) token serial, if the link had one.
    pub serial: Option<String>,
}

impl std::fmt::Debug for OtpEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtpEntry")
            .field("kind", &self.kind)
            .field("issuer", &self.issuer)
            .field("name", &self.name)
            .field("secret", &"<redacted>")
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits)
            .field("period", &self.period)
            .field("counter", &self.counter)
            .finish()
    }
}

impl OtpEntry {
    /// True when the secret is shorter than [`WEAK_SECRET_BITS`].
    pub fn weak_secret(&self) -> bool {
        self.secret.len() * 8 < WEAK_SECRET_BITS
    }
}

/// A privacyIDEA push enrollment link (step 1).
pub struct PushEnrollment {
    /// Display issuer.
    pub issuer: String,
    /// Token label.
    pub name: String,
    /// Registration / answer / poll URL.
    pub url: String,
    /// Minutes the phone has to finish step 2.
    pub ttl_minutes: u64,
    /// Single-use enrollment credential.
    pub enrollment_credential: Zeroizing<String>,
    /// Token serial.
    pub serial: String,
    /// Whether TLS must be verified for `url`.
    pub sslverify: bool,
    /// No push service: the phone must poll.
    pub poll_only: bool,
    /// Lock requirements (`pin=True`, `app_force_unlock`, `lock_*`).
    pub policy: AccountLockPolicy,
}

impl std::fmt::Debug for PushEnrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushEnrollment")
            .field("issuer", &self.issuer)
            .field("name", &self.name)
            .field("url", &self.url)
            .field("serial", &self.serial)
            .field("sslverify", &self.sslverify)
            .field("poll_only", &self.poll_only)
            .field("enrollment_credential", &"<redacted>")
            .finish()
    }
}

/// Position of a migration QR code in a multi-code export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batch {
    /// 0-based index of this QR code.
    pub index: u32,
    /// Number of QR codes in the export.
    pub size: u32,
    /// Id shared by the codes of one export.
    pub id: i32,
}

/// What a link contains.
#[derive(Debug)]
pub enum ParsedLink {
    /// One or more OTP accounts (several for a migration payload).
    Otp {
        /// The accounts.
        entries: Vec<OtpEntry>,
        /// Migration batch position, if any.
        batch: Option<Batch>,
        /// Things the user should know (issuer mismatch, weak secret, ...).
        warnings: Vec<String>,
    },
    /// A push token enrollment.
    Push {
        /// The enrollment.
        enrollment: PushEnrollment,
        /// Warnings.
        warnings: Vec<String>,
    },
    /// A privacyIDEA smartphone container registration (or transfer) link.
    Container {
        /// The link.
        link: crate::container::protocol::ContainerLink,
        /// Warnings (TLS not verified).
        warnings: Vec<String>,
    },
}

fn bad(reason: impl Into<String>) -> Error {
    Error::InvalidEnrollment(reason.into())
}

/// Parses any supported enrollment link (a scanned QR text or a pasted link).
pub fn parse_link(input: &str) -> Result<ParsedLink> {
    let link = input.trim();
    if link.is_empty() {
        return Err(bad("the link is empty"));
    }
    let (scheme, rest) = link
        .split_once("://")
        .ok_or_else(|| bad("not a link: expected otpauth://, otpauth-migration:// or pia://"))?;
    match scheme.to_ascii_lowercase().as_str() {
        "pia"
            if rest
                .get(..10)
                .is_some_and(|h| h.eq_ignore_ascii_case("container/")) =>
        {
            let link = crate::container::protocol::parse_container_link(link)?;
            let warnings = link.warnings.clone();
            Ok(ParsedLink::Container { link, warnings })
        }
        "otpauth" | "pia" => parse_otpauth(rest, scheme.eq_ignore_ascii_case("pia")),
        // eduMFA (a privacyIDEA fork) enrolls its push tokens with
        // `edumfa-push://<anything>/<label>?...`: the same v1 protocol and parameters as
        // `otpauth://pipush`.
        "edumfa-push" => parse_edumfa_push(rest),
        "otpauth-migration" => parse_migration(rest),
        other => Err(bad(format!("unsupported link scheme '{other}'"))),
    }
}

/// Splits `type/label?query` into its three parts.
fn split_otpauth(rest: &str) -> (&str, &str, &str) {
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    // A fragment is never part of a Key URI; drop it.
    let query = query.split('#').next().unwrap_or("");
    let (kind, label) = before_query.split_once('/').unwrap_or((before_query, ""));
    (kind, label, query)
}

/// Percent-decodes a component; `plus_is_space` also turns `+` into a space (labels and
/// form-encoded values), never for base64 payloads.
fn decode_component(s: &str, plus_is_space: bool) -> Result<String> {
    let s = if plus_is_space {
        s.replace('+', " ")
    } else {
        s.to_string()
    };
    percent_decode_str(&s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| bad("the link is not valid UTF-8 after percent-decoding"))
}

/// Query parameters in order, names lower-cased. Values are percent-decoded with `+` as
/// space except for the names in `raw_plus`.
fn query_params(query: &str, raw_plus: &[&str]) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode_component(k, true)?.trim().to_ascii_lowercase();
        let value = decode_component(v, !raw_plus.contains(&key.as_str()))?;
        out.push((key, value));
    }
    Ok(out)
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Decodes a base32 secret leniently: case, spaces, dashes and `=` padding are ignored,
/// and non-zero trailing bits are tolerated.
pub fn decode_base32_secret(s: &str) -> Result<Zeroizing<Vec<u8>>> {
    let cleaned: Zeroizing<String> = Zeroizing::new(
        s.chars()
            .filter(|c| !c.is_whitespace() && *c != '-' && *c != '=')
            .map(|c| c.to_ascii_uppercase())
            .collect(),
    );
    if cleaned.is_empty() {
        return Err(bad("the secret is missing or empty"));
    }
    let mut spec = data_encoding::Specification::new();
    spec.symbols.push_str("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
    spec.check_trailing_bits = false;
    let encoding = spec
        .encoding()
        .map_err(|_| Error::Internal("base32 specification".into()))?;
    encoding
        .decode(cleaned.as_bytes())
        .map(Zeroizing::new)
        .map_err(|_| bad("the secret is not valid base32"))
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" | "" => Some(false),
        _ => None,
    }
}

/// Reads the lock-policy extension parameters shared by every link type:
/// `lock_pin=1`, `lock_wipe_after=N`, `lock_idle=SECONDS`, `lock_pin_length=N`,
/// `lock_background=SECONDS`, and privacyIDEA's `pin=True` / `app_force_unlock=pin|biometric|any`.
fn lock_policy(params: &[(String, String)]) -> Result<AccountLockPolicy> {
    let mut p = AccountLockPolicy::default();
    if let Some(v) = param(params, "lock_pin") {
        p.require_pin = parse_bool(v).ok_or_else(|| bad("lock_pin must be 0 or 1"))?;
    }
    if let Some(v) = param(params, "pin") {
        // privacyIDEA: pin=True when the server requires an app PIN for the token.
        if parse_bool(v) == Some(true) {
            p.require_pin = true;
        }
    }
    if let Some(v) = param(params, "app_force_unlock") {
        match v.trim().to_ascii_lowercase().as_str() {
            // Biometric unlock always sits on top of a PIN in this core, so every
            // forced unlock mode means: a PIN must exist and the vault must be unlocked.
            "pin" | "biometric" | "any" => p.require_pin = true,
            "" | "none" | "false" => {}
            other => return Err(bad(format!("unknown app_force_unlock value '{other}'"))),
        }
    }
    if let Some(v) = param(params, "lock_wipe_after") {
        let n: u32 = v
            .trim()
            .parse()
            .map_err(|_| bad("lock_wipe_after must be a number of attempts"))?;
        if !(1..=crate::lock::MAX_WIPE_AFTER).contains(&n) {
            return Err(bad(format!(
                "lock_wipe_after must be between 1 and {}",
                crate::lock::MAX_WIPE_AFTER
            )));
        }
        p.wipe_after = Some(n);
        p.require_pin = true;
    }
    if let Some(v) = param(params, "lock_idle") {
        let n: u64 = v
            .trim()
            .parse()
            .map_err(|_| bad("lock_idle must be a number of seconds"))?;
        if n == 0 {
            return Err(bad("lock_idle must be at least 1 second"));
        }
        // The vault stores it as a signed SQLite integer and takes the smallest of all
        // accounts: a value past i64::MAX would wrap negative and switch off the idle
        // lock that other accounts require.
        if i64::try_from(n).is_err() {
            return Err(bad(format!(
                "lock_idle must be at most {} seconds",
                i64::MAX
            )));
        }
        p.idle_seconds = Some(n);
        p.require_pin = true;
    }
    if let Some(v) = param(params, "lock_background") {
        let n: u64 = v
            .trim()
            .parse()
            .map_err(|_| bad("lock_background must be a number of seconds"))?;
        if n > crate::lock::MAX_BACKGROUND_GRACE {
            return Err(bad(format!(
                "lock_background must be at most {} seconds",
                crate::lock::MAX_BACKGROUND_GRACE
            )));
        }
        p.background_seconds = Some(n);
        p.require_pin = true;
    }
    if let Some(v) = param(params, "lock_pin_length") {
        let n: u8 = v
            .trim()
            .parse()
            .map_err(|_| bad("lock_pin_length must be a number"))?;
        if !(crate::lock::MIN_PIN_LENGTH..=crate::lock::MAX_PIN_LENGTH).contains(&n) {
            return Err(bad(format!(
                "lock_pin_length must be between {} and {}",
                crate::lock::MIN_PIN_LENGTH,
                crate::lock::MAX_PIN_LENGTH
            )));
        }
        p.min_pin_length = Some(n);
        p.require_pin = true;
    }
    Ok(p)
}

/// Splits a decoded label into (issuer prefix, account name). `Issuer:account`,
/// `Issuer: account` and `Issuer%3Aaccount` all work; only the first colon splits.
fn split_label(label: &str) -> (Option<String>, String) {
    match label.split_once(':') {
        Some((prefix, account)) if !prefix.trim().is_empty() => {
            (Some(prefix.trim().to_string()), account.trim().to_string())
        }
        Some((_, account)) => (None, account.trim().to_string()),
        None => (None, label.trim().to_string()),
    }
}

/// The documented rule for issuers: the `issuer=` parameter wins (the Key URI format
/// calls it the authoritative value); a label prefix that disagrees with it is kept out
/// of the account name and reported as a warning. A label prefix alone is the issuer.
fn resolve_issuer(
    prefix: Option<String>,
    issuer_param: Option<&str>,
    warnings: &mut Vec<String>,
) -> String {
    let param = issuer_param.map(str::trim).filter(|s| !s.is_empty());
    match (prefix, param) {
        (Some(pre), Some(p)) => {
            if !pre.eq_ignore_ascii_case(p) {
                warnings.push(format!(
                    "the label's issuer prefix '{pre}' differs from issuer '{p}'; using '{p}'"
                ));
            }
            p.to_string()
        }
        (Some(pre), None) => pre,
        (None, Some(p)) => p.to_string(),
        (None, None) => String::new(),
    }
}

fn parse_edumfa_push(rest: &str) -> Result<ParsedLink> {
    let (_host, label_raw, query) = split_otpauth(rest);
    let label = decode_component(label_raw, true)?;
    let params = query_params(query, &[])?;
    let policy = lock_policy(&params)?;
    parse_push(&label, &params, policy, Vec::new())
}

fn parse_otpauth(rest: &str, pia_scheme: bool) -> Result<ParsedLink> {
    let (kind_raw, label_raw, query) = split_otpauth(rest);
    let kind_lc = kind_raw.to_ascii_lowercase();
    let label = decode_component(label_raw, true)?;
    let params = query_params(query, &[])?;
    let mut warnings = Vec::new();
    let policy = lock_policy(&params)?;
    if kind_lc == "pipush" {
        return parse_push(&label, &params, policy, warnings);
    }
    if pia_scheme {
        return Err(bad(
            "pia:// links are only used for push tokens (pia://pipush/...)",
        ));
    }
    // privacyIDEA's day password: a TOTP whose period runs up to days
    // (`otpauth://daypassword/DYPW...?period=86400`), 24 h when the link has none.
    let day_password = kind_lc == "daypassword";
    let kind = match kind_lc.as_str() {
        "totp" | "daypassword" => AccountKind::Totp,
        "hotp" => AccountKind::Hotp,
        "steam" => AccountKind::Steam,
        "" => return Err(bad("the link has no type (expected totp or hotp)")),
        other => {
            return Err(bad(format!(
                "unknown token type '{other}' (expected totp, hotp, steam, daypassword or pipush)"
            )))
        }
    };
    let secret_raw = param(&params, "secret").ok_or_else(|| bad("the secret is missing"))?;
    let secret = decode_base32_secret(secret_raw)?;
    let (prefix, name) = split_label(&label);
    let issuer = resolve_issuer(prefix, param(&params, "issuer"), &mut warnings);
    // Steam: Aegis/andOTP write `otpauth://totp/...?issuer=Steam&encoder=steam` or
    // `otpauth://steam/...`.
    let is_steam = kind == AccountKind::Steam
        || param(&params, "encoder").is_some_and(|e| e.eq_ignore_ascii_case("steam"));
    let algorithm = match param(&params, "algorithm") {
        None => Algorithm::Sha1,
        Some(a) if a.trim().is_empty() => Algorithm::Sha1,
        Some(a) => Algorithm::parse(a.trim())
            .ok_or_else(|| bad(format!("unsupported algorithm '{}'", a.trim())))?,
    };
    let digits = if is_steam {
        otp::STEAM_DIGITS
    } else {
        match param(&params, "digits") {
            None => 6,
            Some(d) => {
                let n: i64 = d
                    .trim()
                    .parse()
                    .map_err(|_| bad(format!("digits must be a number, got '{}'", d.trim())))?;
                let n = u8::try_from(n).map_err(|_| {
                    bad(format!(
                        "digits must be between {} and {}, got {n}",
                        otp::MIN_DIGITS,
                        otp::MAX_DIGITS
                    ))
                })?;
                otp::check_digits(n)?;
                n
            }
        }
    };
    let period = match param(&params, "period") {
        None if day_password => 86_400,
        None => 30,
        Some(p) => {
            let n: i64 = p
                .trim()
                .parse()
                .map_err(|_| bad(format!("period must be a number, got '{}'", p.trim())))?;
            if n <= 0 {
                return Err(bad(format!("period must be positive, got {n}")));
            }
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            if day_password {
                otp::check_long_period(n)?;
            } else {
                otp::check_period(n)?;
            }
            n
        }
    };
    let counter = match (kind, param(&params, "counter")) {
        (AccountKind::Hotp, None) => {
            warnings.push("the HOTP link has no counter; starting at 0".into());
            0
        }
        (AccountKind::Hotp, Some(c)) => c.trim().parse::<u64>().map_err(|_| {
            bad("counter must be a whole number between 0 and 18446744073709551615")
        })?,
        _ => 0,
    };
    let entry = OtpEntry {
        kind: if is_steam { AccountKind::Steam } else { kind },
        issuer,
        name,
        secret,
        algorithm: if is_steam { Algorithm::Sha1 } else { algorithm },
        digits,
        period: if is_steam { 30 } else { period },
        counter,
        policy,
        serial: param(&params, "serial").map(|s| s.trim().to_string()),
    };
    if entry.weak_secret() {
        warnings.push(format!(
            "the secret is only {} bits (less than {WEAK_SECRET_BITS}); it is accepted but weak",
            entry.secret.len() * 8
        ));
    }
    Ok(ParsedLink::Otp {
        entries: vec![entry],
        batch: None,
        warnings,
    })
}

fn parse_push(
    label: &str,
    params: &[(String, String)],
    policy: AccountLockPolicy,
    mut warnings: Vec<String>,
) -> Result<ParsedLink> {
    let required = |name: &str| -> Result<String> {
        param(params, name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| bad(format!("the push link has no '{name}'")))
    };
    let version = required("v")?;
    if version != "1" {
        return Err(Error::NotSupported(format!(
            "push protocol version {version} (only version 1 is supported)"
        )));
    }
    let url = required("url")?;
    let plain_http_loopback = check_push_url(&url)?;
    let ttl_raw = required("ttl")?;
    let ttl_minutes: u64 = ttl_raw
        .parse()
        .map_err(|_| bad("the push link's ttl must be a number of minutes"))?;
    if ttl_minutes == 0 {
        return Err(bad("the push link's ttl is 0: it has already expired"));
    }
    let serial = required("serial")?;
    let credential = Zeroizing::new(required("enrollment_credential")?);
    let mut sslverify = match param(params, "sslverify") {
        None => true,
        Some(v) => parse_bool(v).ok_or_else(|| bad("sslverify must be 0 or 1"))?,
    };
    if plain_http_loopback {
        // A local test server: nothing is encrypted, so it is flagged exactly like
        // sslverify=0.
        sslverify = false;
    }
    if !sslverify {
        warnings.push(
            "the server asked not to verify TLS certificates for this token; anyone on the network path can impersonate it".into(),
        );
    }
    let poll_only = match param(params, "poll_only") {
        None => false,
        Some(v) => parse_bool(v).ok_or_else(|| bad("poll_only must be True or False"))?,
    };
    let (prefix, name) = split_label(label);
    let issuer = resolve_issuer(prefix, param(params, "issuer"), &mut warnings);
    Ok(ParsedLink::Push {
        enrollment: PushEnrollment {
            issuer,
            name,
            url,
            ttl_minutes,
            enrollment_credential: credential,
            serial,
            sslverify,
            poll_only,
            policy,
        },
        warnings,
    })
}

/// Checks a push server URL: `https://`, or plain `http://` only to a loopback host
/// (127.0.0.0/8, ::1, localhost), which local test servers use. Returns whether it is
/// such a plain-http loopback URL. Plain http anywhere else is refused: a network
/// attacker at enrollment could swap both keys and own the token.
pub(crate) fn check_push_url(raw: &str) -> Result<bool> {
    check_server_url(raw, "push link")
}

/// The rule of [`check_push_url`] for any server URL a link carries; `link` names the
/// link in the error texts ("push link", "container link").
pub(crate) fn check_server_url(raw: &str, link: &str) -> Result<bool> {
    let parsed =
        url::Url::parse(raw).map_err(|_| bad(format!("the {link}'s url is not a valid URL")))?;
    match parsed.scheme() {
        "https" => {
            if parsed.host().is_none() {
                return Err(bad(format!("the {link}'s url has no host")));
            }
            Ok(false)
        }
        "http" => {
            let loopback = match parsed.host() {
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            };
            if loopback {
                Ok(true)
            } else {
                Err(bad(format!(
                    "the {link}'s url is plain http://: refused, since anyone on the network path could swap the keys at enrollment and own the token; the server must use https:// (plain http is allowed only to 127.0.0.1, ::1 or localhost)"
                )))
            }
        }
        _ => Err(bad(format!("the {link}'s url must be http(s)"))),
    }
}

/// Google Authenticator's export payload (`otpauth-migration://offline?data=`), as
/// protobuf messages declared with prost's derive (no build script).
mod migration_proto {
    #![allow(missing_docs)]
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct MigrationPayload {
        #[prost(message, repeated, tag = "1")]
        pub otp_parameters: Vec<OtpParameters>,
        #[prost(int32, tag = "2")]
        pub version: i32,
        #[prost(int32, tag = "3")]
        pub batch_size: i32,
        #[prost(int32, tag = "4")]
        pub batch_index: i32,
        #[prost(int32, tag = "5")]
        pub batch_id: i32,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct OtpParameters {
        #[prost(bytes = "vec", tag = "1")]
        pub secret: Vec<u8>,
        #[prost(string, tag = "2")]
        pub name: String,
        #[prost(string, tag = "3")]
        pub issuer: String,
        #[prost(int32, tag = "4")]
        pub algorithm: i32,
        #[prost(int32, tag = "5")]
        pub digits: i32,
        #[prost(int32, tag = "6")]
        pub r#type: i32,
        #[prost(int64, tag = "7")]
        pub counter: i64,
    }

    impl Drop for OtpParameters {
        fn drop(&mut self) {
            zeroize::Zeroize::zeroize(&mut self.secret);
        }
    }
}

#[cfg_attr(not(test), allow(unused_imports))]
pub use migration_proto::{MigrationPayload, OtpParameters};

fn parse_migration(rest: &str) -> Result<ParsedLink> {
    let (host, _label, query) = split_otpauth(rest);
    if !host.eq_ignore_ascii_case("offline") {
        return Err(bad(format!(
            "unknown migration link host '{host}' (expected offline)"
        )));
    }
    let params = query_params(query, &["data"])?;
    let data = param(&params, "data").ok_or_else(|| bad("the migration link has no data"))?;
    // Unescaped `+` survives as `+`; a `+` that some tool already turned into a space
    // is turned back. Base64url is accepted too.
    let cleaned: String = data
        .trim()
        .chars()
        .filter(|c| *c != '=' && *c != '\n' && *c != '\r')
        .map(|c| match c {
            ' ' => '+',
            '-' => '+',
            '_' => '/',
            other => other,
        })
        .collect();
    let mut spec = data_encoding::Specification::new();
    spec.symbols
        .push_str("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
    spec.check_trailing_bits = false;
    let encoding = spec
        .encoding()
        .map_err(|_| Error::Internal("base64 specification".into()))?;
    let bytes = Zeroizing::new(
        encoding
            .decode(cleaned.as_bytes())
            .map_err(|_| bad("the migration data is not valid base64"))?,
    );
    let payload = <MigrationPayload as prost::Message>::decode(bytes.as_slice())
        .map_err(|_| bad("the migration data is not a valid export payload"))?;
    migration_entries(&payload)
}

/// Converts a decoded export payload into entries; any invalid entry fails the whole
/// payload (nothing is half-imported) with a reason naming the entry.
pub fn migration_entries(payload: &MigrationPayload) -> Result<ParsedLink> {
    if payload.otp_parameters.is_empty() {
        return Err(bad("the migration payload holds no accounts"));
    }
    let mut warnings = Vec::new();
    let mut entries = Vec::new();
    for (i, p) in payload.otp_parameters.iter().enumerate() {
        let n = i + 1;
        let issuer = p.issuer.trim().to_string();
        // Google writes "Issuer:account" into name as well; strip a duplicated prefix.
        let name = match p.name.split_once(':') {
            Some((pre, acc)) if !issuer.is_empty() && pre.trim().eq_ignore_ascii_case(&issuer) => {
                acc.trim().to_string()
            }
            _ => p.name.trim().to_string(),
        };
        let who = if issuer.is_empty() {
            name.clone()
        } else {
            format!("{issuer}:{name}")
        };
        let algorithm = match p.algorithm {
            0 | 1 => Algorithm::Sha1,
            2 => Algorithm::Sha256,
            3 => Algorithm::Sha512,
            4 => return Err(bad(format!("entry {n} ({who}): unsupported algorithm MD5"))),
            other => {
                return Err(bad(format!(
                    "entry {n} ({who}): unknown algorithm value {other}"
                )))
            }
        };
        let digits = match p.digits {
            0 | 1 => 6,
            2 => 8,
            other => {
                return Err(bad(format!(
                    "entry {n} ({who}): unknown digit count value {other}"
                )))
            }
        };
        let kind = match p.r#type {
            0 | 2 => AccountKind::Totp,
            1 => AccountKind::Hotp,
            other => {
                return Err(bad(format!(
                    "entry {n} ({who}): unknown OTP type value {other}"
                )))
            }
        };
        if p.secret.is_empty() {
            return Err(bad(format!("entry {n} ({who}): the secret is empty")));
        }
        let counter = u64::try_from(p.counter)
            .map_err(|_| bad(format!("entry {n} ({who}): negative counter")))?;
        let entry = OtpEntry {
            kind,
            issuer,
            name,
            secret: Zeroizing::new(p.secret.clone()),
            algorithm,
            digits,
            period: 30,
            counter,
            policy: AccountLockPolicy::default(),
            serial: None,
        };
        if entry.weak_secret() {
            warnings.push(format!(
                "entry {n} ({who}): the secret is only {} bits; accepted but weak",
                entry.secret.len() * 8
            ));
        }
        entries.push(entry);
    }
    let batch = (payload.batch_size > 1).then(|| Batch {
        index: u32::try_from(payload.batch_index).unwrap_or(0),
        size: u32::try_from(payload.batch_size).unwrap_or(1),
        id: payload.batch_id,
    });
    if let Some(b) = batch {
        warnings.push(format!(
            "this is QR code {} of {} of an export; scan the others too",
            b.index + 1,
            b.size
        ));
    }
    Ok(ParsedLink::Otp {
        entries,
        batch,
        warnings,
    })
}

#[cfg(test)]
#[path = "links_tests.rs"]
mod tests;
