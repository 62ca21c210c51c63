// The core's device key in the iOS Keychain (this device only, readable while the iPhone is unlocked).
import AuthenticatorCore
import Foundation
import Security

/// The core's `Keystore`: a random 32-byte device key in a Keychain generic-password item,
/// `kSecAttrAccessibleWhenUnlockedThisDeviceOnly` (never in backups, never on another device).
final class KeychainKeystore: Keystore, @unchecked Sendable {
    private let service = "org.authcore.device-key"
    private let account = "device-key"
    private let lock = NSLock()

    func getOrCreateDeviceKey() throws -> Data {
        lock.lock()
        defer { lock.unlock() }
        if let existing = try read() {
            guard existing.count == 32 else {
                throw KeystoreError.KeyInvalidated(reason: "device key has the wrong size")
            }
            return existing
        }
        var key = Data(count: 32)
        let rc = key.withUnsafeMutableBytes { SecRandomCopyBytes(kSecRandomDefault, 32, $0.baseAddress!) }
        guard rc == errSecSuccess else {
            throw KeystoreError.Unavailable(reason: "SecRandomCopyBytes failed (\(rc))")
        }
        var attributes = baseQuery()
        attributes[kSecAttrAccessible as String] = kSecAttrAccessibleWhenUnlockedThisDeviceOnly
        attributes[kSecValueData as String] = key
        let status = SecItemAdd(attributes as CFDictionary, nil)
        switch status {
        case errSecSuccess:
            return key
        case errSecDuplicateItem:
            if let existing = try read(), existing.count == 32 { return existing }
            throw KeystoreError.KeyInvalidated(reason: "device key unreadable")
        default:
            throw Self.error(status)
        }
    }

    func deleteDeviceKey() throws {
        lock.lock()
        defer { lock.unlock() }
        let status = SecItemDelete(baseQuery() as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else { throw Self.error(status) }
    }

    private func baseQuery() -> [String: Any] {
        [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: account,
        ]
    }

    private func read() throws -> Data? {
        var query = baseQuery()
        query[kSecReturnData as String] = true
        query[kSecMatchLimit as String] = kSecMatchLimitOne
        var item: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &item)
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

    private static func error(_ status: OSStatus) -> KeystoreError {
        if status == errSecInteractionNotAllowed {
            // Before first unlock / while the device is locked.
            return .Unavailable(reason: "keychain not accessible while the device is locked")
        }
        let text = (SecCopyErrorMessageString(status, nil) as String?) ?? "OSStatus \(status)"
        return .Unavailable(reason: text)
    }
}
