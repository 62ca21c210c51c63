// The codes screen: every account with its current code (copied for 60 s on tap), and the entry
// points to the other screens. Codes tick only while this screen is visible and the scene active.
// Container accounts say which container manages them (deleting one may be refused by its policy).
import AuthenticatorCore
import SwiftUI
import UIKit
import UniformTypeIdentifiers

struct AccountsView: View {
    @EnvironmentObject private var model: AppModel
    @State private var editing: EditTarget?

    var body: some View {
        NavigationView {
            Group {
                if model.accounts.isEmpty {
                    Text("No accounts yet. Tap Add.").foregroundColor(.secondary)
                } else {
                    List {
                        ForEach(model.accounts, id: \.id) { account in
                            AccountRow(account: account, code: model.codes[account.id]) {
                                editing = EditTarget(account: account)
                            }
                        }
                    }
                    .listStyle(PlainListStyle())
                }
            }
            .navigationTitle("Accounts")
            .toolbar {
                ToolbarItem(placement: .navigationBarLeading) {
                    Button("Settings") { model.sheet = .settings }
                }
                ToolbarItemGroup(placement: .navigationBarTrailing) {
                    Button("Requests") { model.openPush() }
                    Button("Add") { model.sheet = .add }
                }
            }
        }
        .navigationViewStyle(StackNavigationViewStyle())
        // One timeCodes() call per second, only while visible (the model also stops it
        // while the scene is not active).
        .onAppear { model.setCodesVisible(true) }
        .onDisappear { model.setCodesVisible(false) }
        .sheet(item: $model.sheet) { sheet in
            Group {
                switch sheet {
                case .add: AddView()
                case .push: PushRequestsView()
                case .settings: SettingsView()
                case .enrollment: EnrollmentView()
                case .adoption: AdoptionView()
                }
            }
            .environmentObject(model)
        }
        .actionSheet(item: $editing) { target in
            let account = target.account
            return ActionSheet(
                title: Text(account.issuer.isEmpty ? account.name : account.issuer),
                buttons: [
                    .default(Text("Rename")) { RenamePrompt.show(current: account.name) { model.rename(accountId: account.id, to: $0) } },
                    .destructive(Text("Delete")) { model.delete(accountId: account.id) },
                    .cancel(),
                ]
            )
        }
    }
}

struct EditTarget: Identifiable {
    let account: Account
    var id: String { account.id }
}

private struct AccountRow: View {
    @EnvironmentObject private var model: AppModel
    let account: Account
    let code: Code?
    let onEdit: () -> Void

    var body: some View {
        VStack(alignment: .leading, spacing: 4) {
            Text(account.issuer.isEmpty ? account.name : account.issuer).font(.headline)
            if !account.issuer.isEmpty {
                Text(account.name).font(.caption).foregroundColor(.secondary)
            }
            if let serial = account.containerSerial {
                Text("Managed by \(serial)").font(.caption2).foregroundColor(.accentColor)
            }
            switch account.kind {
            case .push:
                Text("Push sign-in requests").font(.subheadline)
            case .hotp:
                HStack {
                    Text(code.map { grouped($0.code.value) } ?? "––– –––").font(.system(.title, design: .monospaced))
                    Spacer()
                    Button("Next code") { model.nextHotp(accountId: account.id) }
                        .buttonStyle(BorderlessButtonStyle())
                }
            default:
                Text(code.map { grouped($0.code.value) } ?? "…").font(.system(.title, design: .monospaced))
                if let left = code?.secondsLeft, (code?.period ?? account.period) > 0 {
                    HStack {
                        ProgressView(value: Double(left), total: Double(code?.period ?? account.period))
                        Text("\(left)s").font(.caption).foregroundColor(.secondary)
                    }
                }
            }
        }
        .padding(.vertical, 4)
        .contentShape(Rectangle())
        .onTapGesture {
            model.reportActivity()
            if let code = code, account.kind != .push {
                copy(code.code.value)
            } else if account.kind == .hotp {
                model.nextHotp(accountId: account.id)
            }
        }
        .onLongPressGesture(perform: onEdit)
    }

    /// Local-only pasteboard item that expires after a minute.
    private func copy(_ text: String) {
        UIPasteboard.general.setItems(
            [[UTType.plainText.identifier: text]],
            options: [.localOnly: true, .expirationDate: Date().addingTimeInterval(60)]
        )
    }

    private func grouped(_ code: String) -> String {
        guard code.count == 6 || code.count == 8, code.allSatisfy({ $0.isNumber }) else { return code }
        let mid = code.index(code.startIndex, offsetBy: code.count / 2)
        return String(code[..<mid]) + " " + String(code[mid...])
    }
}

/// A UIKit text prompt (SwiftUI on iOS 14 has no alert with a text field).
enum RenamePrompt {
    static func show(current: String, completion: @escaping (String) -> Void) {
        let alert = UIAlertController(title: "Rename", message: nil, preferredStyle: .alert)
        alert.addTextField { $0.text = current }
        alert.addAction(UIAlertAction(title: "Cancel", style: .cancel))
        alert.addAction(UIAlertAction(title: "Rename", style: .default) { _ in
            let name = alert.textFields?.first?.text?.trimmingCharacters(in: .whitespaces) ?? ""
            if !name.isEmpty { completion(name) }
        })
        topViewController()?.present(alert, animated: true)
    }

    static func topViewController() -> UIViewController? {
        let scene = UIApplication.shared.connectedScenes.first { $0.activationState == .foregroundActive } as? UIWindowScene
        var top = scene?.windows.first { $0.isKeyWindow }?.rootViewController
        while let presented = top?.presentedViewController { top = presented }
        return top
    }
}
