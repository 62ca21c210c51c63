// privacyIDEA containers: one section per container (sync now, transfer to a new phone with a
// full-screen QR, unregister), the automatic-sync banner, and the first sync's offer to adopt local accounts.
//
// Documents followed:
// - fullScreenCover(item:onDismiss:content:) (iOS 14):
//   https://developer.apple.com/documentation/swiftui/view/fullscreencover(item:ondismiss:content:)
// - CIFilter.qrCodeGenerator() (iOS 13), its message and correctionLevel:
//   https://developer.apple.com/documentation/coreimage/cifilter-swift.class/qrcodegenerator()
//   https://developer.apple.com/documentation/coreimage/ciqrcodegenerator
// - CIContext.createCGImage(_:from:):
//   https://developer.apple.com/documentation/coreimage/cicontext/createcgimage(_:from:)
// - Image.interpolation(_:) (no smoothing of the QR modules):
//   https://developer.apple.com/documentation/swiftui/image/interpolation(_:)
// - UIScreen.isCaptured and UIScreen.capturedDidChangeNotification (iOS 11): the QR is hidden
//   while the screen is recorded, mirrored or shared (iOS has no FLAG_SECURE):
//   https://developer.apple.com/documentation/uikit/uiscreen/iscaptured
//   https://developer.apple.com/documentation/uikit/uiscreen/captureddidchangenotification
// - ScenePhase (.inactive in the app switcher): the cover is presented above RootView's PrivacyCover,
//   so it draws its own:
//   https://developer.apple.com/documentation/swiftui/scenephase
// - UIApplication.userDidTakeScreenshotNotification (after the fact: the user is told to delete it):
//   https://developer.apple.com/documentation/uikit/uiapplication/userdidtakescreenshotnotification
// - UIAlertController with text fields (SwiftUI on iOS 14 has no alert text fields):
//   https://developer.apple.com/documentation/uikit/uialertcontroller/addtextfield(configurationhandler:)
import AuthenticatorCore
import Combine
import CoreImage
import CoreImage.CIFilterBuiltins
import SwiftUI
import UIKit

/// Every registered container. The core enforces the policies (unregister, deletion, transfer);
/// the buttons only follow them so the user is not offered what will be refused.
struct ContainersView: View {
    @EnvironmentObject private var model: AppModel

    var body: some View {
        Form {
            if let note = model.containerNote {
                Section {
                    Text(note)
                    Button("OK") { model.containerNote = nil }
                }
            }
            if !model.containerSyncProblems.isEmpty {
                Section(header: Text("Automatic synchronization")) {
                    ForEach(model.containerSyncProblems, id: \.self) { line in
                        Text(line).font(.caption).foregroundColor(.red)
                    }
                    Button("Dismiss") { model.containerSyncProblems = [] }
                }
            }
            if model.containers.isEmpty {
                Text("No containers. To register one, scan its privacyIDEA QR code from Add.")
                    .foregroundColor(.secondary)
            }
            ForEach(model.containers, id: \.serial) { container in
                ContainerSection(container: container)
            }
        }
        .navigationTitle("Containers")
        .onAppear {
            model.containerNote = nil
            model.loadContainers()
        }
        .fullScreenCover(item: $model.containerTransfer, onDismiss: { model.closeTransfer() }) { shown in
            TransferQRView(shown: shown) { model.containerTransfer = nil }
        }
    }
}

private struct ContainerSection: View {
    @EnvironmentObject private var model: AppModel
    let container: Container

    var body: some View {
        let c = container
        return Section(header: Text(c.serial)) {
            VStack(alignment: .leading, spacing: 4) {
                Text(c.serverUrl).font(.caption)
                if !c.tlsVerify {
                    Text("TLS certificate checks are off for this server").font(.caption).foregroundColor(.red)
                }
                Text(summary).font(.caption).foregroundColor(.secondary)
            }
            switch c.state {
            case .transferred:
                Text("Moved to another phone: this phone no longer gets its updates.").foregroundColor(.red)
                Button("Remove its accounts…") { confirmRemove() }
                    .foregroundColor(.red)
                    .disabled(model.busy)
            case .registered:
                if !c.adoptableAccountIds.isEmpty {
                    Text("Not synchronized yet: the server offers to manage \(c.adoptableAccountIds.count) account(s) already on this phone.")
                        .font(.caption)
                    Button("Choose accounts…") { model.openAdoption(c) }.disabled(model.busy)
                }
                if c.syncRequested {
                    Text("The server asked for a synchronization.").font(.caption).foregroundColor(.secondary)
                }
                HStack {
                    Button(model.syncingContainer == c.serial ? "Synchronizing…" : "Synchronize now") {
                        model.syncContainerNow(c.serial)
                    }
                    .disabled(model.syncingContainer != nil || model.busy)
                    if model.syncingContainer == c.serial {
                        Spacer()
                        ProgressView()
                    }
                }
                if c.policies.clientRollover {
                    Button("Transfer to a new phone") { askTransfer() }.disabled(model.busy)
                }
                Button("Unregister…") { confirmRemove() }
                    .foregroundColor(c.policies.disableUnregister ? .secondary : .red)
                    .disabled(model.busy || c.policies.disableUnregister)
                if c.policies.disableUnregister {
                    Text("Your organization's policy does not allow removing this container from the phone.")
                        .font(.caption).foregroundColor(.secondary)
                }
            }
        }
    }

    private var summary: String {
        let count = container.accountIds.count
        let accounts = count == 1 ? "1 account" : "\(count) accounts"
        guard let last = container.lastSyncAt else { return accounts + " · never synchronized" }
        let date = Date(timeIntervalSince1970: TimeInterval(last))
        return accounts + " · synchronized " + DateFormatter.localizedString(from: date, dateStyle: .short, timeStyle: .short)
    }

    private func confirmRemove() {
        let c = container
        let count = c.accountIds.count
        let accounts = count == 1 ? "1 account" : "\(count) accounts"
        let transferred = c.state == .transferred
        ContainerPrompt.confirm(
            title: transferred ? "Remove the accounts of \(c.serial)?" : "Unregister \(c.serial)?",
            message: transferred
                ? "The container now lives on another phone. This removes its \(accounts) from this phone."
                : "The server ends this phone's registration, then its \(accounts) are removed from this phone. You will no longer be able to sign in with them here.",
            action: transferred ? "Remove \(accounts)" : "Unregister and remove \(accounts)"
        ) { model.removeContainer(c.serial) }
    }

    private func askTransfer() {
        let serial = container.serial
        ContainerPrompt.transferPassphrase(serial: serial, mismatch: { model.containerNote = "The passphrases do not match." }) { passphrase in
            model.requestTransfer(serial, passphrase: passphrase)
        }
    }
}

/// The transfer QR, full screen. Hidden while the screen is captured (recorded, mirrored,
/// AirPlay), and behind `PrivacyCover` while the scene is not active (app switcher snapshot).
private struct TransferQRView: View {
    let shown: ShownTransfer
    let onDone: () -> Void
    @Environment(\.scenePhase) private var scenePhase
    @State private var captured = UIScreen.main.isCaptured
    @State private var screenshotTaken = false

    var body: some View {
        ZStack {
            page
            if scenePhase != .active {
                PrivacyCover()
            }
        }
    }

    private var page: some View {
        NavigationView {
            ScrollView {
                VStack(spacing: 16) {
                    Text("Scan with the new phone").font(.title2)
                    Text(shown.serial).font(.subheadline).foregroundColor(.secondary)
                    if captured {
                        Text("Hidden while the screen is recorded, mirrored or shared.")
                            .multilineTextAlignment(.center)
                            .foregroundColor(.red)
                    } else if let image = shown.image {
                        Image(uiImage: image)
                            .interpolation(.none)
                            .resizable()
                            .scaledToFit()
                            .frame(maxWidth: 340)
                            .accessibilityLabel(Text("Transfer QR code"))
                    } else {
                        Text(shown.transfer.link).font(.system(.caption, design: .monospaced))
                    }
                    if let expiry = shown.transfer.expiresAt {
                        Text("Valid until \(Self.dateText(expiry)).")
                    }
                    if shown.transfer.passphraseProtected {
                        Text("The new phone will ask for the passphrase you chose.").font(.caption)
                    }
                    if screenshotTaken {
                        Text("A screenshot now holds this code: delete it from Photos, anyone with it can take the container.")
                            .font(.caption).foregroundColor(.red).multilineTextAlignment(.center)
                    }
                    Text("Whoever scans this code takes the container. Once the new phone is registered, this phone shows the container as moved and offers to remove its accounts.")
                        .font(.caption).foregroundColor(.secondary).multilineTextAlignment(.center)
                }
                .padding()
            }
            .navigationTitle("Transfer")
            .navigationBarTitleDisplayMode(.inline)
            .toolbar {
                ToolbarItem(placement: .confirmationAction) {
                    Button("Done", action: onDone)
                }
            }
        }
        .onReceive(NotificationCenter.default.publisher(for: UIScreen.capturedDidChangeNotification)) { _ in
            captured = UIScreen.main.isCaptured
        }
        .onReceive(NotificationCenter.default.publisher(for: UIApplication.userDidTakeScreenshotNotification)) { _ in
            screenshotTaken = true
        }
    }

    private static func dateText(_ unixSeconds: Int64) -> String {
        let date = Date(timeIntervalSince1970: TimeInterval(unixSeconds))
        return DateFormatter.localizedString(from: date, dateStyle: .medium, timeStyle: .short)
    }
}

/// "Add these accounts to the container?": the local accounts the server recognizes, all ticked
/// at first. Add sends the ticked ones; "Add none" declines (an empty list); Later leaves the
/// offer open (the Containers screen asks again).
struct AdoptionView: View {
    @EnvironmentObject private var model: AppModel
    @State private var chosen: Set<String>?
    @State private var result: String?

    var body: some View {
        NavigationView {
            Form {
                if let offer = model.adoptionOffer {
                    content(offer)
                } else {
                    Text(result ?? "Nothing to answer.")
                }
            }
            .navigationTitle("Container accounts")
            .navigationBarTitleDisplayMode(.inline)
            .toolbar {
                ToolbarItem(placement: .cancellationAction) {
                    if result == nil {
                        Button("Later") { model.postponeAdoption() }.disabled(model.busy)
                    }
                }
                ToolbarItem(placement: .confirmationAction) {
                    if result != nil {
                        Button("Done") {
                            model.adoptionOffer = nil
                            model.sheet = nil
                        }
                    }
                }
            }
        }
    }

    private func content(_ offer: AdoptionOffer) -> some View {
        let selected = chosen ?? Set(offer.accounts.map { $0.id })
        return Group {
            if let result = result {
                Section { Text(result) }
            } else {
                offerSections(offer, selected: selected)
            }
        }
    }

    @ViewBuilder private func offerSections(_ offer: AdoptionOffer, selected: Set<String>) -> some View {
        Group {
            Section(header: Text("Add these accounts to the container \(offer.serial)?"),
                    footer: Text("The container is registered. Its server recognizes these accounts on this phone. The ones you add are then managed by the server: it may renew or remove them, and its policy may stop you from deleting them.")) {
                ForEach(offer.accounts, id: \.id) { account in
                    Toggle([account.issuer, account.name].filter { !$0.isEmpty }.joined(separator: ": "), isOn: Binding(
                        get: { selected.contains(account.id) },
                        set: { on in
                            var next = selected
                            if on { next.insert(account.id) } else { next.remove(account.id) }
                            chosen = next
                        }
                    ))
                }
            }
            if !offer.notes.isEmpty {
                Section(header: Text("Warnings")) {
                    ForEach(offer.notes, id: \.self) { Text($0) }
                }
            }
            Section {
                Button("Add \(selected.count)") { answer(offer, Array(selected)) }
                    .disabled(model.busy || selected.isEmpty)
                Button("Add none") { answer(offer, []) }
                    .disabled(model.busy)
                if model.busy { ProgressView() }
            }
        }
    }

    private func answer(_ offer: AdoptionOffer, _ ids: [String]) {
        // Keep the chosen order of the offer.
        let ordered = offer.accounts.map { $0.id }.filter { ids.contains($0) }
        model.answerAdoption(offer, chosen: ordered) { text in result = text }
    }
}

/// QR code drawn on the phone (CoreImage) when the server sent no image of the link.
enum QRCodeImage {
    static func make(_ text: String) -> UIImage? {
        let filter = CIFilter.qrCodeGenerator()
        filter.message = Data(text.utf8)
        filter.correctionLevel = "M"
        // One module per pixel: scaled up here, and drawn without interpolation.
        guard let output = filter.outputImage?.transformed(by: CGAffineTransform(scaleX: 10, y: 10)),
              let cgImage = CIContext().createCGImage(output, from: output.extent) else { return nil }
        return UIImage(cgImage: cgImage)
    }
}

/// UIKit prompts for the Containers screen (SwiftUI on iOS 14 has no alert text fields).
enum ContainerPrompt {
    static func confirm(title: String, message: String, action: String, completion: @escaping () -> Void) {
        let alert = UIAlertController(title: title, message: message, preferredStyle: .alert)
        alert.addAction(UIAlertAction(title: "Cancel", style: .cancel))
        alert.addAction(UIAlertAction(title: action, style: .destructive) { _ in completion() })
        RenamePrompt.topViewController()?.present(alert, animated: true)
    }

    /// An optional passphrase the user chooses for the transfer QR, entered twice (both empty: none).
    static func transferPassphrase(serial: String, mismatch: @escaping () -> Void, completion: @escaping (String?) -> Void) {
        let alert = UIAlertController(
            title: "Transfer \(serial)",
            message: "The server makes a QR code for the new phone. Optionally protect it with a passphrase that the new phone must enter; leave both fields empty for none.",
            preferredStyle: .alert)
        for placeholder in ["Passphrase (optional)", "Repeat passphrase"] {
            alert.addTextField { field in
                field.placeholder = placeholder
                field.isSecureTextEntry = true
                field.textContentType = .newPassword
            }
        }
        alert.addAction(UIAlertAction(title: "Cancel", style: .cancel))
        alert.addAction(UIAlertAction(title: "Create QR code", style: .default) { _ in
            let values = alert.textFields?.map { $0.text ?? "" } ?? []
            guard values.count == 2, values[0] == values[1] else { return mismatch() }
            completion(values[0].isEmpty ? nil : values[0])
        })
        RenamePrompt.topViewController()?.present(alert, animated: true)
    }
}
