// User-facing text for core errors, in one place.
package org.authcore.app

import org.authcore.AuthenticatorException
import org.authcore.KeystoreException

/** User-facing text for core errors (the core's messages carry no secrets). */
fun describe(e: Throwable): String = when (e) {
    is AuthenticatorException.Locked -> "The app is locked."
    is AuthenticatorException.WrongPin -> "Wrong PIN. ${e.attemptsLeft} attempts left."
    is AuthenticatorException.Wiped -> "Too many wrong PINs: the vault was erased."
    is AuthenticatorException.PinRequired -> "Set an app PIN first."
    is AuthenticatorException.InvalidPin -> "Invalid PIN: ${e.reason}"
    is AuthenticatorException.InvalidEnrollment -> "Not a valid enrollment: ${e.reason}"
    is AuthenticatorException.AlreadyEnrolled -> "This account is already added."
    is AuthenticatorException.Network -> "Network error: ${e.reason}"
    is AuthenticatorException.Server -> "The server answered with an error (HTTP ${e.status})."
    is AuthenticatorException.ChallengeExpired -> "This request has expired."
    is AuthenticatorException.AlreadyAnswered -> "This request was already answered."
    is AuthenticatorException.BadSignature -> "The request's signature is not valid."
    is AuthenticatorException.NotFound -> "Not found: ${e.what}"
    is AuthenticatorException.InvalidPushMessage -> "Invalid push message: ${e.reason}"
    is AuthenticatorException.InvalidArgument -> "Invalid input: ${e.reason}"
    is AuthenticatorException.BiometricInvalidated ->
        "Biometric unlock was turned off because the enrolled biometrics changed. Use your PIN."
    is AuthenticatorException.Cancelled -> "Cancelled."
    is AuthenticatorException.NotSupported -> "Not supported: ${e.reason}"
    is AuthenticatorException.Keystore -> "Secure key storage error: ${e.reason}"
    is AuthenticatorException.Storage -> "Storage error: ${e.reason}"
    is AuthenticatorException.Internal -> "Internal error: ${e.reason}"
    is AuthenticatorException.PasswordRequired -> "This file is encrypted: enter its password."
    is AuthenticatorException.WrongPassword -> "This password does not open the file."
    is AuthenticatorException.InvalidFile -> "Cannot import this file: ${e.reason}"
    is AuthenticatorException.PassphraseRequired -> "This container QR code needs a passphrase: enter it."
    is AuthenticatorException.ContainerLinkRejected ->
        "The server refused the registration: ${e.reason}. Check the passphrase, or ask for a new QR code."
    is AuthenticatorException.ContainerNotRegistered ->
        "This container is no longer registered on its server. You can remove it and its accounts."
    is AuthenticatorException.ContainerTransferred ->
        "This container was moved to another phone. You can remove its accounts from this one."
    is AuthenticatorException.PolicyRefused -> "Not allowed by your organization's policy: ${e.reason}"
    is KeystoreException.KeyInvalidated -> "The key was invalidated: ${e.reason}"
    is KeystoreException.Unavailable -> "Secure key storage unavailable: ${e.reason}"
    is KeystoreException.Cancelled -> "Cancelled."
    else -> "Unexpected error (${e.javaClass.simpleName})."
}
