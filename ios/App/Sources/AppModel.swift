// The app's single `Authenticator` and the UI state around it: every core call goes through
// `perform` off the main thread; the core takes every security decision, this only shows them.
// Also import, export, the automatic-backup trigger (after every change, and back in the foreground),
// and privacyIDEA containers (registration, sync now / due syncs, transfer link, unregister).
import AuthenticatorCore
import Combine
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

/// A file read for import, the password that opened it, and what importing it would do.
struct PendingImport {
    let data: Data
    let password: String?
    let preview: ImportPreview
}

/// A container's first synchronization waits for the user: which of `accounts` (local accounts
/// the server recognizes) it may adopt. Answered with `syncContainerAdopting`.
struct AdoptionOffer: Identifiable {
    let serial: String
    let accounts: [Account]
    /// The registration's warnings, shown with the offer.
    var notes: [String] = []
    var id: String { serial }
}

/// A transfer link on screen: a secret (whoever scans it takes the container), dropped when the
/// vault locks. `image`: the server's QR image, or one drawn by CoreImage from the link.
struct ShownTransfer: Identifiable {
    let serial: String
    let transfer: ContainerTransfer
    let image: UIImage?
    var id: String { serial }
}

enum Sheet: String, Identifiable {
    case add, push, settings, enrollment, adoption
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
    /// The app's own lock policy (Settings); the effective one is `lockState.policy`.
    @Published private(set) var appPolicy: LockPolicy?
    /// Why the last policy change was refused (e.g. an idle timeout without a PIN).
    @Published var policyNote: String?
    /// Servers that have not taken the current push service token yet (the core's queue).
    @Published private(set) var pendingTokenUpdates: [PendingTokenUpdate] = []
    @Published private(set) var retryingTokens = false
    /// Import: what the file would add, skip and refuse, shown until confirmed or cancelled.
    @Published private(set) var pendingImport: PendingImport?
    /// Export: the file for `.fileExporter` (secrets: dropped when done or when the vault locks).
    @Published var exportDocument: ExportFile?
    /// Export to Google Authenticator: the links, one per QR code.
    @Published var exportLinks: [String]?
    @Published private(set) var backupStatus: BackupStatus?
    @Published private(set) var backupFolderName: String?
    /// Why the last automatic backup could not be written (nil after a good one).
    @Published private(set) var backupProblem: String?
    @Published private(set) var containers: [Container] = []
    /// Automatic container sync interval in seconds (0 = never automatically); nil until loaded.
    @Published private(set) var containerSyncInterval: UInt64?
    /// The container whose "Synchronize now" is running.
    @Published private(set) var syncingContainer: String?
    /// The first sync's offer (the `.adoption` sheet).
    @Published var adoptionOffer: AdoptionOffer?
    /// The transfer QR (a full-screen cover on the Containers screen).
    @Published var containerTransfer: ShownTransfer?
    /// The result of the last container action, shown on the Containers screen (inside the
    /// Settings sheet, where the root alert cannot be presented).
    @Published var containerNote: String?
    /// What the last automatic container sync could not do (a banner on the Containers screen).
    @Published var containerSyncProblems: [String] = []

    private let queue = DispatchQueue(label: "org.authcore.core", qos: .userInitiated, attributes: .concurrent)
    private let openLock = NSLock()
    private var instance: Authenticator?
    private var pendingLink: String?
    /// A notification asked for a challenge while the vault was locked: show it after unlock.
    private var openPushAfterUnlock = false
    private var ticking = false
    /// The codes tick only while the codes screen is on screen and the scene is active.
    private var codesVisible = false
    private var sceneActive = true
    private var tickTimer: Timer?
    /// One automatic container sync at a time; a request during a run asks for one more run.
    private var containerSyncRunning = false
    private var containerSyncAgain = false
    private static let pushTokenKey = "org.authcore.pushServiceToken"

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
        let previous = lockState
        let wasLocked = previous?.locked
        lockState = state
        if previous?.locked != state.locked || previous?.hasPin != state.hasPin {
            PushNotifications.refreshServerCategory(vaultLocked: state.locked, pinSet: state.hasPin)
        }
        if state.wiped {
            onWiped()
        } else if state.locked {
            codes = [:]
            sheet = nil
            dropTransferSecrets()
            loadPending() // readable while locked: the PIN screen says a request is waiting
        } else if wasLocked != false {
            // Unlocked (by PIN or biometrics), or unlocked at start (no PIN).
            loadAccounts()
            retryPushTokenUpdates()
            backupAfterChange()
            syncDueContainers()
            if let link = pendingLink {
                pendingLink = nil
                startEnrollment(link: link)
            } else if openPushAfterUnlock {
                openPushAfterUnlock = false
                sheet = .push
                loadPending()
            }
        }
    }

    // MARK: - Lifecycle

    /// scenePhase became .background. Runs inside a background task so the core records it
    /// (and locks, with the default grace of 0) before iOS suspends the app.
    func appBackgrounded() {
        let task = BackgroundTaskGuard(name: "org.authcore.lock")
        perform({ core -> LockState in
            try core.appBackgrounded()
            return try core.lockState()
        }, onDone: { task.end() }) { self.apply($0) }
    }

    /// scenePhase became .active: the core locks if the background grace or the idle timeout
    /// passed (suspend-aware clock) and returns the state; `locked` shows the PIN screen.
    func appForegrounded() {
        perform({ try $0.appForegrounded() }) { state in
            self.apply(state)
            // Back on screen unlocked: write a backup that is still due, sync the containers that are due.
            if !state.locked {
                self.backupAfterChange()
                self.syncDueContainers()
            }
        }
        PushResponder.ingestDelivered()
    }

    func setSceneActive(_ active: Bool) {
        sceneActive = active
        updateTicking()
    }

    func setCodesVisible(_ visible: Bool) {
        codesVisible = visible
        updateTicking()
    }

    private func updateTicking() {
        if codesVisible && sceneActive {
            guard tickTimer == nil else { return }
            let timer = Timer(timeInterval: 1, repeats: true) { [weak self] _ in self?.tick() }
            RunLoop.main.add(timer, forMode: .common)
            tickTimer = timer
            tick()
        } else {
            tickTimer?.invalidate()
            tickTimer = nil
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

    /// Face ID / Touch ID first (LAContext.evaluatePolicy), then the core call with a key that
    /// reuses that authenticated context: no prompt while the core holds its lock.
    func unlockWithBiometric() {
        busy = true
        pinError = nil
        BiometricGate.authenticate(reason: "Unlock Authenticator") { outcome in
            switch outcome {
            case .cancelled:
                self.busy = false
            case .failed(let text):
                self.busy = false
                self.pinError = text
            case .authenticated(let context):
                self.perform({ core -> LockState in
                    try core.unlockWithBiometric(key: SecureEnclaveBiometricKey(context: context))
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
        }
    }

    private func onWiped() {
        message = "Too many wrong PINs: the vault was erased. You can add your accounts again."
        perform({ core -> LockState in
            try core.startOver()
            try? SecureEnclaveBiometricKey.deleteStoredKey()
            // The new, empty vault needs this phone's push token for its next enrollments.
            if let token = UserDefaults.standard.string(forKey: Self.pushTokenKey) {
                try? core.setPushServiceToken(token: token)
            }
            return try core.lockState()
        }) { state in
            self.accounts = []
            self.codes = [:]
            self.challenges = []
            self.pendingTokenUpdates = []
            self.containers = []
            self.adoptionOffer = nil
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
            self.apply($0)
            self.message = "PIN set."
        }
    }

    func changePin(old: String, new: String) {
        perform({ core -> LockState in
            try core.changePin(oldPin: old, newPin: new)
            return try core.lockState()
        }) {
            self.apply($0)
            self.message = "PIN changed."
        }
    }

    func removePin(_ pin: String) {
        perform({ core -> LockState in
            try core.removePin(pin: pin)
            return try core.lockState()
        }) {
            self.apply($0)
            self.message = "PIN removed."
        }
    }

    /// Confirms presence once with LocalAuthentication, then lets the core wrap its key
    /// with a fresh Secure Enclave key (wrapping uses the public key: no second prompt).
    func enableBiometric() {
        BiometricGate.authenticate(reason: "Enable Face ID / Touch ID unlock") { outcome in
            switch outcome {
            case .cancelled:
                return
            case .failed(let text):
                self.message = text
            case .authenticated(let context):
                self.perform({ core -> LockState in
                    let key = try SecureEnclaveBiometricKey.create(context: context)
                    try core.enableBiometricUnlock(key: key)
                    return try core.lockState()
                }) {
                    self.lockState = $0
                    self.message = "Biometric unlock enabled."
                }
            }
        }
    }

    // MARK: - App lock policy (Settings)

    func loadAppPolicy() {
        perform({ try $0.appPolicy() }) { self.appPolicy = $0 }
    }

    /// Changes the app's own policy; the core validates it (an idle timeout needs a PIN) and
    /// keeps the stricter server values in force.
    func updateAppPolicy(_ change: (inout LockPolicy) -> Void) {
        guard var policy = appPolicy else { return }
        change(&policy)
        let proposed = policy
        policyNote = nil
        perform({ core -> (LockPolicy, LockState) in
            try core.setAppPolicy(policy: proposed)
            let saved = try core.appPolicy()
            let state = try core.lockState()
            return (saved, state)
        }, onError: { error in
            if let coreError = error as? AuthenticatorError, case .PinRequired = coreError {
                self.policyNote = "An idle timeout only works with an app PIN. Set a PIN first."
            } else {
                self.policyNote = describe(error)
            }
            self.loadAppPolicy() // the pickers go back to what is stored
        }) { result in
            self.appPolicy = result.0
            self.apply(result.1)
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

    /// Once a second while the codes are on screen: lock state (idle timeout) and every
    /// TOTP/Steam code in one `timeCodes()` call. HOTP codes only on request.
    func tick() {
        guard !ticking else { return }
        ticking = true
        perform({ core -> (LockState, [Code]) in
            let state = try core.lockState()
            if state.locked { return (state, []) }
            let fresh = try core.timeCodes()
            return (state, fresh)
        }, onDone: { self.ticking = false }) { result in
            let (state, fresh) = result
            if state.locked != self.lockState?.locked || state.wiped {
                self.apply(state)
            } else {
                self.lockState = state
            }
            for code in fresh { self.codes[code.accountId] = code }
        }
    }

    /// HOTP: the core commits the counter before returning the code.
    func nextHotp(accountId: String) {
        perform({ try $0.code(accountId: accountId) }) {
            self.codes[accountId] = $0
            self.backupAfterChange() // the counter moved
        }
    }

    func rename(accountId: String, to name: String) {
        perform({ try $0.renameAccount(accountId: accountId, newName: name) }) {
            self.loadAccounts()
            self.backupAfterChange()
        }
    }

    func delete(accountId: String) {
        perform({ try $0.deleteAccount(accountId: accountId) }) {
            self.loadAccounts()
            self.backupAfterChange()
        }
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

    /// `newPin` when the preview requires a PIN and none is set. A container link goes to
    /// `addContainer` with the `passphrase` its prompt asked for (registration, then the first
    /// sync, unless the server offers to adopt local accounts: then the `.adoption` sheet asks).
    func confirmEnrollment(newPin: String?, passphrase: String? = nil) {
        guard let pending = enrollment else { return }
        busy = true
        perform({ core -> (EnrollmentResult, AdoptionOffer?) in
            let result: EnrollmentResult
            if pending.preview.container != nil {
                let link: String
                switch pending.source {
                case .link(let text): link = text
                case .image(let bytes): link = try decodeQrImage(image: bytes)
                }
                let given = passphrase.flatMap { $0.isEmpty ? nil : $0 }
                result = try core.addContainer(link: link, passphrase: given, newPin: newPin)
            } else {
                switch pending.source {
                case .link(let link):
                    if let pin = newPin {
                        result = try core.addWithPin(link: link, newPin: pin)
                    } else {
                        result = try core.add(link: link)
                    }
                case .image(let bytes):
                    if let pin = newPin {
                        // Decode, then set the PIN and add in one transaction.
                        let link = try decodeQrImage(image: bytes)
                        result = try core.addWithPin(link: link, newPin: pin)
                    } else {
                        result = try core.addQrImage(image: bytes)
                    }
                }
            }
            let offer = try Self.offer(core, serial: result.containerSerial, ids: result.adoptableAccountIds,
                                       notes: result.warnings)
            return (result, offer)
        }, onDone: { self.busy = false }) { outcome in
            let (result, offer) = outcome
            self.enrollment = nil
            if let offer = offer {
                // Replaces the enrollment sheet (sheet(item:) presents the new item).
                self.adoptionOffer = offer
                self.sheet = .adoption
            } else {
                self.sheet = nil
                let first: String
                if let serial = result.containerSerial {
                    first = "Registered the container \(serial): \(result.accounts.count) account(s) added."
                } else {
                    first = "Added: " + result.accounts.map { $0.issuer.isEmpty ? $0.name : $0.issuer }.joined(separator: ", ")
                }
                self.message = ([first] + result.warnings).joined(separator: "\n")
            }
            self.refreshLock()
            self.loadAccounts()
            self.backupAfterChange()
        }
    }

    /// The offer for `ids` of `serial`, with the accounts to name; nil when there is none.
    private static func offer(_ core: Authenticator, serial: String?, ids: [String], notes: [String] = []) throws -> AdoptionOffer? {
        guard let serial = serial, !ids.isEmpty else { return nil }
        var byId: [String: Account] = [:]
        for account in try core.listAccounts() { byId[account.id] = account }
        return AdoptionOffer(serial: serial, accounts: ids.compactMap { byId[$0] }, notes: notes)
    }

    func cancelEnrollment() {
        enrollment = nil
        if sheet == .enrollment { sheet = nil }
    }

    // MARK: - Import

    /// Reads a file from `.fileImporter` (a security-scoped URL, maybe in iCloud: read through
    /// NSFileCoordinator) and previews it. `askPassword` asks for the file password when the
    /// file is encrypted (`wrong`: the last one did not open it); nil cancels.
    func startImport(url: URL, askPassword: @escaping (_ wrong: Bool, _ reply: @escaping (String?) -> Void) -> Void) {
        queue.async {
            let read = Result<Data, Error> { try Self.readImportFile(url) }
            DispatchQueue.main.async {
                switch read {
                case .success(let data):
                    self.previewImport(data: data, password: nil, askPassword: askPassword)
                case .failure:
                    self.message = "Cannot read this file."
                }
            }
        }
    }

    private func previewImport(data: Data, password: String?, askPassword: @escaping (Bool, @escaping (String?) -> Void) -> Void) {
        perform({ try $0.previewImport(file: data, format: nil, password: password) }, onError: { error in
            if let coreError = error as? AuthenticatorError {
                switch coreError {
                case .PasswordRequired, .WrongPassword:
                    let wrong: Bool
                    if case .WrongPassword = coreError { wrong = true } else { wrong = false }
                    askPassword(wrong) { reply in
                        guard let reply = reply else { return }
                        self.previewImport(data: data, password: reply, askPassword: askPassword)
                    }
                    return
                default:
                    break
                }
            }
            self.message = describe(error)
        }) { preview in
            self.pendingImport = PendingImport(data: data, password: password, preview: preview)
        }
    }

    /// Imports what the preview showed, in one transaction.
    func confirmImport() {
        guard let pending = pendingImport else { return }
        busy = true
        perform({ try $0.importFile(file: pending.data, format: pending.preview.format, password: pending.password) },
                onDone: { self.busy = false }) { result in
            self.pendingImport = nil
            self.message = ([
                "Imported \(result.imported.count) account(s).",
                Self.notesText("Skipped", result.skipped),
                Self.notesText("Refused", result.refused),
            ].compactMap { $0 }).joined(separator: "\n\n")
            self.loadAccounts()
            self.backupAfterChange()
        }
    }

    func cancelImport() {
        pendingImport = nil
    }

    /// Export files are small: a bigger pick is not one (and must not exhaust memory).
    private static let maxImportBytes = 16 * 1024 * 1024

    private static func readImportFile(_ url: URL) throws -> Data {
        let accessing = url.startAccessingSecurityScopedResource()
        defer { if accessing { url.stopAccessingSecurityScopedResource() } }
        var coordinationError: NSError?
        var result: Result<Data, Error> = .failure(CocoaError(.fileReadUnknown))
        NSFileCoordinator(filePresenter: nil).coordinate(readingItemAt: url, options: [], error: &coordinationError) { readURL in
            result = Result {
                let size = try readURL.resourceValues(forKeys: [.fileSizeKey]).fileSize ?? 0
                guard size <= maxImportBytes else { throw CocoaError(.fileReadTooLarge) }
                return try Data(contentsOf: readURL)
            }
        }
        if let error = coordinationError { throw error }
        return try result.get()
    }

    // MARK: - Export

    /// The PIN again (a fresh check) and, for `.aegis`, the file password. The result goes
    /// to `.fileExporter` as `exportDocument`, or (`.google`) to `exportLinks`.
    func export(format: ExportFormat, filePassword: String?, pin: String) {
        busy = true
        perform({ try $0.exportAccounts(format: format, filePassword: filePassword, pin: pin) },
                onDone: { self.busy = false }) { result in
            let notes = [
                Self.notesText("Kept on this phone", result.skipped),
                Self.notesText("Left out", result.leftOut),
            ].compactMap { $0 }
            if format == .google {
                self.exportLinks = result.links
                if !notes.isEmpty { self.message = notes.joined(separator: "\n\n") }
            } else {
                self.exportDocument = ExportFile(data: result.data, format: format, notes: notes)
            }
        }
    }

    /// `.fileExporter` finished (saved, cancelled or failed): the secrets are dropped.
    func exportFinished(_ result: Result<URL, Error>) {
        let notes = exportDocument?.notes ?? []
        exportDocument = nil
        switch result {
        case .success:
            message = (["Exported."] + notes).joined(separator: "\n\n")
        case .failure(let error):
            if (error as? CocoaError)?.code != .userCancelled { message = "The file was not saved." }
        }
    }

    private func dropTransferSecrets() {
        pendingImport = nil
        exportDocument = nil
        exportLinks = nil
        containerTransfer = nil
    }

    private static func notesText(_ title: String, _ notes: [TransferNote]) -> String? {
        notes.isEmpty ? nil : "\(title):\n" + notes.map { "\($0.entry): \($0.reason)" }.joined(separator: "\n")
    }

    // MARK: - Automatic backups

    func loadBackupStatus() {
        backupFolderName = BackupFolder.displayName()
        perform({ try $0.backupStatus() }) { self.backupStatus = $0 }
    }

    /// The folder picked in `UIDocumentPickerViewController(forOpeningContentTypes: [.folder])`.
    func setBackupFolder(_ url: URL) {
        do {
            try BackupFolder.set(url)
        } catch {
            message = "This folder cannot be used for backups."
        }
        backupProblem = nil
        loadBackupStatus()
        backupAfterChange()
    }

    func forgetBackupFolder() {
        BackupFolder.forget()
        backupProblem = nil
        loadBackupStatus()
    }

    /// Turns backups on or changes their password, after the PIN again.
    func setBackupPassword(_ password: String, pin: String) {
        perform({ core -> BackupStatus in
            try core.setBackupPassword(password: password, pin: pin)
            return try core.backupStatus()
        }) {
            self.backupStatus = $0
            self.message = "Automatic backups are on."
            self.backupAfterChange()
        }
    }

    func turnOffBackups(pin: String) {
        perform({ core -> BackupStatus in
            try core.setBackupPassword(password: nil, pin: pin)
            return try core.backupStatus()
        }) {
            self.backupStatus = $0
            self.message = "Automatic backups are off. Backups already written stay in the folder."
        }
    }

    /// After every change to the accounts (add, import, rename, delete, HOTP code) and back in
    /// the foreground unlocked: writes the core's pending backup, if one is due, to the folder.
    func backupAfterChange(announce: Bool = false) {
        BackupFolder.writePending({ try self.core() }) { outcome in
            switch outcome {
            case .written(let name):
                self.backupProblem = nil
                if announce { self.message = "Backup written: \(name)" }
            case .nothingDue:
                if announce { self.message = "No backup was due." }
            case .failed(let text):
                self.backupProblem = text
                if announce { self.message = text }
            }
            if self.backupStatus != nil { self.loadBackupStatus() }
        }
    }

    // MARK: - Containers

    func loadContainers() {
        perform({ try $0.listContainers() }) { self.containers = $0 }
    }

    func loadContainerSyncInterval() {
        perform({ try $0.containerSyncInterval() }) { self.containerSyncInterval = $0 }
    }

    /// 0: containers synchronize only on demand and when a push for one of their tokens arrives.
    func setContainerSyncInterval(_ seconds: UInt64) {
        perform({ core -> UInt64 in
            try core.setContainerSyncInterval(seconds: seconds)
            return try core.containerSyncInterval()
        }) { self.containerSyncInterval = $0 }
    }

    /// After every unlock, back in the foreground unlocked, and after a push. The core decides
    /// which containers are due (interval, a push for a container token) and does the network
    /// calls on the worker queue; failures go to `containerSyncProblems`, never to an alert.
    /// Runs inside a background task so a sync started just before leaving the screen finishes.
    func syncDueContainers() {
        containerSyncAgain = true
        guard !containerSyncRunning else { return }
        containerSyncRunning = true
        runContainerSync()
    }

    private func runContainerSync() {
        containerSyncAgain = false
        let task = BackgroundTaskGuard(name: "org.authcore.container-sync")
        perform({ try $0.syncDueContainers() }, interceptLock: false, onError: { error in
            // Locked again before the run: the next unlock starts one.
            if let coreError = error as? AuthenticatorError, case .Locked = coreError { return }
            NSLog("container sync: %@", describe(error))
            self.containerSyncProblems = [describe(error)]
        }, onDone: {
            task.end()
            if self.containerSyncAgain { self.runContainerSync() } else { self.containerSyncRunning = false }
        }) { reports in
            guard !reports.isEmpty else { return }
            let failures = reports.compactMap { report in report.error.map { "\(report.serial): \($0)" } }
            let warnings = reports.flatMap { report in (report.result?.warnings ?? []).map { "\(report.serial): \($0)" } }
            self.containerSyncProblems = failures + warnings
            self.loadAccounts()
            self.loadContainers()
            self.backupAfterChange()
        }
    }

    /// An offer left unanswered (e.g. the app was closed): asked again from the Containers screen.
    func openAdoption(_ container: Container) {
        perform({ try Self.offer($0, serial: container.serial, ids: container.adoptableAccountIds) }) { offer in
            guard let offer = offer else { return }
            self.adoptionOffer = offer
            self.sheet = .adoption
        }
    }

    /// Not now: the offer stays with the container (the Containers screen asks again).
    func postponeAdoption() {
        adoptionOffer = nil
        if sheet == .adoption { sheet = nil }
    }

    /// The user's choice (`chosen` empty: decline); then the first synchronization runs.
    /// `done` gets the text to show in the offer sheet.
    func answerAdoption(_ offer: AdoptionOffer, chosen: [String], done: @escaping (String) -> Void) {
        busy = true
        perform({ try $0.syncContainerAdopting(serial: offer.serial, accountIds: chosen) }, onError: { error in
            done(describe(error))
            self.loadContainers()
        }, onDone: { self.busy = false }) { result in
            done(Self.syncText(offer.serial, result))
            self.afterContainerChange()
        }
    }

    /// "Synchronize now" (network). A failure may have changed the state (transferred).
    func syncContainerNow(_ serial: String) {
        syncingContainer = serial
        perform({ try $0.syncContainer(serial: serial) }, onError: { error in
            self.containerNote = describe(error)
            self.loadContainers()
        }, onDone: { self.syncingContainer = nil }) { result in
            self.containerNote = Self.syncText(serial, result)
            self.afterContainerChange()
        }
    }

    /// Asks the server for a transfer link (`passphrase`: optional, chosen by the user). The
    /// server's QR image when the core has one, else one drawn from the link (off the main thread).
    func requestTransfer(_ serial: String, passphrase: String?) {
        busy = true
        perform({ core -> ShownTransfer in
            let given = passphrase.flatMap { $0.isEmpty ? nil : $0 }
            let transfer = try core.requestContainerTransfer(serial: serial, passphrase: given)
            let image = transfer.qrPng.flatMap { UIImage(data: $0) } ?? QRCodeImage.make(transfer.link)
            return ShownTransfer(serial: serial, transfer: transfer, image: image)
        }, onError: { error in
            self.containerNote = describe(error)
            self.loadContainers()
        }, onDone: { self.busy = false }) { self.containerTransfer = $0 }
    }

    func closeTransfer() {
        containerTransfer = nil
        loadContainers()
    }

    /// Unregisters on the server, then removes the container and its accounts here; for a
    /// transferred container only the local part (the core knows which).
    func removeContainer(_ serial: String) {
        busy = true
        perform({ try $0.unregisterContainer(serial: serial) }, onError: { error in
            self.containerNote = describe(error)
            self.loadContainers()
        }, onDone: { self.busy = false }) { removed in
            self.containerNote = "Removed the container \(serial) and \(removed.count) account(s) from this phone."
            self.afterContainerChange()
        }
    }

    private func afterContainerChange() {
        loadAccounts()
        loadContainers()
        backupAfterChange()
    }

    private static func syncText(_ serial: String, _ r: SyncResult) -> String {
        (["\(serial) synchronized: \(r.added.count) added, \(r.updated.count) updated, \(r.removed.count) removed."]
            + r.warnings).joined(separator: "\n")
    }

    // MARK: - Push

    /// The FCM registration token (MessagingDelegate), at every start and on every refresh.
    /// An unchanged token is only stored for new enrollments (`setPushServiceToken`). A new one
    /// (including the first one this install sees: a vault enrolled by a poll-only or an
    /// APNs-token build must learn it) is stored and queued for every push token's server by
    /// the core (`updatePushServiceToken`, works locked), which sends it when it can and keeps
    /// the failures for `retryPushTokenUpdates`. The last token is kept in UserDefaults only
    /// to tell the two apart, and only once the core has it.
    func pushTokenReceived(_ token: String) {
        let previous = UserDefaults.standard.string(forKey: Self.pushTokenKey)
        perform({ core -> [TokenUpdateResult] in
            if previous == token {
                try core.setPushServiceToken(token: token)
                return []
            }
            return try core.updatePushServiceToken(token: token)
        }, interceptLock: false, onError: { error in
            NSLog("push token: %@", describe(error))
        }) { results in
            UserDefaults.standard.set(token, forKey: Self.pushTokenKey)
            for result in results where !result.ok {
                NSLog("push token update for %@ %@: %@", result.serial,
                      result.pending ? "queued" : "failed", result.error ?? "")
            }
            self.loadPendingTokenUpdates()
        }
    }

    /// Sends every queued push token update (network, on the worker queue). Called after each
    /// unlock and at start when unlocked; `userInitiated` from the Settings Retry button.
    func retryPushTokenUpdates(userInitiated: Bool = false) {
        if userInitiated { retryingTokens = true }
        perform({ core -> [PendingTokenUpdate] in
            _ = try core.retryPushTokenUpdates()
            return try core.pendingPushTokenUpdates()
        }, interceptLock: userInitiated, onError: { error in
            if userInitiated {
                self.message = describe(error)
            } else {
                NSLog("push token retry: %@", describe(error))
            }
        }, onDone: {
            if userInitiated { self.retryingTokens = false }
        }) { pending in
            self.pendingTokenUpdates = pending
            if userInitiated {
                self.message = pending.isEmpty
                    ? "Every server has the new push token."
                    : "\(pending.count) server(s) still need the new push token. The app tries again after the next unlock."
            }
        }
    }

    func loadPendingTokenUpdates() {
        perform({ try $0.pendingPushTokenUpdates() }, interceptLock: false, onError: { error in
            NSLog("pending push token updates: %@", describe(error))
        }) { self.pendingTokenUpdates = $0 }
    }

    /// Shows the requests sheet on `challengeId`; while locked, after the PIN (or biometrics).
    func openPush(challengeId: String? = nil) {
        highlightedChallenge = challengeId
        loadPending()
        if lockState?.locked == false {
            sheet = .push
        } else {
            openPushAfterUnlock = true
        }
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
        }, onError: { error in
            if let coreError = error as? AuthenticatorError {
                switch coreError {
                case .AlreadyAnswered, .ChallengeExpired:
                    PushNotifications.removeNotifications(challengeId: challenge.id)
                    self.loadPending()
                default:
                    break
                }
            }
            self.message = describe(error)
        }, onDone: { self.busy = false }) { result in
            PushNotifications.removeNotifications(challengeId: challenge.id)
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
        case .PasswordRequired: return "This file is encrypted: enter its password."
        case .WrongPassword: return "This password does not open the file."
        case .InvalidFile(let reason): return "Cannot import this file: \(reason)"
        case .PassphraseRequired: return "This container QR code needs a passphrase: enter it."
        case .ContainerLinkRejected(let reason):
            return "The server refused the registration: \(reason). Check the passphrase, or ask for a new QR code."
        case .ContainerNotRegistered:
            return "This container is no longer registered on its server. You can remove it and its accounts."
        case .ContainerTransferred:
            return "This container was moved to another phone. You can remove its accounts from this one."
        case .PolicyRefused(let reason): return "Not allowed by your organization's policy: \(reason)"
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
