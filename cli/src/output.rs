//! The output contract: JSON shapes QA scripts parse (field names and order are fixed
//! here and nowhere else), the small text formatting helpers the commands share, and
//! [`sanitize`], which every string from a link or a server goes through before it is
//! shown, in text and in JSON.

use authenticator_core::{
    Account, AccountKind, Algorithm, ChallengeSource, Code, EnrollmentResult, KeyProtection,
    LockState, PendingTokenUpdate, PushChallenge,
};
use serde::Serialize;

/// `kind` as printed.
pub fn kind_str(k: AccountKind) -> &'static str {
    match k {
        AccountKind::Totp => "totp",
        AccountKind::Hotp => "hotp",
        AccountKind::Steam => "steam",
        AccountKind::Push => "push",
    }
}

/// `algorithm` as printed.
pub fn algorithm_str(a: Algorithm) -> &'static str {
    match a {
        Algorithm::Sha1 => "SHA1",
        Algorithm::Sha256 => "SHA256",
        Algorithm::Sha512 => "SHA512",
    }
}

/// Text from a link or a server (issuer, name, serial, title, question, options,
/// warnings, messages, errors), made safe to show on a terminal, in text and in JSON
/// alike (a script that prints a JSON field must not replay an escape either):
///
/// - ESC sequences are removed whole: CSI (`ESC [` ... final byte), OSC, DCS, SOS, PM
///   and APC strings (up to BEL or ST), and the two- or three-byte ones (`ESC c`,
///   `ESC ( B`); and so are their 8-bit C1 forms (U+009B CSI, U+009D OSC, ...);
/// - every other C0 control, DEL and C1 control is removed, except that tab, line
///   feed, vertical tab, form feed and carriage return become one space, so words stay
///   apart and a line stays one line;
/// - the bidi embedding, override and isolate controls (U+202A–U+202E,
///   U+2066–U+2069) are removed, so no text can be reordered on screen.
pub fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            '\u{9b}' => skip_csi(&mut chars),
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\t' | '\n' | '\u{0b}' | '\u{0c}' | '\r' => {
                if !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {}
            // C0, DEL and C1 (Unicode category Cc).
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// After an ESC: skips the rest of its sequence.
fn skip_escape(chars: &mut Chars<'_>) {
    match chars.peek().copied() {
        Some('[') => {
            chars.next();
            skip_csi(chars);
        }
        Some(']' | 'P' | 'X' | '^' | '_') => {
            chars.next();
            skip_string(chars);
        }
        Some(c) if ('\u{20}'..='\u{2f}').contains(&c) => {
            // Intermediate bytes, then one final byte.
            while chars
                .next_if(|c| ('\u{20}'..='\u{2f}').contains(c))
                .is_some()
            {}
            chars.next_if(|c| ('\u{30}'..='\u{7e}').contains(c));
        }
        Some(c) if ('\u{30}'..='\u{7e}').contains(&c) => {
            chars.next();
        }
        _ => {}
    }
}

/// A control sequence after its introducer: parameter bytes, intermediate bytes and
/// the final byte.
fn skip_csi(chars: &mut Chars<'_>) {
    while chars
        .next_if(|c| ('\u{30}'..='\u{3f}').contains(c))
        .is_some()
    {}
    while chars
        .next_if(|c| ('\u{20}'..='\u{2f}').contains(c))
        .is_some()
    {}
    chars.next_if(|c| ('\u{40}'..='\u{7e}').contains(c));
}

/// A control string (OSC, DCS, SOS, PM, APC) after its introducer: everything up to
/// BEL or ST (`ESC \` or U+009C); CAN and SUB cancel it; unterminated, it runs to the
/// end, as a terminal would swallow it.
fn skip_string(chars: &mut Chars<'_>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{07}' | '\u{9c}' | '\u{18}' | '\u{1a}' => return,
            '\u{1b}' => {
                // ST, or the start of the next sequence (which ends this string too).
                if chars.next_if_eq(&'\\').is_none() {
                    skip_escape(chars);
                }
                return;
            }
            _ => {}
        }
    }
}

/// `issuer:name`, or the name alone when the issuer is empty, sanitised for showing.
pub fn label(issuer: &str, name: &str) -> String {
    let (issuer, name) = (sanitize(issuer), sanitize(name));
    if issuer.is_empty() {
        name
    } else {
        format!("{issuer}:{name}")
    }
}

/// Sanitises every string of a list (options, reasons, warnings).
pub fn sanitize_all(list: &[String]) -> Vec<String> {
    list.iter().map(|s| sanitize(s)).collect()
}

/// A code split for reading: `123 456`, `1234 5678`, `123 4567`; Steam codes and
/// short codes unchanged.
pub fn group_code(code: &str) -> String {
    let n = code.chars().count();
    if n < 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return code.to_string();
    }
    let first = n / 2;
    let (a, b) = code.split_at(first);
    format!("{a} {b}")
}

/// Pretty JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// An account (no secret).
#[derive(Debug, Serialize)]
pub struct AccountJson {
    id: String,
    kind: &'static str,
    issuer: String,
    name: String,
    algorithm: &'static str,
    digits: u8,
    period: u32,
    counter: u64,
    weak_secret: bool,
    tls_verify: bool,
    requires_pin: bool,
    linked_otp_account_id: Option<String>,
    serial: Option<String>,
    poll_only: bool,
    container: Option<String>,
}

impl From<&Account> for AccountJson {
    fn from(a: &Account) -> Self {
        Self {
            id: a.id.clone(),
            kind: kind_str(a.kind),
            issuer: sanitize(&a.issuer),
            name: sanitize(&a.name),
            algorithm: algorithm_str(a.algorithm),
            digits: a.digits,
            period: a.period,
            counter: a.counter,
            weak_secret: a.weak_secret,
            tls_verify: a.tls_verify,
            requires_pin: a.requires_pin,
            linked_otp_account_id: a.linked_otp_account_id.clone(),
            serial: a.serial.as_deref().map(sanitize),
            poll_only: a.poll_only,
            container: a.container_serial.as_deref().map(sanitize),
        }
    }
}

/// Position in a migration export.
#[derive(Debug, Serialize)]
pub struct BatchJson {
    index: u32,
    size: u32,
    batch_id: i32,
}

/// What `add` stored.
#[derive(Debug, Serialize)]
pub struct EnrollmentJson {
    accounts: Vec<AccountJson>,
    warnings: Vec<String>,
    batch: Option<BatchJson>,
    container: Option<String>,
    /// An open initial-transfer offer (the container is not synchronized yet).
    adoptable_account_ids: Vec<String>,
}

impl From<&EnrollmentResult> for EnrollmentJson {
    fn from(r: &EnrollmentResult) -> Self {
        Self {
            accounts: r.accounts.iter().map(AccountJson::from).collect(),
            warnings: sanitize_all(&r.warnings),
            batch: r.batch.map(|b| BatchJson {
                index: b.index,
                size: b.size,
                batch_id: b.batch_id,
            }),
            container: r.container_serial.as_deref().map(sanitize),
            adoptable_account_ids: r.adoptable_account_ids.clone(),
        }
    }
}

/// A code.
#[derive(Debug, Serialize)]
pub struct CodeJson {
    account_id: String,
    issuer: String,
    name: String,
    code: String,
    valid_until: Option<i64>,
    seconds_left: Option<i64>,
    counter: Option<u64>,
}

impl CodeJson {
    /// `seconds_left` is counted from `reference` (now, or the `--at` time).
    pub fn new(c: &Code, account: Option<&Account>, seconds_left: Option<i64>) -> Self {
        Self {
            account_id: c.account_id.clone(),
            issuer: account.map(|a| sanitize(&a.issuer)).unwrap_or_default(),
            name: account.map(|a| sanitize(&a.name)).unwrap_or_default(),
            code: sanitize(c.code.expose()),
            valid_until: c.valid_until,
            seconds_left,
            counter: c.counter,
        }
    }
}

/// The effective lock policy.
#[derive(Debug, Serialize)]
pub struct PolicyJson {
    require_pin: bool,
    wipe_after_attempts: u32,
    idle_timeout_seconds: Option<u64>,
    min_pin_length: u8,
    background_grace_seconds: u64,
}

/// A push token rotation a server has not taken yet.
#[derive(Debug, Serialize)]
pub struct PendingTokenUpdateJson {
    account_id: String,
    serial: String,
    attempts: u32,
    last_error: Option<String>,
    last_attempt_at: Option<i64>,
}

impl From<&PendingTokenUpdate> for PendingTokenUpdateJson {
    fn from(p: &PendingTokenUpdate) -> Self {
        Self {
            account_id: p.account_id.clone(),
            serial: sanitize(&p.serial),
            attempts: p.attempts,
            last_error: p.last_error.as_deref().map(sanitize),
            last_attempt_at: p.last_attempt_at,
        }
    }
}

/// `status --json`.
#[derive(Debug, Serialize)]
pub struct StatusJson {
    has_pin: bool,
    locked: bool,
    attempts_left: u32,
    seconds_until_auto_lock: Option<u64>,
    biometric_enabled: bool,
    wiped: bool,
    policy: PolicyJson,
    accounts: usize,
    keystore: &'static str,
    /// Where the device key every PIN check needs lives: `strongbox`, `tee`,
    /// `secure_enclave` or `software` (null once wiped).
    protection: Option<&'static str>,
    vault: String,
    pending_push_token_updates: Vec<PendingTokenUpdateJson>,
}

/// The name of a device key's protection, as `status` prints it.
pub fn protection_name(p: KeyProtection) -> &'static str {
    match p {
        KeyProtection::Strongbox => "strongbox",
        KeyProtection::Tee => "tee",
        KeyProtection::SecureEnclave => "secure_enclave",
        KeyProtection::Software => "software",
    }
}

impl StatusJson {
    /// Builds the status record.
    pub fn new(
        s: &LockState,
        accounts: usize,
        keystore: &'static str,
        vault: String,
        pending: &[PendingTokenUpdate],
    ) -> Self {
        Self {
            has_pin: s.has_pin,
            locked: s.locked,
            attempts_left: s.attempts_left,
            seconds_until_auto_lock: s.seconds_until_auto_lock,
            biometric_enabled: s.biometric_enabled,
            wiped: s.wiped,
            policy: PolicyJson {
                require_pin: s.policy.require_pin,
                wipe_after_attempts: s.policy.wipe_after_attempts,
                idle_timeout_seconds: s.policy.idle_timeout_seconds,
                min_pin_length: s.policy.min_pin_length,
                background_grace_seconds: s.policy.background_grace_seconds,
            },
            accounts,
            keystore,
            protection: s.protection.map(protection_name),
            vault,
            pending_push_token_updates: pending.iter().map(Into::into).collect(),
        }
    }
}

/// A pending push challenge.
#[derive(Debug, Serialize)]
pub struct ChallengeJson {
    id: String,
    account_id: String,
    serial: String,
    title: String,
    question: String,
    presence_options: Vec<String>,
    decline_reasons: Vec<String>,
    expires_at: i64,
    received_via: &'static str,
    tls_verify: bool,
}

impl From<&PushChallenge> for ChallengeJson {
    fn from(c: &PushChallenge) -> Self {
        Self {
            id: c.id.clone(),
            account_id: c.account_id.clone(),
            serial: sanitize(&c.serial),
            title: sanitize(&c.title),
            question: sanitize(&c.question),
            presence_options: sanitize_all(&c.presence_options),
            decline_reasons: sanitize_all(&c.decline_reasons),
            expires_at: c.expires_at,
            received_via: match c.received_via {
                ChallengeSource::Push => "push",
                ChallengeSource::Poll => "poll",
            },
            tls_verify: c.tls_verify,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_grouped_for_reading() {
        assert_eq!(group_code("646738"), "646 738");
        assert_eq!(group_code("12345678"), "1234 5678");
        assert_eq!(group_code("1234567"), "123 4567");
        assert_eq!(group_code("2BCDF"), "2BCDF");
    }

    #[test]
    fn labels_drop_an_empty_issuer() {
        assert_eq!(label("ACME", "alice"), "ACME:alice");
        assert_eq!(label("", "alice"), "alice");
    }

    #[test]
    fn labels_are_sanitised() {
        assert_eq!(label("Evil\u{1b}[2J", "bob\u{202e}moc"), "Evil:bobmoc");
        assert_eq!(label("\u{1b}[31m", "x"), "x");
    }

    /// True when nothing a terminal would act on is left.
    fn inert(s: &str) -> bool {
        !s.chars().any(|c| {
            c.is_control()
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)
        })
    }

    #[test]
    fn escape_sequences_are_removed_whole() {
        let cases = [
            ("a\u{1b}[2Jb", "ab"),
            ("a\u{1b}[1;31mred\u{1b}[0m", "ared"),
            ("a\u{1b}[?25lb", "ab"),
            ("\u{1b}]0;pwned title\u{07}ok", "ok"),
            (
                "\u{1b}]8;;https://evil.example/\u{1b}\\link\u{1b}]8;;\u{1b}\\",
                "link",
            ),
            ("\u{1b}Pdevice control\u{1b}\\x", "x"),
            ("\u{1b}_apc\u{9c}y", "y"),
            ("a\u{1b}cb", "ab"),
            ("a\u{1b}(Bb", "ab"),
            ("a\u{1b}", "a"),
            ("a\u{9b}2Jb", "ab"),
            ("\u{9d}0;title\u{07}z", "z"),
            ("\u{1b}]unterminated", ""),
            ("\u{1b}]a\u{1b}[2Jb", "b"),
        ];
        for (raw, want) in cases {
            assert_eq!(sanitize(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn controls_and_bidi_overrides_are_removed() {
        assert_eq!(sanitize("Login\nfor alice?"), "Login for alice?");
        assert_eq!(sanitize("a\r\n\tb"), "a b");
        assert_eq!(sanitize("be\u{07}ll\u{7f}\u{0}\u{85}"), "bell");
        assert_eq!(sanitize("\u{202e}txt.exe"), "txt.exe");
        for c in [
            '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{2066}', '\u{2067}', '\u{2068}',
            '\u{2069}',
        ] {
            assert_eq!(sanitize(&format!("a{c}b")), "ab");
        }
        // Ordinary text, accents and other scripts pass unchanged.
        for ok in [
            "ACME:alice@example.com",
            "Zürich Bank",
            "שלום",
            "日本語",
            "a b",
        ] {
            assert_eq!(sanitize(ok), ok);
        }
        // Whatever comes in, nothing active comes out.
        let nasty: String = (0u32..0x250)
            .chain(0x2000..0x2070)
            .filter_map(char::from_u32)
            .collect();
        assert!(inert(&sanitize(&nasty)));
    }

    #[test]
    fn json_records_carry_sanitised_text() {
        let c = PushChallenge {
            id: "NONCE".into(),
            account_id: "a".into(),
            serial: "PIPU\u{1b}[2J1".into(),
            title: "\u{1b}]0;x\u{07}Title".into(),
            question: "Log\u{202e}in?".into(),
            presence_options: vec!["\u{1b}[1mA".into()],
            decline_reasons: vec!["cancelled\u{9b}K".into()],
            expires_at: 0,
            received_via: ChallengeSource::Poll,
            tls_verify: true,
            requires_unlock: false,
        };
        let v = serde_json::to_value(ChallengeJson::from(&c)).unwrap_or_default();
        assert_eq!(v["serial"], "PIPU1");
        assert_eq!(v["title"], "Title");
        assert_eq!(v["question"], "Login?");
        assert_eq!(v["presence_options"][0], "A");
        assert_eq!(v["decline_reasons"][0], "cancelled");
        let text = serde_json::to_string(&ChallengeJson::from(&c)).unwrap_or_default();
        assert!(!text.contains("\\u001b") && inert(&text), "{text}");
    }
}
