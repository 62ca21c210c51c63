// The Swift side of the core's OtpCode custom type: a one-time code whose description never shows it.

/// A one-time code (TOTP/HOTP/Steam, or a code-to-phone `displayCode`). The generated
/// records that carry one print every field in `description`; this wrapper keeps the
/// code out of logs and crash reports. Read `value` to draw it on the screen.
public struct OneTimeCode: Equatable, Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "OneTimeCode(<redacted>)" }
    public var debugDescription: String { "OneTimeCode(<redacted>)" }
}
