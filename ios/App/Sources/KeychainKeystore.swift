// The core's Keystore on iOS: a Secure Enclave P-256 key-agreement key does the ECDH of the PIN's PRF; its private key never leaves the Secure Enclave.
import AuthenticatorCore
import CryptoKit
import Foundation
import Security

/// The core's `Keystore` (kind `p256Ecdh`): the Secure Enclave holds no symmetric keys,
/// so the core hashes each input to a P-256 point (RFC 9380), blinds it, and asks this
/// keystore only for ECDH between its Secure Enclave key and that point; the core
/// unblinds and finishes the PRF. Every PIN check needs this key, so the vault file and
/// anything else copied off the phone are useless for guessing the PIN elsewhere.
///
/// The key is not bound to user presence (a push must be verifiable while the app is
/// locked); it is usable after the first unlock since boot, on this device only.
/// Without a Secure Enclave (the simulator) a software CryptoKit key in the Keychain
/// does the same and the protection says `software`.
///
/// Platform documentation followed:
/// - `SecureEnclave.P256.KeyAgreement.PrivateKey(compactRepresentable:accessControl:)`,
///   `dataRepresentation` / `init(dataRepresentation:)`, `sharedSecretFromKeyAgreement(with:)`
///   (CryptoKit, iOS 13+: https://developer.apple.com/documentation/cryptokit/secureenclave/p256/keyagreement/privatekey).
/// - `SecureEnclave.isAvailable` (https://developer.apple.com/documentation/cryptokit/secureenclave/isavailable).
/// - Keeping a Secure Enclave key's `dataRepresentation` (an encrypted blob only this
///   device's Secure Enclave can use) as a generic-password Keychain item: "Storing
///   CryptoKit Keys in the Keychain" (https://developer.apple.com/documentation/cryptokit/storing-cryptokit-keys-in-the-keychain).
/// - `P256.KeyAgreement.PublicKey(x963Representation:)` checks the core's point is on the curve;
///   `SharedSecret` is the x-coordinate (32 bytes).
///
/// Before schema 7 the core got a raw 32-byte device key from the item
/// `org.authcore.device-key` / `device-key`; `legacyDeviceKey` still reads it for the
/// one re-key, `deleteLegacyDeviceKey` removes it.
final class KeychainKeystore: Keystore, @unchecked Sendable {
    private let service = "org.authcore.device-prf-key"
    private let enclaveAccount = "secure-enclave-p256"
    private let softwareAccount = "software-p256"
    private let legacyService = "org.authcore.device-key"
    private let legacyAccount = "device-key"
    private let lock = NSLock()

    private enum Key {
        case enclave(SecureEnclave.P256.KeyAgreement.PrivateKey)
        case software(P256.KeyAgreement.PrivateKey)
    }

    func deviceKeyInfo() throws -> DeviceKeyInfo {
        lock.lock()
        defer { lock.unlock() }
        switch try key() {
        case .enclave: return DeviceKeyInfo(kind: .p256Ecdh, protection: .secureEnclave)
        case .software: return DeviceKeyInfo(kind: .p256Ecdh, protection: .software)
        }
    }

    func prf(input: Data) throws -> Data {
        lock.lock()
        defer { lock.unlock() }
        let point: P256.KeyAgreement.PublicKey
        do {
            point = try P256.KeyAgreement.PublicKey(x963Representation: input)
        } catch {
            throw KeystoreError.Unavailable(reason: "the core's point is not on P-256")
        }
        let shared: SharedSecret
        do {
            switch try key() {
            case .enclave(let k): shared = try k.sharedSecretFromKeyAgreement(with: point)
            case .software(let k): shared = try k.sharedSecretFromKeyAgreement(with: point)
            }
        } catch let error as KeystoreError {
            throw error
        } catch {
            throw KeystoreError.Unavailable(reason: "key agreement failed")
        }
        return shared.withUnsafeBytes { Data($0) }
    }

    func deleteDeviceKey() throws {
        lock.lock()
        defer { lock.unlock() }
        try delete(service: service, account: enclaveAccount)
        try delete(service: service, account: softwareAccount)
    }

    func legacyDeviceKey() throws -> Data? {
        lock.lock()
        defer { lock.unlock() }
        guard let data = try read(service: legacyService, account: legacyAccount) else { return nil }
        guard data.count == 32 else {
            throw KeystoreError.KeyInvalidated(reason: "device key has the wrong size")
        }
        return data
    }

    func deleteLegacyDeviceKey() throws {
        lock.lock()
        defer { lock.unlock() }
        try delete(service: legacyService, account: legacyAccount)
    }

    /// The stored key, or a new one: in the Secure Enclave when there is one.
    private func key() throws -> Key {
        if let blob = try read(service: service, account: enclaveAccount) {
            do {
                return .enclave(try SecureEnclave.P256.KeyAgreement.PrivateKey(dataRepresentation: blob))
            } catch {
                throw KeystoreError.KeyInvalidated(reason: "the Secure Enclave key is unusable")
            }
        }
        if let raw = try read(service: service, account: softwareAccount) {
            do {
                return .software(try P256.KeyAgreement.PrivateKey(rawRepresentation: raw))
            } catch {
                throw KeystoreError.KeyInvalidated(reason: "the device key is malformed")
            }
        }
        if SecureEnclave.isAvailable {
            var cfError: Unmanaged<CFError>?
            guard let access = SecAccessControlCreateWithFlags(
                kCFAllocatorDefault,
                kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly,
                .privateKeyUsage,
                &cfError
            ) else {
                throw KeystoreError.Unavailable(reason: "SecAccessControlCreateWithFlags failed")
            }
            let created: SecureEnclave.P256.KeyAgreement.PrivateKey
            do {
                created = try SecureEnclave.P256.KeyAgreement.PrivateKey(accessControl: access)
            } catch {
                throw KeystoreError.Unavailable(reason: "the Secure Enclave could not create a key")
            }
            try add(service: service, account: enclaveAccount, data: created.dataRepresentation)
            return .enclave(created)
        }
        let created = P256.KeyAgreement.PrivateKey()
        try add(service: service, account: softwareAccount, data: created.rawRepresentation)
        return .software(created)
    }

    private func query(service: String, account: String) -> [String: Any] {
        [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: account,
        ]
    }

    private func add(service: String, account: String, data: Data) throws {
        var attributes = query(service: service, account: account)
        attributes[kSecAttrAccessible as String] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
        attributes[kSecValueData as String] = data
        let status = SecItemAdd(attributes as CFDictionary, nil)
        guard status == errSecSuccess else { throw Self.error(status) }
    }

    private func read(service: String, account: String) throws -> Data? {
        var q = query(service: service, account: account)
        q[kSecReturnData as String] = true
        q[kSecMatchLimit as String] = kSecMatchLimitOne
        var item: CFTypeRef?
        let status = SecItemCopyMatching(q as CFDictionary, &item)
        switch status {
        case errSecSuccess:
            guard let data = item as? Data else {
                throw KeystoreError.KeyInvalidated(reason: "device key item has no data")
            }
            return data
        case errSecItemNotFound:
            return nil
        default:
            throw Self.error(status)
        }
    }

    private func delete(service: String, account: String) throws {
        let status = SecItemDelete(query(service: service, account: account) as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else { throw Self.error(status) }
    }

    private static func error(_ status: OSStatus) -> KeystoreError {
        if status == errSecInteractionNotAllowed {
            // Before the first unlock since boot.
            return .Unavailable(reason: "keychain not accessible before the first unlock")
        }
        let text = (SecCopyErrorMessageString(status, nil) as String?) ?? "OSStatus \(status)"
        return .Unavailable(reason: text)
    }
}
