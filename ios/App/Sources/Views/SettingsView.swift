// Settings: the app PIN, biometric unlock, the app's own lock policy (idle timeout, background
// grace), the servers still waiting for the push token, containers (automatic sync interval, the
// Containers screen), and the way to Transfer (import, export, backups). The core validates and enforces all of it.
import AuthenticatorCore
import SwiftUI
import UIKit

struct SettingsView: View {
    @EnvironmentObject private var model: AppModel

    /// Idle timeout choices in seconds (0 = never).
    private static let idleChoices: [UInt64] = [0, 60, 300, 900]
    /// Background grace choices in seconds (0 = lock as soon as the app leaves the screen).
    private static let graceChoices: [UInt64] = [0, 30, 60, 300]
    /// Automatic container sync after unlock, in seconds (0 = never automatically).
    private static let containerSyncChoices: [UInt64] = [0, 3_600, 21_600, 86_400]

    var body: some View {
        NavigationView {
            Form {
                if let lock = model.lockState {
                    Section(header: Text("App PIN")) {
                        if lock.hasPin {
                            Button("Change PIN") {
                                PinPrompt.show(title: "Change PIN", fields: ["Current PIN", "New PIN", "Repeat new PIN"]) { v in
                                    guard v[1] == v[2] else {
                                        model.message = "The PINs do not match."
                                        return
                                    }
                                    model.changePin(old: v[0], new: v[1])
                                }
                            }
                            Button("Remove PIN") {
                                PinPrompt.show(title: "Remove PIN", fields: ["Current PIN"]) { model.removePin($0[0]) }
                            }
                            .disabled(lock.policy.requirePin)
                            if lock.policy.requirePin {
                                Text("A PIN is required by your settings or by a server.")
                                    .font(.caption).foregroundColor(.secondary)
                            }
                        } else {
                            Button("Set PIN") {
                                PinPrompt.show(title: "Set PIN", fields: ["New PIN", "Repeat PIN"]) { v in
                                    guard v[0] == v[1] else {
                                        model.message = "The PINs do not match."
                                        return
                                    }
                                    model.setPin(v[0])
                                }
                            }
                        }
                    }
                    Section(header: Text("Biometric unlock"), footer: Text(biometricFooter(lock))) {
                        Toggle("Face ID / Touch ID", isOn: Binding(
                            get: { lock.biometricEnabled },
                            set: { $0 ? model.enableBiometric() : model.disableBiometric() }
                        ))
                        .disabled(!lock.hasPin || (!SecureEnclaveBiometricKey.isAvailable && !lock.biometricEnabled))
                    }
                    Section(header: Text("Device key")) {
                        Text(Self.protectionText(lock.protection)).font(.caption)
                    }
                    Section(header: Text("Automatic lock"), footer: Text(lockFooter(lock))) {
                        if let policy = model.appPolicy {
                            Picker("When idle", selection: Binding(
                                get: { policy.idleTimeoutSeconds ?? 0 },
                                set: { seconds in model.updateAppPolicy { $0.idleTimeoutSeconds = seconds == 0 ? nil : seconds } }
                            )) {
                                ForEach(Self.choices(Self.idleChoices, current: policy.idleTimeoutSeconds ?? 0), id: \.self) { seconds in
                                    Text(Self.idleLabel(seconds)).tag(seconds)
                                }
                            }
                            Picker("In the background", selection: Binding(
                                get: { policy.backgroundGraceSeconds },
                                set: { seconds in model.updateAppPolicy { $0.backgroundGraceSeconds = seconds } }
                            )) {
                                ForEach(Self.choices(Self.graceChoices, current: policy.backgroundGraceSeconds), id: \.self) { seconds in
                                    Text(Self.graceLabel(seconds)).tag(seconds)
                                }
                            }
                        } else {
                            ProgressView()
                        }
                        if let note = model.policyNote {
                            Text(note).font(.caption).foregroundColor(.red)
                        }
                        Text(policyText(lock.policy)).font(.caption)
                        if lock.hasPin {
                            Button("Lock now") { model.lockNow() }
                        }
                    }
                    Section(header: Text("Containers"),
                            footer: Text("Accounts a privacyIDEA server manages on this phone. They synchronize after an unlock when due, and when a push for one of their tokens arrives.")) {
                        if let interval = model.containerSyncInterval {
                            Picker("Synchronize", selection: Binding(
                                get: { interval },
                                set: { model.setContainerSyncInterval($0) }
                            )) {
                                ForEach(Self.choices(Self.containerSyncChoices, current: interval), id: \.self) { seconds in
                                    Text(Self.syncLabel(seconds)).tag(seconds)
                                }
                            }
                        } else {
                            ProgressView()
                        }
                        NavigationLink(destination: ContainersView().environmentObject(model)) {
                            Text("Containers")
                        }
                    }
                    Section(header: Text("Import, export and backups")) {
                        NavigationLink(destination: TransferView().environmentObject(model)) {
                            Text("Transfer")
                        }
                    }
                    Section(header: Text("Push sign-in requests"), footer: Text(pushFooter)) {
                        if model.pendingTokenUpdates.isEmpty {
                            Text("Every server has this phone's current push token.")
                        } else {
                            Text(model.pendingTokenUpdates.count == 1
                                 ? "1 server still needs the new push token"
                                 : "\(model.pendingTokenUpdates.count) servers still need the new push token")
                            ForEach(model.pendingTokenUpdates, id: \.accountId) { update in
                                VStack(alignment: .leading, spacing: 2) {
                                    Text(update.serial)
                                    Text(Self.attemptText(update)).font(.caption).foregroundColor(.secondary)
                                }
                            }
                            Button(model.retryingTokens ? "Retrying…" : "Retry") {
                                model.retryPushTokenUpdates(userInitiated: true)
                            }
                            .disabled(model.retryingTokens)
                        }
                    }
                }
            }
            .navigationTitle("Settings")
            .navigationBarTitleDisplayMode(.inline)
            .toolbar {
                ToolbarItem(placement: .confirmationAction) {
                    Button("Done") { model.sheet = nil }
                }
            }
        }
        .onAppear {
            model.policyNote = nil
            model.loadAppPolicy()
            model.loadPendingTokenUpdates()
            model.loadContainerSyncInterval()
        }
    }

    private static func syncLabel(_ seconds: UInt64) -> String {
        switch seconds {
        case 0: return "Off"
        case 3_600: return "Every hour"
        case let s where s % 3_600 == 0: return "Every \(s / 3_600) hours"
        default: return "Every " + duration(seconds)
        }
    }

    private func biometricFooter(_ lock: LockState) -> String {
        if !lock.hasPin { return "Set a PIN first." }
        if !SecureEnclaveBiometricKey.isAvailable { return "Face ID / Touch ID is not set up on this device." }
        return "Unlock with Face ID / Touch ID instead of the PIN. A new fingerprint or face turns it off."
    }

    private func lockFooter(_ lock: LockState) -> String {
        var lines: [String] = []
        if !lock.hasPin {
            lines.append("Both need an app PIN: without one, nothing locks.")
        }
        if let app = model.appPolicy {
            if let effective = lock.policy.idleTimeoutSeconds, effective < (app.idleTimeoutSeconds ?? UInt64.max) {
                lines.append("A server requires locking after \(Self.idleLabel(effective)) idle.")
            }
            if lock.policy.backgroundGraceSeconds < app.backgroundGraceSeconds {
                lines.append("A server requires locking \(Self.graceLabel(lock.policy.backgroundGraceSeconds).lowercased()) in the background.")
            }
        }
        lines.append("The stricter of your choice and every server's applies.")
        return lines.joined(separator: " ")
    }

    private var pushFooter: String {
        FirebasePush.isConfigured
            ? "Requests arrive through Firebase Cloud Messaging. When the push token changes, every server is told; the app retries after each unlock until all have it."
            : "This build has no Firebase configuration (GoogleService-Info.plist): requests arrive only with \"Check for requests\"."
    }

    private func policyText(_ policy: LockPolicy) -> String {
        var lines: [String] = []
        if let idle = policy.idleTimeoutSeconds { lines.append("Locks after \(idle) s without activity") }
        lines.append(policy.backgroundGraceSeconds == 0
                     ? "Locks as soon as the app leaves the screen"
                     : "Locks \(policy.backgroundGraceSeconds) s after the app leaves the screen")
        if policy.wipeAfterAttempts > 0 { lines.append("Erases the vault after \(policy.wipeAfterAttempts) wrong PINs") }
        if policy.minPinLength > 0 { lines.append("PIN length at least \(policy.minPinLength)") }
        return lines.joined(separator: "\n")
    }

    /// The fixed choices plus the stored value when it is not one of them.
    private static func choices(_ fixed: [UInt64], current: UInt64) -> [UInt64] {
        fixed.contains(current) ? fixed : (fixed + [current]).sorted()
    }

    /// Where the device key that every PIN check needs lives (`LockState.protection`).
    static func protectionText(_ protection: KeyProtection?) -> String {
        switch protection {
        case .secureEnclave: return "In the Secure Enclave: every PIN check needs this iPhone."
        case .strongbox, .tee: return "In secure hardware: every PIN check needs this device."
        case .software, nil: return "In software only: this device has no Secure Enclave for it."
        }
    }

    private static func idleLabel(_ seconds: UInt64) -> String {
        seconds == 0 ? "Never" : duration(seconds)
    }

    private static func graceLabel(_ seconds: UInt64) -> String {
        seconds == 0 ? "Immediately" : "After " + duration(seconds)
    }

    private static func duration(_ seconds: UInt64) -> String {
        if seconds % 60 == 0 { return "\(seconds / 60) min" }
        return "\(seconds) s"
    }

    private static func attemptText(_ update: PendingTokenUpdate) -> String {
        var parts = ["\(update.attempts) attempt\(update.attempts == 1 ? "" : "s")"]
        if let at = update.lastAttemptAt {
            let date = Date(timeIntervalSince1970: TimeInterval(at))
            parts.append("last " + DateFormatter.localizedString(from: date, dateStyle: .none, timeStyle: .short))
        }
        if let error = update.lastError { parts.append(error) }
        return parts.joined(separator: " · ")
    }
}

/// A UIKit prompt with secure number fields (SwiftUI on iOS 14 has no alert text fields).
enum PinPrompt {
    static func show(title: String, fields: [String], completion: @escaping ([String]) -> Void) {
        let alert = UIAlertController(title: title, message: nil, preferredStyle: .alert)
        for placeholder in fields {
            alert.addTextField { field in
                field.placeholder = placeholder
                field.isSecureTextEntry = true
                field.keyboardType = .numberPad
            }
        }
        alert.addAction(UIAlertAction(title: "Cancel", style: .cancel))
        alert.addAction(UIAlertAction(title: "OK", style: .default) { _ in
            let values = alert.textFields?.map { $0.text ?? "" } ?? []
            guard values.count == fields.count, !values.contains(where: { $0.isEmpty }) else { return }
            completion(values)
        })
        RenamePrompt.topViewController()?.present(alert, animated: true)
    }
}
