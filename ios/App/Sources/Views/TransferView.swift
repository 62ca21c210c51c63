// Transfer settings: import another app's export (.fileImporter, previewed before anything is stored), export
// (.fileExporter with a FileDocument, or Google Authenticator links), and automatic encrypted backups to a folder.
import AuthenticatorCore
import SwiftUI
import UIKit
import UniformTypeIdentifiers

/// An export file for `.fileExporter`. Only ever written: `init(configuration:)` exists
/// because `FileDocument` requires it.
struct ExportFile: FileDocument {
    static var readableContentTypes: [UTType] { [.json, .plainText] }

    let data: Data
    var format: ExportFormat = .aegis
    /// What was kept on the phone or left out, shown after saving.
    var notes: [String] = []

    var contentType: UTType { format == .uriList ? .plainText : .json }

    var defaultFilename: String {
        switch format {
        case .aegis: return "authenticator-export.json"
        case .aegisPlain: return "authenticator-export-plain.json"
        case .uriList: return "authenticator-export.txt"
        case .google: return "authenticator-export.txt"
        }
    }

    init(data: Data, format: ExportFormat, notes: [String]) {
        self.data = data
        self.format = format
        self.notes = notes
    }

    init(configuration: ReadConfiguration) throws {
        guard let data = configuration.file.regularFileContents else { throw CocoaError(.fileReadCorruptFile) }
        self.data = data
    }

    func fileWrapper(configuration: WriteConfiguration) throws -> FileWrapper {
        FileWrapper(regularFileWithContents: data)
    }
}

struct TransferView: View {
    @EnvironmentObject private var model: AppModel
    @State private var importing = false
    @State private var format: ExportFormat = .aegis
    @State private var confirmPlain = false

    private struct FormatChoice: Identifiable {
        let id: ExportFormat
        let label: String
        let detail: String
    }

    private static let formats = [
        FormatChoice(id: .aegis, label: "Aegis, encrypted", detail: "A password-protected file Aegis (and this app) can import."),
        FormatChoice(id: .aegisPlain, label: "Aegis, not encrypted", detail: "A plain file Aegis and most apps can import."),
        FormatChoice(id: .uriList, label: "List of otpauth links", detail: "A plain text file, one link a line."),
        FormatChoice(id: .google, label: "Google Authenticator", detail: "Transfer links, one per QR code, shown on screen."),
    ]

    var body: some View {
        Form {
            if let pending = model.pendingImport {
                importPreview(pending)
            }
            if let links = model.exportLinks {
                googleLinks(links)
            }
            Section(header: Text("Import"),
                    footer: Text("From an export of Aegis, 2FAS, Bitwarden, andOTP, FreeOTP+, Ente Auth, or a list of otpauth links. You see what will be added before anything is stored.")) {
                Button("Import from a file") { importing = true }
                    // Any file: exports come as .json, .txt, .2fas, .csv, or without a known type.
                    .fileImporter(isPresented: $importing, allowedContentTypes: [.data]) { result in
                        if case .success(let url) = result {
                            model.startImport(url: url, askPassword: Self.askFilePassword)
                        }
                    }
            }
            exportSection
            backupSection
        }
        .navigationTitle("Transfer")
        .onAppear { model.loadBackupStatus() }
        .alert(isPresented: $confirmPlain) {
            Alert(
                title: Text("Export without encryption?"),
                message: Text("The secrets of your accounts will be readable by anyone and any app that can open the file or see the links. Delete it as soon as the other app has imported it."),
                primaryButton: .destructive(Text("Continue")) { askExportSecrets() },
                secondaryButton: .cancel()
            )
        }
    }

    // MARK: import

    private func importPreview(_ pending: PendingImport) -> some View {
        let preview = pending.preview
        return Section(header: Text("Import from \(importFormatName(format: preview.format))")) {
            Text("Will add \(preview.accounts.count)").font(.headline)
            ForEach(Array(preview.accounts.enumerated()), id: \.offset) { _, account in
                Text([account.issuer, account.name].filter { !$0.isEmpty }.joined(separator: ": "))
            }
            if !preview.skipped.isEmpty {
                Text("Skipped \(preview.skipped.count)").font(.headline)
                ForEach(Array(preview.skipped.enumerated()), id: \.offset) { _, note in
                    Text("\(note.entry): \(note.reason)").font(.caption)
                }
            }
            if !preview.refused.isEmpty {
                Text("Refused \(preview.refused.count)").font(.headline)
                ForEach(Array(preview.refused.enumerated()), id: \.offset) { _, note in
                    Text("\(note.entry): \(note.reason)").font(.caption).foregroundColor(.red)
                }
            }
            Button("Import \(preview.accounts.count)") { model.confirmImport() }
                .disabled(preview.accounts.isEmpty || model.busy)
            Button("Cancel") { model.cancelImport() }
        }
    }

    /// The file password of an encrypted import (never the app PIN).
    private static func askFilePassword(wrong: Bool, reply: @escaping (String?) -> Void) {
        SecretPrompt.show(
            title: "Encrypted file",
            message: wrong ? "This password does not open the file. Try again." : "Enter the password this file was exported with (not the app PIN).",
            fields: [.password("File password")],
            cancel: { reply(nil) }
        ) { reply($0[0]) }
    }

    // MARK: export

    private var exportSection: some View {
        Section(header: Text("Export"),
                footer: Text("Push tokens and accounts managed by a server's lock policy stay on this phone.")) {
            Picker("Format", selection: $format) {
                ForEach(Self.formats) { choice in
                    VStack(alignment: .leading) {
                        Text(choice.label)
                        Text(choice.detail).font(.caption).foregroundColor(.secondary)
                    }
                    .tag(choice.id)
                }
            }
            if format != .aegis {
                Text("Not encrypted: anyone who gets this file or these links can create your codes.")
                    .font(.caption).foregroundColor(.red)
            }
            Button("Export…") {
                if format == .aegis { askExportSecrets() } else { confirmPlain = true }
            }
            .disabled(model.busy)
            .fileExporter(
                isPresented: Binding(get: { model.exportDocument != nil }, set: { if !$0 { model.exportDocument = nil } }),
                document: model.exportDocument,
                contentType: model.exportDocument?.contentType ?? .json,
                defaultFilename: model.exportDocument?.defaultFilename
            ) { model.exportFinished($0) }
        }
    }

    /// The PIN again (when one is set) and, for Aegis, the file password twice.
    private func askExportSecrets() {
        let chosen = format
        let hasPin = model.lockState?.hasPin ?? true
        var fields: [SecretPrompt.Field] = []
        if chosen == .aegis { fields += [.password("File password"), .password("Repeat file password")] }
        if hasPin { fields.append(.pin("App PIN")) }
        guard !fields.isEmpty else {
            model.export(format: chosen, filePassword: nil, pin: "")
            return
        }
        SecretPrompt.show(title: "Export", message: chosen == .aegis ? "The file is encrypted with this password." : nil, fields: fields) { v in
            if chosen == .aegis {
                guard v[0] == v[1] else {
                    model.message = "The passwords do not match."
                    return
                }
                model.export(format: chosen, filePassword: v[0], pin: hasPin ? v[2] : "")
            } else {
                model.export(format: chosen, filePassword: nil, pin: v[0])
            }
        }
    }

    /// Google Authenticator reads these as QR codes; this app has no QR code renderer, so
    /// they are shown as text, one after another, to copy (local only, cleared after 60 s).
    private func googleLinks(_ links: [String]) -> some View {
        Section(header: Text("Google Authenticator links"),
                footer: Text("Google Authenticator imports these as QR codes (Transfer accounts → Import). This app cannot draw QR codes yet: use a file export where you can.")) {
            GoogleLinkPager(links: links)
            Button("Done") { model.exportLinks = nil }
        }
    }

    // MARK: backups

    private var backupSection: some View {
        let status = model.backupStatus
        let folder = model.backupFolderName
        return Section(header: Text("Automatic backups"),
                       footer: Text("An encrypted backup (Aegis format) is written to the folder after every change. Keep the backup password safe: without it the backups cannot be opened.")) {
            Text(backupText(status, folder))
            if let problem = model.backupProblem {
                Text(problem).font(.caption).foregroundColor(.red)
            }
            Button(folder == nil ? "Choose folder" : "Choose another folder") {
                FolderPicker.present { url in
                    if let url = url { model.setBackupFolder(url) }
                }
            }
            Button(status?.enabled == true ? "Change backup password" : "Turn on with a password") {
                askBackupPassword()
            }
            if status?.enabled == true {
                if folder != nil && status?.due == true {
                    Button("Back up now") { model.backupAfterChange(announce: true) }
                }
                Button("Turn off") {
                    if model.lockState?.hasPin == true {
                        SecretPrompt.show(title: "Turn off automatic backups", message: nil, fields: [.pin("App PIN")]) {
                            model.turnOffBackups(pin: $0[0])
                        }
                    } else {
                        model.turnOffBackups(pin: "")
                    }
                }
            }
            if folder != nil {
                Button("Forget folder") { model.forgetBackupFolder() }
            }
        }
    }

    private func backupText(_ status: BackupStatus?, _ folder: String?) -> String {
        guard let status = status else { return "Loading…" }
        if !status.enabled { return "Off." }
        guard let folder = folder else { return "On, but no folder is chosen: choose one to write backups." }
        return status.due ? "On, writing to \(folder). A backup is due." : "On, writing to \(folder). Up to date."
    }

    private func askBackupPassword() {
        let hasPin = model.lockState?.hasPin ?? true
        var fields: [SecretPrompt.Field] = [.password("Backup password"), .password("Repeat backup password")]
        if hasPin { fields.append(.pin("App PIN")) }
        SecretPrompt.show(title: "Backup password", message: nil, fields: fields) { v in
            guard v[0] == v[1] else {
                model.message = "The passwords do not match."
                return
            }
            model.setBackupPassword(v[0], pin: hasPin ? v[2] : "")
        }
    }
}

/// One Google Authenticator link at a time, with Previous / Next / Copy.
private struct GoogleLinkPager: View {
    let links: [String]
    @State private var index = 0

    var body: some View {
        Group {
            if links.isEmpty {
                Text("Nothing to export.")
            } else {
                pager
            }
        }
    }

    @ViewBuilder private var pager: some View {
        Text("Link \(index + 1) of \(links.count)").font(.headline)
        Text(links[min(index, links.count - 1)]).font(.system(.caption, design: .monospaced))
        HStack {
            Button("Previous") { index -= 1 }.disabled(index == 0)
            Spacer()
            Button("Copy") {
                UIPasteboard.general.setItems(
                    [[UTType.plainText.identifier: links[min(index, links.count - 1)]]],
                    options: [.localOnly: true, .expirationDate: Date().addingTimeInterval(60)]
                )
            }
            Spacer()
            Button("Next") { index += 1 }.disabled(index + 1 >= links.count)
        }
        .buttonStyle(BorderlessButtonStyle())
    }
}

/// A UIKit prompt with secure fields: PINs on the number pad, passwords on the full keyboard
/// (SwiftUI on iOS 14 has no alert text fields).
enum SecretPrompt {
    enum Field {
        case pin(String)
        case password(String)
    }

    static func show(title: String, message: String?, fields: [Field], cancel: (() -> Void)? = nil,
                     completion: @escaping ([String]) -> Void) {
        let alert = UIAlertController(title: title, message: message, preferredStyle: .alert)
        for field in fields {
            alert.addTextField { text in
                text.isSecureTextEntry = true
                switch field {
                case .pin(let placeholder):
                    text.placeholder = placeholder
                    text.keyboardType = .numberPad
                case .password(let placeholder):
                    text.placeholder = placeholder
                    text.textContentType = .password
                }
            }
        }
        alert.addAction(UIAlertAction(title: "Cancel", style: .cancel) { _ in cancel?() })
        alert.addAction(UIAlertAction(title: "OK", style: .default) { _ in
            let values = alert.textFields?.map { $0.text ?? "" } ?? []
            guard values.count == fields.count, !values.contains(where: { $0.isEmpty }) else {
                cancel?()
                return
            }
            completion(values)
        })
        RenamePrompt.topViewController()?.present(alert, animated: true)
    }
}
