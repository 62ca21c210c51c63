//! Values the user must see but that no log, `Debug` output, error or foreign
//! `toString` may show: one-time codes. `OtpCode` crosses the FFI as a string and maps
//! to small wrapper types in Kotlin and Swift (see `uniffi.toml`) whose `toString` /
//! `description` are redacted too.

use zeroize::Zeroizing;

/// A one-time code (TOTP/HOTP/Steam, or a code-to-phone `display_code`): shown on the
/// screen, never printed. The text is zeroized when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpCode(Zeroizing<String>);

impl OtpCode {
    /// Wraps a code.
    pub fn new(code: String) -> Self {
        Self(Zeroizing::new(code))
    }

    /// The code itself, to draw on the screen.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Same as [`OtpCode::expose`].
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
impl OtpCode {
    /// The zeroizing container, for the hygiene tests.
    pub(crate) fn inner_for_tests(&self) -> &Zeroizing<String> {
        &self.0
    }
}

impl std::ops::Deref for OtpCode {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<String> for OtpCode {
    fn eq(&self, other: &String) -> bool {
        self.expose() == other.as_str()
    }
}

impl std::fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OtpCode(<redacted>)")
    }
}

impl PartialEq<str> for OtpCode {
    fn eq(&self, other: &str) -> bool {
        self.expose() == other
    }
}

impl PartialEq<&str> for OtpCode {
    fn eq(&self, other: &&str) -> bool {
        self.expose() == *other
    }
}

impl From<String> for OtpCode {
    fn from(s: String) -> Self {
        Self::new(s)
    }
}

uniffi::custom_type!(OtpCode, String, {
    lower: |code| code.expose().to_string(),
    try_lift: |s| Ok(OtpCode::new(s)),
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_code() {
        let c = OtpCode::new("646738".into());
        assert_eq!(format!("{c:?}"), "OtpCode(<redacted>)");
        assert!(!format!("{:?}", Some(c.clone())).contains("646738"));
        assert_eq!(c, "646738");
        assert_eq!(c.expose(), "646738");
    }
}
