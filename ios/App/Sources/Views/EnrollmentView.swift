// Confirmation of what a link or image would add (the core's preview), with the first PIN when a server requires one.
import AuthenticatorCore
import SwiftUI

/// The core's preview of what a link/image would add; nothing is stored until "Add".
struct EnrollmentView: View {
    @EnvironmentObject private var model: AppModel
    @State private var pin = ""
    @State private var repeated = ""

    private var preview: EnrollmentPreview? { model.enrollment?.preview }

    private var needsPin: Bool {
        (preview?.requiresPin ?? false) && model.lockState?.hasPin != true
    }

    private var canAdd: Bool {
        guard let preview = preview, !model.busy else { return false }
        return preview.accounts.contains { !$0.alreadyEnrolled } && (!needsPin || (!pin.isEmpty && pin == repeated))
    }

    var body: some View {
        NavigationView {
            Form {
                if let preview = preview {
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
            .navigationTitle("Add account")
            .navigationBarTitleDisplayMode(.inline)
            .toolbar {
                ToolbarItem(placement: .cancellationAction) {
                    Button("Cancel") { model.cancelEnrollment() }.disabled(model.busy)
                }
                ToolbarItem(placement: .confirmationAction) {
                    Button("Add") { model.confirmEnrollment(newPin: needsPin ? pin : nil) }.disabled(!canAdd)
                }
            }
        }
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
