// Confirmation of what a link or image would add (the core's preview), with the first PIN when a server requires one,
// or, for a privacyIDEA container link, its serial, server, TLS setting and the passphrase its prompt asks for.
import AuthenticatorCore
import SwiftUI

/// The core's preview of what a link/image would add; nothing is stored until "Add".
struct EnrollmentView: View {
    @EnvironmentObject private var model: AppModel
    @State private var pin = ""
    @State private var repeated = ""
    @State private var passphrase = ""

    private var preview: EnrollmentPreview? { model.enrollment?.preview }

    private var needsPin: Bool {
        (preview?.requiresPin ?? false) && model.lockState?.hasPin != true
    }

    /// A passphrase field when the container link has a prompt (required when `needsPassphrase`).
    private var asksPassphrase: Bool {
        guard let container = preview?.container else { return false }
        return container.needsPassphrase || container.passphrasePrompt != nil
    }

    private var canAdd: Bool {
        guard let preview = preview, !model.busy else { return false }
        let pinOk = !needsPin || (!pin.isEmpty && pin == repeated)
        if let container = preview.container {
            return pinOk && (!container.needsPassphrase || !passphrase.isEmpty)
        }
        return preview.accounts.contains { !$0.alreadyEnrolled } && pinOk
    }

    var body: some View {
        NavigationView {
            Form {
                if let preview = preview {
                    if let container = preview.container {
                        ContainerPreviewSection(container: container)
                        if asksPassphrase {
                            // The server's own prompt is the label (e.g. "Your user store password").
                            Section(header: Text(container.passphrasePrompt ?? "Passphrase")) {
                                SecureField(container.passphrasePrompt ?? "Passphrase", text: $passphrase)
                                    .textContentType(.password)
                                    .autocapitalization(.none)
                                    .disableAutocorrection(true)
                            }
                        }
                    }
                    if let batch = preview.batch {
                        Text("QR code \(batch.index + 1) of \(batch.size)")
                    }
                    Section {
                        ForEach(Array(preview.accounts.enumerated()), id: \.offset) { item in
                            PreviewRow(account: item.element)
                        }
                    }
                    if !preview.warnings.isEmpty {
                        Section(header: Text("Warnings")) {
                            ForEach(preview.warnings, id: \.self) { Text($0) }
                        }
                    }
                    if needsPin {
                        Section(header: Text("This server requires an app PIN")) {
                            PinField(title: "New PIN", text: $pin)
                            PinField(title: "Repeat PIN", text: $repeated)
                        }
                    }
                    if model.busy {
                        ProgressView()
                    }
                } else {
                    Text("Nothing to add.")
                }
            }
            .navigationTitle(preview?.container != nil ? "Register container" : "Add account")
            .navigationBarTitleDisplayMode(.inline)
            .toolbar {
                ToolbarItem(placement: .cancellationAction) {
                    Button("Cancel") { model.cancelEnrollment() }.disabled(model.busy)
                }
                ToolbarItem(placement: .confirmationAction) {
                    Button(preview?.container != nil ? "Register" : "Add") {
                        model.confirmEnrollment(newPin: needsPin ? pin : nil, passphrase: asksPassphrase ? passphrase : nil)
                    }
                    .disabled(!canAdd)
                }
            }
        }
    }
}

/// What a container link registers: serial, server, TLS setting, the link's expiry.
private struct ContainerPreviewSection: View {
    let container: ContainerPreview

    var body: some View {
        Section(header: Text("privacyIDEA container"),
                footer: Text("The server will add, renew and remove the accounts of this container on this phone.")) {
            Text(container.serial).font(.headline)
            Text("Server: \(container.serverUrl)").font(.caption)
            if !container.tlsVerify {
                Text("TLS certificate checks are off for this server (ssl_verify=False): anyone on the network path could read and change what the server sends.")
                    .font(.caption).foregroundColor(.red)
            }
            if let expiry = container.expiresAt {
                Text("This QR code is valid until \(Self.dateText(expiry)).").font(.caption)
            }
        }
    }

    private static func dateText(_ unixSeconds: Int64) -> String {
        let date = Date(timeIntervalSince1970: TimeInterval(unixSeconds))
        return DateFormatter.localizedString(from: date, dateStyle: .medium, timeStyle: .short)
    }
}

private struct PreviewRow: View {
    let account: AccountPreview

    var body: some View {
        VStack(alignment: .leading, spacing: 4) {
            Text([account.issuer, account.name].filter { !$0.isEmpty }.joined(separator: ": ")).font(.headline)
            Text(details).font(.caption).foregroundColor(.secondary)
            if let code = account.currentCode {
                Text("Current code: \(code.value)").font(.caption)
            }
            if account.alreadyEnrolled { Text("Already added").foregroundColor(.red).font(.caption) }
            if account.weakSecret { Text("Weak secret").foregroundColor(.red).font(.caption) }
            if !account.tlsVerify { Text("TLS certificate checks are off for this server").foregroundColor(.red).font(.caption) }
        }
    }

    private var details: String {
        var parts = ["\(account.kind)".uppercased(), "\(account.algorithm)".uppercased(), "\(account.digits) digits"]
        if account.kind == .totp { parts.append("\(account.period)s") }
        return parts.joined(separator: " · ")
    }
}
