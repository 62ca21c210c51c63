import AuthenticatorCore
import SwiftUI
import UIKit

/// PIN set/change/remove, biometric unlock on/off, lock now. Policy is enforced by the core.
struct SettingsView: View {
    @EnvironmentObject private var model: AppModel

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
                    Section(header: Text("Lock policy")) {
                        Text(policyText(lock.policy)).font(.caption)
                        if lock.hasPin {
                            Button("Lock now") { model.lockNow() }
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
    }

    private func biometricFooter(_ lock: LockState) -> String {
        if !lock.hasPin { return "Set a PIN first." }
        if !SecureEnclaveBiometricKey.isAvailable { return "Face ID / Touch ID is not set up on this device." }
        return "Unlock with Face ID / Touch ID instead of the PIN. A new fingerprint or face turns it off."
    }

    private func policyText(_ policy: LockPolicy) -> String {
        var lines: [String] = []
        if let idle = policy.idleTimeoutSeconds { lines.append("Locks after \(idle) s without activity") }
        if policy.wipeAfterAttempts > 0 { lines.append("Erases the vault after \(policy.wipeAfterAttempts) wrong PINs") }
        if policy.minPinLength > 0 { lines.append("PIN length at least \(policy.minPinLength)") }
        return lines.isEmpty ? "No restrictions" : lines.joined(separator: "\n")
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
