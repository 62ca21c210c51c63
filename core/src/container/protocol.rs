//! privacyIDEA 3.14 smartphone container protocol, pure parts: the `pia://container/`
//! link, the P-384 phone key, the signed strings and form fields of finalize, challenge,
//! synchronize, rollover and terminate, the decryption of the synchronization answer and
//! the typed reading of every answer. No I/O. See
//! ../shared/docs/privacyidea-container-protocol.md; its section numbers are cited below.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use zeroize::{Zeroize, Zeroizing};

/// The only phone key algorithm privacyIDEA 3.14 offers (`key_algorithm`).
pub const KEY_ALGORITHM: &str = "secp384r1";
/// The only signature hash privacyIDEA 3.14 offers (`hash_algorithm`).
pub const HASH_ALGORITHM: &str = "SHA256";
/// The container type the phone reports in `container_dict_client`.
pub const CONTAINER_TYPE: &str = "smartphone";
/// Link validity when the link says nothing usable (the server's default, 11).
pub const DEFAULT_LINK_TTL_MINUTES: u64 = 10;
/// Longest nonce, time, serial or server URL accepted from a link or an answer.
const MAX_FIELD_LEN: usize = 256;
/// Longest passphrase prompt shown to the user.
const MAX_PROMPT_LEN: usize = 1024;
/// Longest server message kept in an error.
const MAX_MESSAGE_LEN: usize = 300;

// ---------------------------------------------------------------------------------------
// Errors

/// What went wrong in the container protocol. Never carries a key, a passphrase, a nonce
/// or a token secret: link errors name the field, server errors carry the server's
/// message (cut to 300 characters). Mapped to the public error in `error.rs`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContainerError {
    /// The registration (or transfer) link is malformed.
    #[error("invalid container link: the {field} {reason}")]
    InvalidLink {
        /// The parameter at fault (`url`, `nonce`, ...).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The link asks for an algorithm this core does not implement.
    #[error("unsupported container link: {field} '{value}' (only {expected} is supported)")]
    UnsupportedLink {
        /// The parameter.
        field: &'static str,
        /// Its value (an algorithm name, never a secret).
        value: String,
        /// What is supported.
        expected: &'static str,
    },
    /// The link has a passphrase prompt (or `send_passphrase=True`) and none was given.
    #[error("this container link needs a passphrase")]
    PassphraseRequired,
    /// A server answer lacks a field or has a malformed one.
    #[error("the server's answer is malformed: the {field} {reason}")]
    InvalidAnswer {
        /// The field at fault.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The synchronization answer does not decrypt with this sync key (wrong key, or
    /// tampered with on the way).
    #[error("the synchronization answer does not decrypt")]
    DecryptFailed,
    /// ERR3002: any verification failure (wrong passphrase, expired link or challenge,
    /// or this phone was replaced by a transfer). The server says no more (section 12).
    #[error("the server did not accept the signature (ERR3002)")]
    SignatureRejected,
    /// ERR3001: the container is not (or no longer) registered.
    #[error("the container is not registered on the server (ERR3001)")]
    NotRegistered,
    /// ERR3000 on finalize: the link was already used; a new one is needed.
    #[error("the container is already registered; a new registration needs a new link (ERR3000)")]
    AlreadyRegistered,
    /// ERR3000 with a generic message: the server hides the cause
    /// (`hide_specific_error_message`).
    #[error("the server refused the {op} without giving the cause (ERR3000)")]
    Hidden {
        /// The operation.
        op: &'static str,
    },
    /// ERR905: a parameter is missing (or the challenge scope is unknown).
    #[error("the server refused the request as incomplete (ERR905): {message}")]
    MissingParameter {
        /// The server's message (names the parameter).
        message: String,
    },
    /// ERR303 (HTTP 403): a server policy forbids the operation.
    #[error("a server policy forbids this: {message}")]
    PolicyRefused {
        /// The server's message (names the policy).
        message: String,
    },
    /// ERR601 (HTTP 404): the server has no container with this serial.
    #[error("the server has no container with this serial (ERR601)")]
    UnknownContainer,
    /// HTTP 404 without a privacyIDEA answer: a wrong endpoint path.
    #[error("the server has no such endpoint (HTTP 404)")]
    EndpointNotFound,
    /// Any other error answer.
    #[error("server error {status}: {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// privacyIDEA's error code, if any.
        code: Option<i64>,
        /// The server's message.
        message: String,
    },
}

impl ContainerError {
    /// The HTTP status the error stands for (200 for malformed successful answers and
    /// for local errors), for the public `Server` error.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::SignatureRejected
            | Self::NotRegistered
            | Self::AlreadyRegistered
            | Self::Hidden { .. }
            | Self::MissingParameter { .. } => 400,
            Self::PolicyRefused { .. } => 403,
            Self::UnknownContainer | Self::EndpointNotFound => 404,
            Self::Server { status, .. } => *status,
            Self::InvalidLink { .. }
            | Self::UnsupportedLink { .. }
            | Self::PassphraseRequired
            | Self::InvalidAnswer { .. }
            | Self::DecryptFailed => 200,
        }
    }
}

fn invalid_link(field: &'static str, reason: impl Into<String>) -> Error {
    Error::Container(ContainerError::InvalidLink {
        field,
        reason: reason.into(),
    })
}

fn invalid_answer(field: &'static str, reason: impl Into<String>) -> Error {
    Error::Container(ContainerError::InvalidAnswer {
        field,
        reason: reason.into(),
    })
}

// ---------------------------------------------------------------------------------------
// Endpoints (section 1.5)

/// The five phone operations, each with its endpoint path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `container/register/finalize`.
    Finalize,
    /// `container/challenge`.
    Challenge,
    /// `container/synchronize`.
    Synchronize,
    /// `container/rollover`.
    Rollover,
    /// `container/register/terminate/client`.
    Terminate,
}

impl Operation {
    /// The path appended to the server URL.
    pub fn path(self) -> &'static str {
        match self {
            Self::Finalize => "container/register/finalize",
            Self::Challenge => "container/challenge",
            Self::Synchronize => "container/synchronize",
            Self::Rollover => "container/rollover",
            Self::Terminate => "container/register/terminate/client",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Finalize => "registration",
            Self::Challenge => "challenge",
            Self::Synchronize => "synchronization",
            Self::Rollover => "transfer",
            Self::Terminate => "unregistration",
        }
    }
}

/// The endpoint URL, built as the server builds its scope (`create_endpoint_url`): the
/// server URL and the path joined by exactly one `/`. The same string is the POST target
/// and the signed `scope`. (The server's edge case of a URL that already contains the
/// path is not reproduced: no policy URL contains one.)
pub fn endpoint(server_url: &str, op: Operation) -> String {
    if server_url.ends_with('/') {
        format!("{server_url}{}", op.path())
    } else {
        format!("{server_url}/{}", op.path())
    }
}

// ---------------------------------------------------------------------------------------
// The registration / transfer link (section 3)

/// A parsed `pia://container/<serial>?...` link: a registration QR from an admin, or a
/// transfer QR from the old phone (same format). `Debug` leaves the nonce out.
#[derive(Clone, PartialEq, Eq)]
pub struct ContainerLink {
    /// Container serial (`SMPH…`).
    pub serial: String,
    /// `issuer` (always `privacyIDEA` in 3.14).
    pub issuer: String,
    /// Server base URL (`url`, the `privacyIDEA_server_url` policy), verbatim.
    pub server_url: String,
    /// Registration nonce, signed verbatim.
    pub nonce: String,
    /// Creation time, signed VERBATIM (never re-formatted: pitfall 1).
    pub time: String,
    /// Minutes the link is valid from `time`.
    pub ttl_minutes: u64,
    /// `key_algorithm` (`secp384r1`).
    pub key_algorithm: String,
    /// `hash_algorithm` (`SHA256`).
    pub hash_algorithm: String,
    /// Whether TLS is verified for the container endpoints: `ssl_verify=True` and not a
    /// plain-http loopback URL.
    pub tls_verify: bool,
    /// The passphrase prompt to show, if the link asks for one.
    pub passphrase_prompt: Option<String>,
    /// `send_passphrase=True`: the passphrase is sent as well as signed (user store).
    pub send_passphrase: bool,
    /// Unknown parameters (the admin's `extra_data`), kept in order, otherwise ignored.
    pub extra: Vec<(String, String)>,
    /// Things the user should know (TLS not verified).
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for ContainerLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContainerLink")
            .field("serial", &self.serial)
            .field("issuer", &self.issuer)
            .field("server_url", &self.server_url)
            .field("nonce", &"<redacted>")
            .field("time", &self.time)
            .field("ttl_minutes", &self.ttl_minutes)
            .field("tls_verify", &self.tls_verify)
            .field("passphrase_prompt", &self.passphrase_prompt)
            .field("send_passphrase", &self.send_passphrase)
            .finish_non_exhaustive()
    }
}

impl ContainerLink {
    /// Whether the user must type a passphrase before registering.
    pub fn needs_passphrase(&self) -> bool {
        self.passphrase_prompt.is_some() || self.send_passphrase
    }

    /// The server identity the container keeps after registration.
    pub fn server(&self) -> ContainerServer {
        ContainerServer {
            serial: self.serial.clone(),
            server_url: self.server_url.clone(),
            tls_verify: self.tls_verify,
        }
    }

    /// When the link expires (unix seconds) by the server's clock, if `time` reads as
    /// an ISO 8601 time. Only a hint for the user (the phone's clock may be off): the
    /// signed string always uses `time` verbatim.
    pub fn expires_at(&self) -> Option<i64> {
        let ttl = i64::try_from(self.ttl_minutes).ok()?.checked_mul(60)?;
        parse_iso_time(&self.time)?.checked_add(ttl)
    }
}

/// Parses a container registration or transfer link. Strict where a wrong value breaks
/// the signature or the security (nonce, time, serial, url, algorithms, booleans,
/// duplicated parameters); lenient elsewhere (scheme and parameter case, a trailing `/`
/// after the serial, missing `issuer`/`ttl`/`ssl_verify`/`send_passphrase`, unknown
/// parameters). `+` stays `+`: the server percent-encodes it (`%2B`) and a decoded space
/// in `time` would break the signature.
pub fn parse_container_link(input: &str) -> Result<ContainerLink> {
    let link = input.trim();
    let (scheme, rest) = link
        .split_once("://")
        .ok_or_else(|| invalid_link("link", "is not a pia://container/ link"))?;
    if !scheme.eq_ignore_ascii_case("pia") {
        return Err(invalid_link("link", "is not a pia://container/ link"));
    }
    let rest = rest.split('#').next().unwrap_or("");
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (host, path) = before_query.split_once('/').unwrap_or((before_query, ""));
    if !host.eq_ignore_ascii_case("container") {
        return Err(invalid_link("link", "is not a pia://container/ link"));
    }
    let path_serial = percent_decode("serial", path.strip_suffix('/').unwrap_or(path))?;

    let mut params: Vec<(String, String)> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode("parameter name", k)?.to_ascii_lowercase();
        let value = percent_decode(known_field(&key).unwrap_or("parameter"), v)?;
        if let Some(field) = known_field(&key) {
            if params.iter().any(|(k, _)| *k == key) {
                return Err(invalid_link(field, "appears twice"));
            }
        }
        params.push((key, value));
    }
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };

    let serial = match (path_serial.as_str(), get("serial")) {
        ("", None) | ("", Some("")) => return Err(invalid_link("serial", "is missing")),
        ("", Some(q)) => q.to_string(),
        (p, Some(q)) if !q.is_empty() && q != p => {
            return Err(invalid_link(
                "serial",
                "in the path differs from the serial parameter",
            ))
        }
        (p, _) => p.to_string(),
    };
    check_serial(&serial).map_err(|reason| invalid_link("serial", reason))?;

    let nonce = get("nonce").ok_or_else(|| invalid_link("nonce", "is missing"))?;
    check_nonce(nonce).map_err(|reason| invalid_link("nonce", reason))?;
    let time = get("time").ok_or_else(|| invalid_link("time", "is missing"))?;
    check_time(time).map_err(|reason| invalid_link("time", reason))?;

    let server_url = get("url").ok_or_else(|| invalid_link("url", "is missing"))?;
    if server_url.is_empty() || server_url.len() > MAX_FIELD_LEN || server_url.contains('|') {
        return Err(invalid_link("url", "is empty, too long or contains '|'"));
    }
    let plain_http_loopback = crate::links::check_server_url(server_url, "container link")?;

    let ttl_minutes = match get("ttl").map(str::trim) {
        None | Some("") => DEFAULT_LINK_TTL_MINUTES,
        Some(t) => {
            let n: i64 = t
                .parse()
                .map_err(|_| invalid_link("ttl", "is not a number of minutes"))?;
            // The server replaces values <= 0 by its default (section 11).
            u64::try_from(n)
                .ok()
                .filter(|n| *n > 0)
                .unwrap_or(DEFAULT_LINK_TTL_MINUTES)
        }
    };

    let key_algorithm = get("key_algorithm").unwrap_or(KEY_ALGORITHM).trim();
    if !key_algorithm.eq_ignore_ascii_case(KEY_ALGORITHM) {
        return Err(Error::Container(ContainerError::UnsupportedLink {
            field: "key_algorithm",
            value: key_algorithm.chars().take(64).collect(),
            expected: KEY_ALGORITHM,
        }));
    }
    let hash_algorithm = get("hash_algorithm").unwrap_or(HASH_ALGORITHM).trim();
    if !hash_algorithm.eq_ignore_ascii_case(HASH_ALGORITHM) {
        return Err(Error::Container(ContainerError::UnsupportedLink {
            field: "hash_algorithm",
            value: hash_algorithm.chars().take(64).collect(),
            expected: HASH_ALGORITHM,
        }));
    }

    let ssl_verify = match get("ssl_verify") {
        None => true,
        Some(v) => {
            parse_bool(v).ok_or_else(|| invalid_link("ssl_verify", "must be True or False"))?
        }
    };
    let send_passphrase = match get("send_passphrase") {
        None => false,
        Some(v) => {
            parse_bool(v).ok_or_else(|| invalid_link("send_passphrase", "must be True or False"))?
        }
    };
    let passphrase_prompt = match get("passphrase").map(str::trim) {
        None | Some("") => None,
        Some(p) if p.len() > MAX_PROMPT_LEN || p.chars().any(char::is_control) => {
            return Err(invalid_link(
                "passphrase",
                "prompt is too long or has control characters",
            ))
        }
        Some(p) => Some(p.to_string()),
    };
    let issuer = get("issuer")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("privacyIDEA")
        .to_string();

    let tls_verify = ssl_verify && !plain_http_loopback;
    let mut warnings = Vec::new();
    if !tls_verify {
        warnings.push(
            "the server asked not to verify TLS certificates for this container; anyone on the network path can impersonate the server and read every token it sends".into(),
        );
    }
    let extra = params
        .iter()
        .filter(|(k, _)| known_field(k).is_none())
        .cloned()
        .collect();
    Ok(ContainerLink {
        serial,
        issuer,
        server_url: server_url.to_string(),
        nonce: nonce.to_string(),
        time: time.to_string(),
        ttl_minutes,
        key_algorithm: key_algorithm.to_string(),
        hash_algorithm: hash_algorithm.to_string(),
        tls_verify,
        passphrase_prompt,
        send_passphrase,
        extra,
        warnings,
    })
}

/// The link's parameters with the field name used in errors.
fn known_field(key: &str) -> Option<&'static str> {
    Some(match key {
        "issuer" => "issuer",
        "ttl" => "ttl",
        "nonce" => "nonce",
        "time" => "time",
        "url" => "url",
        "serial" => "serial",
        "key_algorithm" => "key_algorithm",
        "hash_algorithm" => "hash_algorithm",
        "ssl_verify" => "ssl_verify",
        "passphrase" => "passphrase",
        "send_passphrase" => "send_passphrase",
        _ => return None,
    })
}

fn percent_decode(field: &'static str, s: &str) -> Result<String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| invalid_link(field, "is not valid UTF-8 after percent-decoding"))
}

/// privacyIDEA writes Python booleans (`True`/`False`); 1/0 and any case are taken too.
fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// A container serial: printable ASCII without spaces or `|` (it is a signed field).
fn check_serial(s: &str) -> std::result::Result<(), &'static str> {
    if s.is_empty() || s.len() > MAX_FIELD_LEN {
        return Err("is empty or too long");
    }
    if !s.bytes().all(|b| b.is_ascii_graphic() && b != b'|') {
        return Err("has characters other than printable ASCII");
    }
    Ok(())
}

/// A nonce: ASCII letters and digits (privacyIDEA sends 40 lower-case hex characters).
fn check_nonce(s: &str) -> std::result::Result<(), &'static str> {
    if s.is_empty() || s.len() > MAX_FIELD_LEN {
        return Err("is empty or too long");
    }
    if !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err("has characters other than letters and digits");
    }
    Ok(())
}

/// A time stamp: printable ASCII without spaces or `|`, kept as it is. A space is
/// refused because it is what a `+` becomes when something form-decoded the link.
fn check_time(s: &str) -> std::result::Result<(), &'static str> {
    if s.is_empty() || s.len() > 64 {
        return Err("is empty or too long");
    }
    if !s.bytes().all(|b| b.is_ascii_graphic() && b != b'|') {
        return Err(
            "has a space or a character other than printable ASCII (a '+' must be sent as %2B)",
        );
    }
    if !s.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
        return Err("is not an ISO 8601 time");
    }
    Ok(())
}

/// Reads `YYYY-MM-DDTHH:MM:SS[.fraction](+HH:MM|-HH:MM|Z)` as unix seconds (for the
/// expiry hint only).
fn parse_iso_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    let offset = match s.get(i..)? {
        "Z" => 0,
        tz if tz.len() == 6 && (tz.starts_with('+') || tz.starts_with('-')) && &tz[3..4] == ":" => {
            let o = num(i + 1..i + 3)? * 3600 + num(i + 4..i + 6)? * 60;
            if tz.starts_with('-') {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    // Days from civil (H. Hinnant), era of 400 years starting on 0000-03-01.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + sec - offset)
}

// ---------------------------------------------------------------------------------------
// The phone key (section 1.3)

/// The container's P-384 phone key, kept for the container's lifetime on this phone.
/// `Debug` shows nothing of it; the key is wiped on drop by `p384`.
pub struct ContainerKey {
    signing: p384::ecdsa::SigningKey,
}

impl std::fmt::Debug for ContainerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContainerKey(<redacted>)")
    }
}

impl ContainerKey {
    /// A new key from the OS CSPRNG.
    pub fn generate() -> Self {
        Self {
            signing: p384::ecdsa::SigningKey::random(&mut rand::rngs::OsRng),
        }
    }

    /// Reads a key saved with [`ContainerKey::to_pkcs8_der`].
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        use p384::pkcs8::DecodePrivateKey;
        p384::ecdsa::SigningKey::from_pkcs8_der(der)
            .map(|signing| Self { signing })
            .map_err(|_| Error::Storage("the stored container key is unreadable".into()))
    }

    /// The private key as PKCS#8 DER, for the service to seal under the vault key.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        use p384::pkcs8::EncodePrivateKey;
        let doc = self
            .signing
            .to_pkcs8_der()
            .map_err(|_| Error::Internal("PKCS#8 encoding of the container key".into()))?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    /// `public_client_key`: PEM SubjectPublicKeyInfo with `\n` line ends, including the
    /// last one (base64 DER without the armour gets HTTP 500).
    pub fn public_key_pem(&self) -> Result<String> {
        use p384::pkcs8::{EncodePublicKey, LineEnding};
        self.signing
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|_| Error::Internal("PEM encoding of the container key".into()))
    }

    /// Signs the UTF-8 bytes of `message`: ECDSA P-384 over SHA-256, DER
    /// `SEQUENCE{r, s}`, standard base64 WITH padding (pitfall 5).
    pub fn sign(&self, message: &str) -> Result<String> {
        use p384::ecdsa::signature::hazmat::PrehashSigner;
        let digest = ring::digest::digest(&ring::digest::SHA256, message.as_bytes());
        let sig: p384::ecdsa::Signature = self
            .signing
            .sign_prehash(digest.as_ref())
            .map_err(|_| Error::Internal("ECDSA signing failed".into()))?;
        Ok(data_encoding::BASE64.encode(sig.to_der().as_bytes()))
    }
}

/// Verifies a signature as the server does (PEM public key, SHA-256, DER, base64 of
/// either alphabet with padding). Used by the tests and available to the service.
pub fn verify_signature(public_pem: &str, message: &str, signature_b64: &str) -> Result<()> {
    use p384::ecdsa::signature::hazmat::PrehashVerifier;
    use p384::pkcs8::DecodePublicKey;
    let key = p384::ecdsa::VerifyingKey::from_public_key_pem(public_pem)
        .map_err(|_| Error::BadSignature)?;
    let der = decode_b64_padded(signature_b64).ok_or(Error::BadSignature)?;
    let sig = p384::ecdsa::Signature::from_der(&der).map_err(|_| Error::BadSignature)?;
    let digest = ring::digest::digest(&ring::digest::SHA256, message.as_bytes());
    key.verify_prehash(digest.as_ref(), &sig)
        .map_err(|_| Error::BadSignature)
}

/// Decodes padded base64 of the standard or the url alphabet (what privacyIDEA sends
/// and accepts). Unpadded input is refused: the server refuses it too.
fn decode_b64_padded(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if s.contains(['-', '_']) {
        data_encoding::BASE64URL.decode(s.as_bytes()).ok()
    } else {
        data_encoding::BASE64.decode(s.as_bytes()).ok()
    }
}

// ---------------------------------------------------------------------------------------
// Requests

/// What the container keeps of its server after registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerServer {
    /// Container serial.
    pub serial: String,
    /// Server base URL from the link, verbatim (scopes are built from it).
    pub server_url: String,
    /// Whether TLS is verified.
    pub tls_verify: bool,
}

/// A request ready to POST as a form. `Debug` names the fields but shows no value (a
/// signature, a passphrase); the values are wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct ContainerRequest {
    /// The endpoint URL (also the signed scope).
    pub url: String,
    /// Whether TLS is verified.
    pub verify_tls: bool,
    /// Form fields in order.
    pub fields: Vec<(&'static str, String)>,
}

impl std::fmt::Debug for ContainerRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContainerRequest")
            .field("url", &self.url)
            .field("verify_tls", &self.verify_tls)
            .field(
                "fields",
                &self.fields.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Drop for ContainerRequest {
    fn drop(&mut self) {
        for (_, v) in &mut self.fields {
            v.zeroize();
        }
    }
}

impl ContainerRequest {
    /// The fields as `(name, value)` pairs for `Transport::post_form` (reqwest
    /// percent-encodes `+`, `/`, `=` and newlines like [`ContainerRequest::form_body`]).
    pub fn pairs(&self) -> Vec<(&str, &str)> {
        self.fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }

    /// A field's value.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `application/x-www-form-urlencoded` body: every byte but `A-Za-z0-9-._~`
    /// percent-encoded, so a `+` of base64 arrives as `+` and not as a space (1.1).
    pub fn form_body(&self) -> Zeroizing<String> {
        const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'.')
            .remove(b'_')
            .remove(b'~');
        let mut out = Zeroizing::new(String::new());
        for (i, (k, v)) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            out.extend(percent_encoding::utf8_percent_encode(k, SET));
            out.push('=');
            out.extend(percent_encoding::utf8_percent_encode(v, SET));
        }
        out
    }
}

/// `nonce|time|serial|scope`, the start of every signed string (1.4).
fn signed_base(nonce: &str, time: &str, serial: &str, scope: &str) -> String {
    format!("{nonce}|{time}|{serial}|{scope}")
}

/// Optional device description sent at registration. Empty strings count as absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceInfo {
    /// `device_brand`, e.g. `Google`.
    pub brand: Option<String>,
    /// `device_model`, e.g. `Pixel 8`.
    pub model: Option<String>,
}

impl DeviceInfo {
    fn brand(&self) -> Option<&str> {
        self.brand.as_deref().filter(|s| !s.is_empty())
    }
    fn model(&self) -> Option<&str> {
        self.model.as_deref().filter(|s| !s.is_empty())
    }
}

/// The passphrase the link asks for: `Some` non-empty when it needs one, ignored when it
/// does not (the server would not expect it in the signed string).
fn passphrase_for<'a>(
    link: &ContainerLink,
    passphrase: Option<&'a str>,
) -> Result<Option<&'a str>> {
    if !link.needs_passphrase() {
        return Ok(None);
    }
    match passphrase {
        Some(p) if !p.is_empty() => Ok(Some(p)),
        _ => Err(Error::Container(ContainerError::PassphraseRequired)),
    }
}

/// The signed string of `/container/register/finalize` (4.2):
/// `nonce|time|serial|scope[|brand][|model][|passphrase]`, the time verbatim, no public
/// key. Wiped on drop: it may hold the passphrase.
pub fn finalize_message(
    link: &ContainerLink,
    device: &DeviceInfo,
    passphrase: Option<&str>,
) -> Result<Zeroizing<String>> {
    let passphrase = passphrase_for(link, passphrase)?;
    let scope = endpoint(&link.server_url, Operation::Finalize);
    let mut m = Zeroizing::new(signed_base(&link.nonce, &link.time, &link.serial, &scope));
    for part in [device.brand(), device.model(), passphrase]
        .into_iter()
        .flatten()
    {
        m.push('|');
        m.push_str(part);
    }
    Ok(m)
}

/// The finalize request (4.1): `container_serial`, `public_client_key` (PEM),
/// `signature`, the device fields that are signed, and `passphrase` only when the link
/// says `send_passphrase=True`.
pub fn finalize_request(
    link: &ContainerLink,
    key: &ContainerKey,
    device: &DeviceInfo,
    passphrase: Option<&str>,
) -> Result<ContainerRequest> {
    let message = finalize_message(link, device, passphrase)?;
    let mut fields = vec![
        ("container_serial", link.serial.clone()),
        ("public_client_key", key.public_key_pem()?),
        ("signature", key.sign(&message)?),
    ];
    if let Some(b) = device.brand() {
        fields.push(("device_brand", b.to_string()));
    }
    if let Some(m) = device.model() {
        fields.push(("device_model", m.to_string()));
    }
    if link.send_passphrase {
        if let Some(p) = passphrase_for(link, passphrase)? {
            fields.push(("passphrase", p.to_string()));
        }
    }
    Ok(ContainerRequest {
        url: endpoint(&link.server_url, Operation::Finalize),
        verify_tls: link.tls_verify,
        fields,
    })
}

/// Reads the finalize answer (4.3): `success: true` and the client policies.
pub fn parse_finalize_answer(status: u16, body: &str) -> Result<ClientPolicies> {
    let value = parse_answer(status, body, Operation::Finalize)?;
    if value.get("success").and_then(Value::as_bool) != Some(true) {
        return Err(invalid_answer("success", "is not true"));
    }
    Ok(ClientPolicies::from_value(value.get("policies")))
}

// ---------------------------------------------------------------------------------------
// Challenge (section 5)

/// A challenge from `/container/challenge`. `Debug` leaves the nonce out.
#[derive(Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Signed verbatim.
    pub nonce: String,
    /// Signed verbatim (never re-formatted).
    pub time_stamp: String,
    /// `enc_key_algorithm` (`x25519`), if sent.
    pub enc_key_algorithm: Option<String>,
    /// `transaction_id` (not used by the phone).
    pub transaction_id: Option<String>,
}

impl std::fmt::Debug for Challenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Challenge")
            .field("nonce", &"<redacted>")
            .field("time_stamp", &self.time_stamp)
            .finish_non_exhaustive()
    }
}

/// The challenge request for `op` (synchronize, rollover or terminate): fields
/// `container_serial` and `scope` = the endpoint of `op`.
pub fn challenge_request(server: &ContainerServer, op: Operation) -> Result<ContainerRequest> {
    if !matches!(
        op,
        Operation::Synchronize | Operation::Rollover | Operation::Terminate
    ) {
        return Err(Error::Internal(format!(
            "no challenge is taken for the {}",
            op.name()
        )));
    }
    Ok(ContainerRequest {
        url: endpoint(&server.server_url, Operation::Challenge),
        verify_tls: server.tls_verify,
        fields: vec![
            ("container_serial", server.serial.clone()),
            ("scope", endpoint(&server.server_url, op)),
        ],
    })
}

/// Reads a challenge answer. Every retry needs a new one (pitfall 9).
pub fn parse_challenge_answer(status: u16, body: &str) -> Result<Challenge> {
    let value = parse_answer(status, body, Operation::Challenge)?;
    let text = |k: &str| value.get(k).and_then(Value::as_str);
    let nonce = text("nonce").ok_or_else(|| invalid_answer("nonce", "is missing"))?;
    check_nonce(nonce).map_err(|r| invalid_answer("nonce", r))?;
    let time_stamp =
        text("time_stamp").ok_or_else(|| invalid_answer("time_stamp", "is missing"))?;
    check_time(time_stamp).map_err(|r| invalid_answer("time_stamp", r))?;
    let enc_key_algorithm = text("enc_key_algorithm").map(str::to_string);
    if let Some(a) = &enc_key_algorithm {
        if !a.eq_ignore_ascii_case("x25519") {
            return Err(invalid_answer(
                "enc_key_algorithm",
                "is not x25519, the only one supported",
            ));
        }
    }
    Ok(Challenge {
        nonce: nonce.to_string(),
        time_stamp: time_stamp.to_string(),
        enc_key_algorithm,
        transaction_id: value.get("transaction_id").map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }),
    })
}

// ---------------------------------------------------------------------------------------
// Synchronize (section 6)

/// The fresh ephemeral X25519 key of one synchronization (wiped on drop). A new one for
/// every synchronization; the service keeps it only until the answer is decrypted.
pub struct SyncKey {
    secret: x25519_dalek::StaticSecret,
}

impl std::fmt::Debug for SyncKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SyncKey(<redacted>)")
    }
}

impl SyncKey {
    /// A new key from the OS CSPRNG.
    pub fn generate() -> Self {
        Self {
            secret: x25519_dalek::StaticSecret::random_from_rng(rand::rngs::OsRng),
        }
    }

    /// A key from its 32 raw bytes (tests, or a service that keeps it across the lock).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self {
            secret: x25519_dalek::StaticSecret::from(bytes),
        }
    }

    /// `public_enc_key_client`: base64 (standard, padded, 44 characters) of the raw
    /// 32-byte public key, not PEM.
    pub fn public_b64(&self) -> String {
        data_encoding::BASE64.encode(x25519_dalek::PublicKey::from(&self.secret).as_bytes())
    }

    /// The raw X25519 shared secret with the server key: the AES-256 key itself (6.4).
    fn shared(&self, server_public: [u8; 32]) -> Result<Zeroizing<[u8; 32]>> {
        let shared = self
            .secret
            .diffie_hellman(&x25519_dalek::PublicKey::from(server_public));
        if !shared.was_contributory() {
            return Err(invalid_answer(
                "public_server_key",
                "is a low-order point (no shared secret)",
            ));
        }
        Ok(Zeroizing::new(*shared.as_bytes()))
    }
}

/// A token the phone reports in `container_dict_client` (6.1).
#[derive(Clone, PartialEq, Eq)]
pub enum ReportedToken {
    /// A token whose serial the phone knows.
    Serial {
        /// privacyIDEA serial.
        serial: String,
        /// `hotp`, `totp`, `push`, `daypassword`, ...
        tokentype: String,
    },
    /// A token without a serial, identified by two consecutive OTP values.
    Otp {
        /// `hotp` or `totp`.
        tokentype: String,
        /// Two consecutive codes.
        otp: [String; 2],
        /// HOTP counter to start the search at.
        counter: Option<u64>,
    },
}

impl std::fmt::Debug for ReportedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Serial { serial, tokentype } => f
                .debug_struct("Serial")
                .field("serial", serial)
                .field("tokentype", tokentype)
                .finish(),
            Self::Otp { tokentype, .. } => f
                .debug_struct("Otp")
                .field("tokentype", tokentype)
                .field("otp", &"<redacted>")
                .finish_non_exhaustive(),
        }
    }
}

/// One entry of `tokens`, serialized with the field order the app uses.
#[derive(Serialize)]
struct DictEntry<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    serial: Option<&'a str>,
    tokentype: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    otp: Option<&'a [String; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    counter: Option<u64>,
}

#[derive(Serialize)]
struct Dict<'a> {
    container_serial: &'a str,
    #[serde(rename = "type")]
    container_type: &'a str,
    tokens: Vec<DictEntry<'a>>,
}

/// `container_dict_client`: compact JSON
/// `{"container_serial":…,"type":"smartphone","tokens":[{"serial":…,"tokentype":…}]}`.
/// Built once and used as it is for both the signed string and the field (pitfall 7).
/// Wiped on drop: OTP entries hold codes.
pub fn container_dict_client(serial: &str, tokens: &[ReportedToken]) -> Result<Zeroizing<String>> {
    let dict = Dict {
        container_serial: serial,
        container_type: CONTAINER_TYPE,
        tokens: tokens
            .iter()
            .map(|t| match t {
                ReportedToken::Serial { serial, tokentype } => DictEntry {
                    serial: Some(serial),
                    tokentype,
                    otp: None,
                    counter: None,
                },
                ReportedToken::Otp {
                    tokentype,
                    otp,
                    counter,
                } => DictEntry {
                    serial: None,
                    tokentype,
                    otp: Some(otp),
                    counter: *counter,
                },
            })
            .collect(),
    };
    serde_json::to_string(&dict)
        .map(Zeroizing::new)
        .map_err(|_| Error::Internal("container_dict_client encoding".into()))
}

/// The signed string of `/container/synchronize` (6.2):
/// `nonce|time_stamp|serial|scope|public_enc_key_client|container_dict_client`.
pub fn sync_message(
    server: &ContainerServer,
    challenge: &Challenge,
    public_enc_key_client: &str,
    dict: &str,
) -> Zeroizing<String> {
    let scope = endpoint(&server.server_url, Operation::Synchronize);
    let mut m = Zeroizing::new(signed_base(
        &challenge.nonce,
        &challenge.time_stamp,
        &server.serial,
        &scope,
    ));
    m.push('|');
    m.push_str(public_enc_key_client);
    m.push('|');
    m.push_str(dict);
    m
}

/// The synchronize request (6.1): `container_serial`, `public_enc_key_client`,
/// `container_dict_client`, `signature`.
pub fn sync_request(
    server: &ContainerServer,
    challenge: &Challenge,
    key: &ContainerKey,
    sync_key: &SyncKey,
    tokens: &[ReportedToken],
) -> Result<ContainerRequest> {
    let public = sync_key.public_b64();
    let dict = container_dict_client(&server.serial, tokens)?;
    let signature = key.sign(&sync_message(server, challenge, &public, &dict))?;
    Ok(ContainerRequest {
        url: endpoint(&server.server_url, Operation::Synchronize),
        verify_tls: server.tls_verify,
        fields: vec![
            ("container_serial", server.serial.clone()),
            ("public_enc_key_client", public),
            ("container_dict_client", dict.to_string()),
            ("signature", signature),
        ],
    })
}

/// The four client policies (section 10). Each reads as the server enforces it: JSON
/// `false` or a missing key is off, ANY other value (`true`, `"True"`, `"False"`, …) is on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientPolicies {
    /// `container_client_rollover`: transfer to a new phone is offered.
    pub client_rollover: bool,
    /// `disable_client_container_unregister`: the user cannot unregister.
    pub disable_unregister: bool,
    /// `disable_client_token_deletion`: the user cannot delete container accounts.
    pub disable_token_deletion: bool,
    /// `initially_add_tokens_to_container`: local tokens are offered at the first sync.
    pub initially_add_tokens: bool,
}

impl ClientPolicies {
    /// Reads `value.policies`; a missing object means all off.
    pub fn from_value(policies: Option<&Value>) -> Self {
        let on = |k: &str| {
            policies
                .and_then(|p| p.get(k))
                .is_some_and(|v| *v != Value::Bool(false))
        };
        Self {
            client_rollover: on("container_client_rollover"),
            disable_unregister: on("disable_client_container_unregister"),
            disable_token_deletion: on("disable_client_token_deletion"),
            initially_add_tokens: on("initially_add_tokens_to_container"),
        }
    }
}

/// The container as the decrypted answer describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SyncContainer {
    /// Container serial.
    pub serial: String,
    /// Container type (`smartphone`).
    #[serde(rename = "type", default)]
    pub container_type: String,
}

/// A reported token the server keeps (`tokens.update`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SyncUpdate {
    /// Serial (for an OTP-identified token, the one to store).
    pub serial: String,
    /// Token type, lower case.
    #[serde(default)]
    pub tokentype: String,
    /// An offline token.
    #[serde(default)]
    pub offline: bool,
    /// HOTP: the server's next counter; TOTP: the last time step; absent for offline.
    #[serde(default)]
    pub counter: Option<u64>,
    /// The OTP values echoed back for a token the phone identified by OTP.
    #[serde(default)]
    pub otp: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct PlainTokens {
    #[serde(default)]
    add: Vec<String>,
    #[serde(default)]
    update: Vec<SyncUpdate>,
    #[serde(default)]
    offline: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct Plain {
    container: SyncContainer,
    tokens: PlainTokens,
}

/// A decrypted synchronization answer. `Debug` counts the `add` links but does not show
/// them (they carry fresh token secrets).
pub struct SyncAnswer {
    /// The container the answer is for.
    pub container: SyncContainer,
    /// Enrollment links (`otpauth://…`), each a newly renewed token (wiped on drop).
    pub add: Vec<Zeroizing<String>>,
    /// Reported tokens the server keeps.
    pub update: Vec<SyncUpdate>,
    /// First sync after a transfer only: offline tokens that could not be transferred.
    pub offline: Option<Vec<String>>,
    /// The client policies (clear text in the answer).
    pub policies: ClientPolicies,
    /// `server_url` (clear text), if sent.
    pub server_url: Option<String>,
}

impl std::fmt::Debug for SyncAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncAnswer")
            .field("container", &self.container)
            .field("add", &format!("<{} links redacted>", self.add.len()))
            .field("update", &self.update)
            .field("offline", &self.offline)
            .field("policies", &self.policies)
            .field("server_url", &self.server_url)
            .finish()
    }
}

/// Decrypts `container_dict_server` (6.4): AES-256-GCM whose key is the raw X25519 shared
/// secret (no KDF), a 16-byte IV, a separate 16-byte tag, no associated data; all four
/// inputs base64url (or standard) with padding.
pub fn decrypt_sync_payload(
    sync_key: &SyncKey,
    public_server_key: &str,
    init_vector: &str,
    tag: &str,
    ciphertext: &str,
) -> Result<Zeroizing<Vec<u8>>> {
    use aes_gcm::aead::generic_array::{typenum::U16, GenericArray};
    use aes_gcm::aead::{AeadInPlace, KeyInit};
    type Aes256Gcm16 = aes_gcm::AesGcm<aes_gcm::aes::Aes256, U16>;

    let fixed = |field: &'static str, s: &str, len: usize| -> Result<Vec<u8>> {
        decode_b64_padded(s)
            .filter(|b| b.len() == len)
            .ok_or_else(|| invalid_answer(field, format!("is not {len} bytes of padded base64")))
    };
    let server_public: [u8; 32] = fixed("public_server_key", public_server_key, 32)?
        .try_into()
        .map_err(|_| invalid_answer("public_server_key", "is not 32 bytes"))?;
    let iv = fixed("init_vector", init_vector, 16)?;
    let tag = fixed("tag", tag, 16)?;
    let mut buffer = Zeroizing::new(
        decode_b64_padded(ciphertext)
            .ok_or_else(|| invalid_answer("container_dict_server", "is not padded base64"))?,
    );
    let key = sync_key.shared(server_public)?;
    let cipher = Aes256Gcm16::new(GenericArray::from_slice(key.as_slice()));
    cipher
        .decrypt_in_place_detached(
            GenericArray::from_slice(&iv),
            b"",
            buffer.as_mut_slice(),
            GenericArray::from_slice(&tag),
        )
        .map_err(|_| Error::Container(ContainerError::DecryptFailed))?;
    Ok(buffer)
}

/// The decrypted part of a synchronization answer.
pub(crate) struct DecryptedSync {
    pub(crate) container: SyncContainer,
    pub(crate) add: Vec<Zeroizing<String>>,
    pub(crate) update: Vec<SyncUpdate>,
    pub(crate) offline: Option<Vec<String>>,
}

/// Reads the decrypted plaintext (6.5) into the container, `add` and `update`.
pub(crate) fn parse_sync_plaintext(plaintext: &[u8]) -> Result<DecryptedSync> {
    let plain: Plain = serde_json::from_slice(plaintext).map_err(|_| {
        invalid_answer(
            "decrypted container_dict_server",
            "is not the expected JSON",
        )
    })?;
    let mut update = plain.tokens.update;
    for u in &mut update {
        u.tokentype.make_ascii_lowercase();
    }
    Ok(DecryptedSync {
        container: plain.container,
        add: plain.tokens.add.into_iter().map(Zeroizing::new).collect(),
        update,
        offline: plain.tokens.offline,
    })
}

/// Reads and decrypts a synchronize answer for the container `expected_serial`.
pub fn parse_sync_answer(
    status: u16,
    body: &str,
    sync_key: &SyncKey,
    expected_serial: &str,
) -> Result<SyncAnswer> {
    let value = parse_answer(status, body, Operation::Synchronize)?;
    let text = |k: &'static str| -> Result<&str> {
        value
            .get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| invalid_answer(k, "is missing"))
    };
    let params = value.get("encryption_params");
    let param = |k: &'static str| -> Result<&str> {
        params
            .and_then(|p| p.get(k))
            .and_then(Value::as_str)
            .ok_or_else(|| invalid_answer(k, "is missing"))
    };
    for (k, expected) in [("algorithm", "AES"), ("mode", "GCM")] {
        if let Some(v) = params.and_then(|p| p.get(k)).and_then(Value::as_str) {
            if !v.eq_ignore_ascii_case(expected) {
                return Err(invalid_answer(
                    "encryption_params",
                    format!("{k} is not {expected}"),
                ));
            }
        }
    }
    let plaintext = decrypt_sync_payload(
        sync_key,
        text("public_server_key")?,
        param("init_vector")?,
        param("tag")?,
        text("container_dict_server")?,
    )?;
    let DecryptedSync {
        container,
        add,
        update,
        offline,
    } = parse_sync_plaintext(&plaintext)?;
    if container.serial != expected_serial {
        return Err(invalid_answer(
            "container serial",
            "is not this container's",
        ));
    }
    Ok(SyncAnswer {
        container,
        add,
        update,
        offline,
        policies: ClientPolicies::from_value(value.get("policies")),
        server_url: value
            .get("server_url")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

// ---------------------------------------------------------------------------------------
// Rollover (section 8) and terminate (section 9)

/// How the old phone protects the transfer link it asks for (not signed, 8.1).
#[derive(Clone, PartialEq, Eq)]
pub enum TransferProtection {
    /// No passphrase.
    None,
    /// A passphrase the user chooses: `passphrase_prompt` + `passphrase_response`.
    Passphrase {
        /// Shown on the new phone.
        prompt: String,
        /// What the user must type there (wiped on drop).
        response: Zeroizing<String>,
    },
    /// The user's user-store password (`passphrase_user`).
    UserStore,
}

impl std::fmt::Debug for TransferProtection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Passphrase { prompt, .. } => f
                .debug_struct("Passphrase")
                .field("prompt", prompt)
                .field("response", &"<redacted>")
                .finish(),
            Self::UserStore => f.write_str("UserStore"),
        }
    }
}

/// The signed string of rollover and terminate: `nonce|time_stamp|serial|scope`.
pub fn plain_message(server: &ContainerServer, challenge: &Challenge, op: Operation) -> String {
    signed_base(
        &challenge.nonce,
        &challenge.time_stamp,
        &server.serial,
        &endpoint(&server.server_url, op),
    )
}

/// The rollover request (8.1): `container_serial`, `signature`, and the transfer
/// protection fields.
pub fn rollover_request(
    server: &ContainerServer,
    challenge: &Challenge,
    key: &ContainerKey,
    protection: &TransferProtection,
) -> Result<ContainerRequest> {
    let signature = key.sign(&plain_message(server, challenge, Operation::Rollover))?;
    let mut fields = vec![
        ("container_serial", server.serial.clone()),
        ("signature", signature),
    ];
    match protection {
        TransferProtection::None => {}
        TransferProtection::Passphrase { prompt, response } => {
            if prompt.trim().is_empty() || response.is_empty() {
                return Err(Error::InvalidArgument(
                    "a transfer passphrase needs a prompt and a non-empty answer".into(),
                ));
            }
            fields.push(("passphrase_prompt", prompt.clone()));
            fields.push(("passphrase_response", response.to_string()));
        }
        TransferProtection::UserStore => fields.push(("passphrase_user", "True".into())),
    }
    Ok(ContainerRequest {
        url: endpoint(&server.server_url, Operation::Rollover),
        verify_tls: server.tls_verify,
        fields,
    })
}

/// The transfer link the rollover answer carries (`container_url.value`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferLink {
    /// The link as the server sent it, for the QR code.
    pub link: String,
    /// The same link parsed (checked to be for this container).
    pub parsed: ContainerLink,
    /// The server's QR image of the link (`container_url.img`, a PNG data URI), decoded
    /// from base64 but not yet checked to show `link` (the service does).
    pub image_png: Option<Vec<u8>>,
}

/// Reads the rollover answer: the transfer link for the new phone.
pub fn parse_rollover_answer(
    status: u16,
    body: &str,
    expected_serial: &str,
) -> Result<TransferLink> {
    let value = parse_answer(status, body, Operation::Rollover)?;
    let link = value
        .pointer("/container_url/value")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid_answer("container_url", "is missing"))?;
    let parsed = parse_container_link(link)
        .map_err(|_| invalid_answer("container_url", "is not a valid container link"))?;
    if parsed.serial != expected_serial {
        return Err(invalid_answer("container_url", "is for another container"));
    }
    let image_png = value
        .pointer("/container_url/img")
        .and_then(Value::as_str)
        .and_then(|uri| uri.strip_prefix("data:image/png;base64,"))
        .and_then(|b64| data_encoding::BASE64.decode(b64.trim().as_bytes()).ok());
    Ok(TransferLink {
        link: link.to_string(),
        parsed,
        image_png,
    })
}

/// The terminate request (9): `container_serial` and `signature`.
pub fn terminate_request(
    server: &ContainerServer,
    challenge: &Challenge,
    key: &ContainerKey,
) -> Result<ContainerRequest> {
    let signature = key.sign(&plain_message(server, challenge, Operation::Terminate))?;
    Ok(ContainerRequest {
        url: endpoint(&server.server_url, Operation::Terminate),
        verify_tls: server.tls_verify,
        fields: vec![
            ("container_serial", server.serial.clone()),
            ("signature", signature),
        ],
    })
}

/// Reads the terminate answer (`success: true`).
pub fn parse_terminate_answer(status: u16, body: &str) -> Result<()> {
    let value = parse_answer(status, body, Operation::Terminate)?;
    if value.get("success").and_then(Value::as_bool) != Some(true) {
        return Err(invalid_answer("success", "is not true"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Answers (sections 1.2 and 12)

/// Reads a privacyIDEA answer to `op`: `result.value` on HTTP 200 with `status: true`,
/// otherwise the typed error, chosen by `result.error.code` and the HTTP status (never by
/// the message text, except to tell a hidden ERR3000 from "already registered").
pub fn parse_answer(status: u16, body: &str, op: Operation) -> Result<Value> {
    let v: Option<Value> = serde_json::from_str(body).ok();
    let result = v.as_ref().and_then(|v| v.get("result"));
    let ok = result
        .and_then(|r| r.get("status"))
        .and_then(Value::as_bool)
        == Some(true);
    if status == 200 && ok {
        return result
            .and_then(|r| r.get("value"))
            .cloned()
            .ok_or_else(|| invalid_answer("result value", "is missing"));
    }
    let error = result.and_then(|r| r.get("error"));
    let code = error.and_then(|e| e.get("code")).and_then(Value::as_i64);
    let message: String = error
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .chars()
        .take(MAX_MESSAGE_LEN)
        .collect();
    let e = match (status, code) {
        (_, Some(3002)) => ContainerError::SignatureRejected,
        (_, Some(3001)) => ContainerError::NotRegistered,
        (_, Some(3000))
            if op == Operation::Finalize && !message.trim_start().starts_with("Failed") =>
        {
            ContainerError::AlreadyRegistered
        }
        (_, Some(3000)) => ContainerError::Hidden { op: op.name() },
        (_, Some(905)) => ContainerError::MissingParameter { message },
        (403, _) | (_, Some(303)) => ContainerError::PolicyRefused { message },
        (_, Some(601)) => ContainerError::UnknownContainer,
        (404, None) => ContainerError::EndpointNotFound,
        (200, _) if v.is_none() => ContainerError::InvalidAnswer {
            field: "answer",
            reason: "is not JSON".into(),
        },
        (200, _) if result.is_none() => ContainerError::InvalidAnswer {
            field: "answer",
            reason: "has no result".into(),
        },
        (status, code) => ContainerError::Server {
            status,
            code,
            message: if message.is_empty() {
                "no message".into()
            } else {
                message
            },
        },
    };
    Err(Error::Container(e))
}

/// Why a finalize was refused with ERR3002, as far as the phone can tell (the server
/// does not say): the link's time window by the phone's clock, else the passphrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalizeRejection {
    /// The link is past its `ttl` (by the phone's clock): a new link is needed.
    LinkExpired,
    /// The link asks for a passphrase and is still valid: most likely a wrong one.
    WrongPassphrase,
    /// Neither: the signature was refused for a reason the server does not tell.
    Rejected,
}

/// Classifies an ERR3002 answer to finalize for the user (a hint, not a certainty).
pub fn classify_finalize_rejection(link: &ContainerLink, now_unix: i64) -> FinalizeRejection {
    match link.expires_at() {
        Some(t) if now_unix >= t => FinalizeRejection::LinkExpired,
        _ if link.needs_passphrase() => FinalizeRejection::WrongPassphrase,
        _ => FinalizeRejection::Rejected,
    }
}

#[cfg(test)]
#[path = "protocol_tests.rs"]
mod tests;
