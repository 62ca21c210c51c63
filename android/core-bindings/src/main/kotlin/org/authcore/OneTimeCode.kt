// The Kotlin side of the core's OtpCode custom type: a one-time code whose toString never shows it.
package org.authcore

/**
 * A one-time code (TOTP/HOTP/Steam, or a code-to-phone `displayCode`). Records that
 * carry one (`Code`, `AccountPreview`, `PushAnswerResult`) are data classes whose
 * generated `toString` would print every field; this wrapper keeps the code out of
 * logs and crash reports. Read [value] to draw it on the screen.
 */
class OneTimeCode(val value: String) {
    override fun toString(): String = "OneTimeCode(<redacted>)"
    override fun equals(other: Any?): Boolean = other is OneTimeCode && other.value == value
    override fun hashCode(): Int = value.hashCode()
}
