// Face ID / Touch ID for the vault: the Secure Enclave key the core uses as its `BiometricKey`, and
// the LocalAuthentication check that runs first, so no prompt appears while the core holds its lock.
import AuthenticatorCore
import Foundation
import LocalAuthentication
import Security

/// The core's `BiometricKey`: a Secure Enclave P-256 key whose private half needs the
/// currently enrolled biometry (`.biometryCurrentSet`: a new fingerprint/face invalidates it).
/// `wrap` is ECIES with the public key (no prompt); `unwrap` decrypts in the Secure Enclave with
/// an `LAContext` the user has already authenticated (`BiometricGate.authenticate`), passed as
/// `kSecUseAuthenticationContext`: the key use inside the core call does not prompt again.
final class SecureEnclaveBiometricKey: BiometricKey, @unchecked Sendable {
    private static let tag = Data("org.authcore.biometric".utf8)
    private static let algorithm = SecKeyAlgorithm.eciesEncryptionCofactorVariableIVX963SHA256AESGCM
    private static let domainStateKey = "org.authcore.biometric.domainState"

    /// Already evaluated with `.deviceOwnerAuthenticationWithBiometrics`, and set to
    /// `interactionNotAllowed`, so a use that would need a new prompt fails instead.
    private let context: LAContext?

    init(context: LAContext? = nil) {
        self.context = context
    }

    /// Creates a fresh Secure Enclave key (replacing any old one); call after
    /// `BiometricGate.authenticate`, before enabling.
    static func create(context: LAContext) throws -> SecureEnclaveBiometricKey {
        try? deleteStoredKey()
        var cfError: Unmanaged<CFError>?
        guard let access = SecAccessControlCreateWithFlags(
            kCFAllocatorDefault,
            kSecAttrAccessibleWhenUnlockedThisDeviceOnly,
            [.privateKeyUsage, .biometryCurrentSet],
            &cfError
        ) else {
            throw KeystoreError.Unavailable(reason: describe(cfError))
        }
        let attributes: [String: Any] = [
            kSecAttrKeyType as String: kSecAttrKeyTypeECSECPrimeRandom,
            kSecAttrKeySizeInBits as String: 256,
            kSecAttrTokenID as String: kSecAttrTokenIDSecureEnclave,
            kSecPrivateKeyAttrs as String: [
                kSecAttrIsPermanent as String: true,
                kSecAttrApplicationTag as String: tag,
                kSecAttrAccessControl as String: access,
            ] as [String: Any],
        ]
        guard SecKeyCreateRandomKey(attributes as CFDictionary, &cfError) != nil else {
            throw KeystoreError.Unavailable(reason: describe(cfError))
        }
        UserDefaults.standard.set(context.evaluatedPolicyDomainState ?? currentDomainState(), forKey: domainStateKey)
        return SecureEnclaveBiometricKey(context: context)
    }

    /// Whether Face ID / Touch ID is enrolled and usable.
    static var isAvailable: Bool {
        LAContext().canEvaluatePolicy(.deviceOwnerAuthenticationWithBiometrics, error: nil)
    }

    func wrap(plaintext: Data) throws -> Data {
        let privateKey = try Self.loadPrivateKey(context: nil)
        guard let publicKey = SecKeyCopyPublicKey(privateKey) else {
            throw KeystoreError.Unavailable(reason: "no public key")
        }
        var cfError: Unmanaged<CFError>?
        guard let sealed = SecKeyCreateEncryptedData(publicKey, Self.algorithm, plaintext as CFData, &cfError) else {
            throw KeystoreError.Unavailable(reason: Self.describe(cfError))
        }
        return sealed as Data
    }

    func unwrap(ciphertext: Data) throws -> Data {
        guard let context = context else {
            // Never prompt from inside a core call: authenticate first (BiometricGate).
            throw KeystoreError.Unavailable(reason: "Face ID / Touch ID was not confirmed first")
        }
        if let enrolled = UserDefaults.standard.data(forKey: Self.domainStateKey),
           let current = context.evaluatedPolicyDomainState ?? Self.currentDomainState(), enrolled != current {
            throw KeystoreError.KeyInvalidated(reason: "biometric enrollment changed")
        }
        let privateKey = try Self.loadPrivateKey(context: context)
        var cfError: Unmanaged<CFError>?
        guard let plain = SecKeyCreateDecryptedData(privateKey, Self.algorithm, ciphertext as CFData, &cfError) else {
            throw Self.map(cfError)
        }
        return plain as Data
    }

    func deleteKey() throws {
        try Self.deleteStoredKey()
    }

    static func deleteStoredKey() throws {
        UserDefaults.standard.removeObject(forKey: domainStateKey)
        let query: [String: Any] = [
            kSecClass as String: kSecClassKey,
            kSecAttrApplicationTag as String: tag,
            kSecAttrKeyType as String: kSecAttrKeyTypeECSECPrimeRandom,
        ]
        let status = SecItemDelete(query as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else {
            throw KeystoreError.Unavailable(reason: "SecItemDelete failed (\(status))")
        }
    }

    private static func loadPrivateKey(context: LAContext?) throws -> SecKey {
        var query: [String: Any] = [
            kSecClass as String: kSecClassKey,
            kSecAttrApplicationTag as String: tag,
            kSecAttrKeyType as String: kSecAttrKeyTypeECSECPrimeRandom,
            kSecReturnRef as String: true,
        ]
        if let context = context {
            query[kSecUseAuthenticationContext as String] = context
        }
        var item: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &item)
        switch status {
        case errSecSuccess:
            // swiftlint:disable:next force_cast
            return item as! SecKey
        case errSecItemNotFound:
            throw KeystoreError.KeyInvalidated(reason: "biometric key missing")
        case errSecUserCanceled:
            throw KeystoreError.Cancelled
        case errSecInteractionNotAllowed:
            throw KeystoreError.Unavailable(reason: "Face ID / Touch ID must be confirmed again")
        default:
            throw KeystoreError.Unavailable(reason: "SecItemCopyMatching failed (\(status))")
        }
    }

    private static func currentDomainState() -> Data? {
        let context = LAContext()
        _ = context.canEvaluatePolicy(.deviceOwnerAuthenticationWithBiometrics, error: nil)
        return context.evaluatedPolicyDomainState
    }

    private static func map(_ cfError: Unmanaged<CFError>?) -> KeystoreError {
        guard let error = cfError?.takeRetainedValue() else {
            return .Unavailable(reason: "decryption failed")
        }
        let nsError = error as Error as NSError
        if nsError.domain == LAErrorDomain, let code = LAError.Code(rawValue: nsError.code) {
            switch code {
            case .userCancel, .systemCancel, .appCancel, .userFallback, .authenticationFailed:
                return .Cancelled
            case .biometryNotEnrolled:
                return .KeyInvalidated(reason: "no biometry enrolled")
            case .notInteractive:
                return .Unavailable(reason: "Face ID / Touch ID must be confirmed again")
            default:
                return .Unavailable(reason: nsError.localizedDescription)
            }
        }
        if nsError.domain == NSOSStatusErrorDomain {
            switch OSStatus(nsError.code) {
            case errSecUserCanceled: return .Cancelled
            case errSecItemNotFound: return .KeyInvalidated(reason: "biometric key missing")
            case errSecInteractionNotAllowed: return .Unavailable(reason: "Face ID / Touch ID must be confirmed again")
            default: break
            }
        }
        return .Unavailable(reason: nsError.localizedDescription)
    }

    private static func describe(_ cfError: Unmanaged<CFError>?) -> String {
        guard let error = cfError?.takeRetainedValue() else { return "unknown error" }
        return (error as Error).localizedDescription
    }
}

/// What one LocalAuthentication check gave.
enum BiometricOutcome {
    /// The user passed Face ID / Touch ID; the context can be used once more without a prompt.
    case authenticated(LAContext)
    case cancelled
    case failed(String)
}

/// LAContext.evaluatePolicy(.deviceOwnerAuthenticationWithBiometrics) on the main flow, before any
/// core call: the prompt never shows while the core's worker holds its lock.
enum BiometricGate {
    static func authenticate(reason: String, completion: @escaping (BiometricOutcome) -> Void) {
        let context = LAContext()
        var error: NSError?
        guard context.canEvaluatePolicy(.deviceOwnerAuthenticationWithBiometrics, error: &error) else {
            return completion(.failed("Face ID / Touch ID is not available."))
        }
        context.evaluatePolicy(.deviceOwnerAuthenticationWithBiometrics, localizedReason: reason) { ok, evaluationError in
            DispatchQueue.main.async {
                if ok {
                    // Already authenticated: a keychain use with this context proceeds without
                    // asking again (kSecUseAuthenticationContext); anything that would ask fails.
                    context.interactionNotAllowed = true
                    completion(.authenticated(context))
                } else if let laError = evaluationError as? LAError,
                          [.userCancel, .systemCancel, .appCancel, .userFallback].contains(laError.code) {
                    completion(.cancelled)
                } else {
                    completion(.failed(evaluationError?.localizedDescription ?? "Face ID / Touch ID failed."))
                }
            }
        }
    }
}
