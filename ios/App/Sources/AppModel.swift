import AuthenticatorCore
import Foundation
import UIKit

/// What a confirmed enrollment adds: a link (QR text, deep link, pasted) or image bytes.
enum EnrollmentSource {
    case link(String)
    case image(Data)
}

struct PendingEnrollment {
    let source: EnrollmentSource
    let preview: EnrollmentPreview
}

enum Sheet: String, Identifiable {
    case add, push, settings, enrollment
    var id: String { rawValue }
}

/// UI state and the single `Authenticator`. Every core call runs on a background queue
/// through `perform`; results are applied on the main queue. `Locked` anywhere brings
/// back the PIN screen. No security decision is taken here: the core decides.
final class AppModel: ObservableObject {
    static let shared = AppModel()

    @Published private(set) var lockState: LockState?
    @Published private(set) var accounts: [Account] = []
    @Published private(set) var codes: [String: Code] = [:]
    @Published private(set) var challenges: [PushChallenge] = []
    @Published private(set) var busy = false
    @Published private(set) var refreshing = false
    @Published private(set) var enrollment: PendingEnrollment?
    @Published var highlightedChallenge: String?
    @Published var sheet: Sheet?
    @Published var message: String?
    @Published var pinError: String?

    private let queue = DispatchQueue(label: "org.authcore.core", qos: .userInitiated, attributes: .concurrent)
    private let openLock = NSLock()
    private var instance: Authenticator?
    private var pendingLink: String?
    private var ticking = false

    private init() {
        refreshLock()
    }

    // MARK: - Core access

    /// Opens the vault once (Application Support/vault.sqlite3, excluded from backups).
    func core() throws -> Authenticator {
        openLock.lock()
        defer { openLock.unlock() }
        if let instance = instance { return instance }
        let fm = FileManager.default
        var dir = try fm.url(for: .applicationSupportDirectory, in: .userDomainMask, appropriateFor: nil, create: true)
        var values = URLResourceValues()
        values.isExcludedFromBackup = true
        try? dir.setResourceValues(values)
        let path = dir.appendingPathComponent("vault.sqlite3").path
        // `open` is a named constructor: a static func in Swift.
        let opened = try Authenticator.open(dbPath: path, keystore: KeychainKeystore())
        instance = opened
        return opened
    }

    /// Runs `work` off the main thread. `Locked` and `Wiped` are handled here (PIN screen,
    /// start over) unless `interceptLock` is false; every other error goes to `onError`.
    func perform<T>(
        _ work: @escaping (Authenticator) throws -> T,
        interceptLock: Bool = true,
        onError: ((Error) -> Void)? = nil,
        onDone: (() -> Void)? = nil,
        onResult: @escaping (T) -> Void
    ) {
        queue.async {
            let outcome = Result<T, Error>(catching: { try work(try self.core()) })
            DispatchQueue.main.async {
                onDone?()
                switch outcome {
                case .success(let value):
                    onResult(value)
                case .failure(let error):
                    if !interceptLock, let onError = onError {
                        onError(error)
                    } else if let coreError = error as? AuthenticatorError, case .Locked = coreError {
                        self.refreshLock()
                    } else if let coreError = error as? AuthenticatorError, case .Wiped = coreError {
                        self.onWiped()
                    } else if let onError = onError {
                        onError(error)
                    } else {
                        self.message = describe(error)
                    }
                }
            }
        }
    }

    // MARK: - Lock

    func refreshLock() {
        perform({ try $0.lockState() }) { self.apply($0) }
    }

    private func apply(_ state: LockState) {
        let wasLocked = lockState?.locked
        lockState = state
        if state.wiped {
            onWiped()
        } else if state.locked {
            codes = [:]
            sheet = nil
        } else if wasLocked != false {
            loadAccounts()
            if let link = pendingLink {
                pendingLink = nil
                startEnrollment(link: link)
            }
        }
    }

    func unlock(pin: String) {
        busy = true
        perform({ core -> LockState in
            try core.unlock(pin: pin)
            return try core.lockState()
        }, onError: { self.pinError = describe($0) }, onDone: { self.busy = false }) {
            self.pinError = nil
            self.apply($0)
        }
    }

    /// iOS shows the Face ID / Touch ID prompt itself while `unwrap` runs on the worker queue.
    func unlockWithBiometric() {
        busy = true
        perform({ core -> LockState in
            try core.unlockWithBiometric(key: SecureEnclaveBiometricKey())
            return try core.lockState()
        }, onError: { error in
            if let coreError = error as? AuthenticatorError, case .Cancelled = coreError {
                self.pinError = nil
            } else {
                self.pinError = describe(error)
            }
            self.refreshLock()
        }, onDone: { self.busy = false }) {
            self.pinError = nil
            self.apply($0)
        }
    }

    private func onWiped() {
        message = "Too many wrong PINs: the vault was erased. You can add your accounts again."
        perform({ core -> LockState in
            try core.startOver()
            try? SecureEnclaveBiometricKey.deleteStoredKey()
            return try core.lockState()
        }) { state in
            self.accounts = []
            self.codes = [:]
            self.challenges = []
            self.sheet = nil
            self.lockState = state
        }
    }

    func lockNow() {
        perform({ core -> LockState in
            try core.lock()
            return try core.lockState()
        }) { self.apply($0) }
    }

    func reportActivity() {
        queue.async { try? self.core().reportActivity() }
    }

    func setPin(_ pin: String) {
        perform({ core -> LockState in
            try core.setPin(newPin: pin)
            return try core.lockState()
        }) {
            self.lockState = $0
            self.message = "PIN set."
        }
    }

    func changePin(old: String, new: String) {
        perform({ core -> LockState in
            try core.changePin(oldPin: old, newPin: new)
            return try core.lockState()
        }) {
            self.lockState = $0
            self.message = "PIN changed."
        }
    }

    func removePin(_ pin: String) {
        perform({ core -> LockState in
            try core.removePin(pin: pin)
            return try core.lockState()
        }) {
            self.lockState = $0
            self.message = "PIN removed."
        }
    }

    /// Confirms presence once with LocalAuthentication, then lets the core wrap its key
    /// with a fresh Secure Enclave key (wrapping uses the public key: no second prompt).
    func enableBiometric() {
        BiometricGate.confirm(reason: "Enable Face ID / Touch ID unlock") { ok in
            guard ok else { return }
            self.perform({ core -> LockState in
                let key = try SecureEnclaveBiometricKey.create()
                try core.enableBiometricUnlock(key: key)
                return try core.lockState()
            }) {
                self.lockState = $0
                self.message = "Biometric unlock enabled."
            }
        }
    }

    func disableBiometric() {
        perform({ core -> LockState in
            try core.disableBiometricUnlock()
            try? SecureEnclaveBiometricKey.deleteStoredKey()
            return try core.lockState()
        }) { self.lockState = $0 }
    }

    // MARK: - Accounts and codes

    func loadAccounts() {
        perform({ try $0.listAccounts() }) { list in
            self.accounts = list
            let ids = Set(list.map { $0.id })
            self.codes = self.codes.filter { ids.contains($0.key) }
            self.tick()
        }
    }

    /// Once a second: lock state (idle timeout) and fresh TOTP/Steam codes. HOTP on demand only.
    func tick() {
        guard !ticking else { return }
        ticking = true
        let timed = accounts.filter { $0.kind == .totp || $0.kind == .steam }
        perform({ core -> (LockState, [String: Code]) in
            let state = try core.lockState()
            var fresh: [String: Code] = [:]
            if !state.locked {
                for account in timed { fresh[account.id] = try core.code(accountId: account.id) }
            }
            return (state, fresh)
        }, onDone: { self.ticking = false }) { result in
            let (state, fresh) = result
            if state.locked != self.lockState?.locked || state.wiped {
                self.apply(state)
            } else {
                self.lockState = state
            }
            self.codes.merge(fresh) { _, new in new }
        }
    }

    /// HOTP: the core commits the counter before returning the code.
    func nextHotp(accountId: String) {
        perform({ try $0.code(accountId: accountId) }) { self.codes[accountId] = $0 }
    }

    func rename(accountId: String, to name: String) {
        perform({ try $0.renameAccount(accountId: accountId, newName: name) }) { self.loadAccounts() }
    }

    func delete(accountId: String) {
        perform({ try $0.deleteAccount(accountId: accountId) }) { self.loadAccounts() }
    }

    // MARK: - Enrollment

    /// Links (deep link, QR text, pasted) are only previewed; adding needs the user's confirmation.
    func startEnrollment(link: String) {
        guard lockState?.locked == false else {
            pendingLink = link
            return
        }
        perform({ try $0.preview(link: link) }) { preview in
            self.enrollment = PendingEnrollment(source: .link(link), preview: preview)
            self.sheet = .enrollment
        }
    }

    func startImageEnrollment(_ png: Data) {
        perform({ try $0.previewQrImage(image: png) }) { preview in
            self.enrollment = PendingEnrollment(source: .image(png), preview: preview)
            self.sheet = .enrollment
        }
    }

    /// `newPin` when the preview requires a PIN and none is set.
    func confirmEnrollment(newPin: String?) {
        guard let pending = enrollment else { return }
        busy = true
        perform({ core -> EnrollmentResult in
            switch pending.source {
            case .link(let link):
                if let pin = newPin { return try core.addWithPin(link: link, newPin: pin) }
                return try core.add(link: link)
            case .image(let bytes):
                // No add_qr_image_with_pin in the API: set the PIN first.
                if let pin = newPin { try core.setPin(newPin: pin) }
                return try core.addQrImage(image: bytes)
            }
        }, onDone: { self.busy = false }) { result in
            self.enrollment = nil
            self.sheet = nil
            let names = result.accounts.map { $0.issuer.isEmpty ? $0.name : $0.issuer }.joined(separator: ", ")
            self.message = (["Added: \(names)"] + result.warnings).joined(separator: "\n")
            self.refreshLock()
            self.loadAccounts()
        }
    }

    func cancelEnrollment() {
        enrollment = nil
        if sheet == .enrollment { sheet = nil }
    }

    // MARK: - Push

    /// APNs token, as lowercase hex. A changed token is rotated on every server
    /// (`updatePushServiceToken`); an unchanged one is only stored for new enrollments.
    func pushTokenReceived(_ token: String) {
        let key = "org.authcore.pushServiceToken"
        let previous = UserDefaults.standard.string(forKey: key)
        perform({ core -> [TokenUpdateResult] in
            if previous == nil || previous == token {
                try core.setPushServiceToken(token: token)
                return []
            }
            return try core.updatePushServiceToken(token: token)
        }, onError: { error in
            NSLog("push token: %@", describe(error))
        }) { results in
            UserDefaults.standard.set(token, forKey: key)
            for failed in results where !failed.ok {
                NSLog("push token update failed for %@: %@", failed.serial, failed.error ?? "")
            }
        }
    }

    func openPush(challengeId: String? = nil) {
        highlightedChallenge = challengeId
        sheet = .push
        loadPending()
    }

    func loadPending() {
        perform({ try $0.pendingChallenges() }) { self.challenges = $0 }
    }

    /// "Check for requests": polls every push token's server.
    func poll(completion: (() -> Void)? = nil) {
        refreshing = true
        perform({ try $0.pollChallenges() }, onDone: {
            self.refreshing = false
            completion?()
        }) { self.challenges = $0 }
    }

    func answer(_ challenge: PushChallenge, accept: Bool, presenceAnswer: String? = nil, declineReason: String? = nil) {
        busy = true
        perform({ core -> PushAnswerResult in
            if accept {
                return try core.approve(challengeId: challenge.id, presenceAnswer: presenceAnswer)
            }
            return try core.decline(challengeId: challenge.id, reason: declineReason)
        }, onDone: { self.busy = false }) { result in
            PushNotifications.removeDelivered(challengeId: challenge.id)
            self.message = PushNotifications.resultText(result, approved: accept)
            self.loadPending()
        }
    }

    // MARK: - Links

    func handle(url: URL) {
        guard let scheme = url.scheme?.lowercased(), scheme == "otpauth" || scheme == "pia" else { return }
        startEnrollment(link: url.absoluteString)
    }
}

/// User-facing text for core errors (the core's messages carry no secrets).
func describe(_ error: Error) -> String {
    if let error = error as? AuthenticatorError {
        switch error {
        case .Locked: return "The app is locked."
        case .WrongPin(let attemptsLeft): return "Wrong PIN. \(attemptsLeft) attempts left."
        case .Wiped: return "Too many wrong PINs: the vault was erased."
        case .PinRequired: return "Set an app PIN first."
        case .InvalidPin(let reason): return "Invalid PIN: \(reason)"
        case .InvalidEnrollment(let reason): return "Not a valid enrollment: \(reason)"
        case .AlreadyEnrolled: return "This account is already added."
        case .Network(let reason): return "Network error: \(reason)"
        case .Server(let status, _): return "The server answered with an error (HTTP \(status))."
        case .ChallengeExpired: return "This request has expired."
        case .AlreadyAnswered: return "This request was already answered."
        case .BadSignature: return "The request's signature is not valid."
        case .NotFound(let what): return "Not found: \(what)"
        case .InvalidPushMessage(let reason): return "Invalid push message: \(reason)"
        case .InvalidArgument(let reason): return "Invalid input: \(reason)"
        case .BiometricInvalidated:
            return "Biometric unlock was turned off because the enrolled biometrics changed. Use your PIN."
        case .Cancelled: return "Cancelled."
        case .Keystore(let reason): return "Secure key storage error: \(reason)"
        default: return "\(error)"
        }
    }
    if let error = error as? KeystoreError {
        switch error {
        case .Cancelled: return "Cancelled."
        case .KeyInvalidated(let reason): return "The key was invalidated: \(reason)"
        case .Unavailable(let reason): return "Secure key storage unavailable: \(reason)"
        }
    }
    return error.localizedDescription
}
