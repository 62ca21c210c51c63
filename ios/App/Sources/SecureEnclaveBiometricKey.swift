import AuthenticatorCore
import Foundation
import LocalAuthentication
import Security

/// The core's `BiometricKey`: a Secure Enclave P-256 key whose private half needs the
/// currently enrolled biometry (`.biometryCurrentSet`: a new fingerprint/face invalidates it).
/// `wrap` is ECIES with the public key (no prompt); `unwrap` decrypts in the Secure Enclave,
/// and iOS shows the Face ID / Touch ID prompt itself while the core's worker thread waits.
final class SecureEnclaveBiometricKey: BiometricKey, @unchecked Sendable {
    private static let tag = Data("org.authcore.biometric".utf8)
    private static let algorithm = SecKeyAlgorithm.eciesEncryptionCofactorVariableIVX963SHA256AESGCM
    private static let domainStateKey = "org.authcore.biometric.domainState"

    private let prompt: String

    init(prompt: String = "Unlock Authenticator") {
        self.prompt = prompt
    }

    /// Creates a fresh Secure Enclave key (replacing any old one); call before enabling.
    static func create() throws -> SecureEnclaveBiometricKey {
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
        UserDefaults.standard.set(currentDomainState(), forKey: domainStateKey)
        return SecureEnclaveBiometricKey()
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
        if let enrolled = UserDefaults.standard.data(forKey: Self.domainStateKey),
           let current = Self.currentDomainState(), enrolled != current {
            throw KeystoreError.KeyInvalidated(reason: "biometric enrollment changed")
        }
        let context = LAContext()
        context.localizedReason = prompt
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
            default:
                return .Unavailable(reason: nsError.localizedDescription)
            }
        }
        if nsError.domain == NSOSStatusErrorDomain {
            switch OSStatus(nsError.code) {
            case errSecUserCanceled: return .Cancelled
            case errSecItemNotFound: return .KeyInvalidated(reason: "biometric key missing")
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
