// The top-level gate (PIN screen, set-PIN screen or the app), the message alert, and small shared views.
import AuthenticatorCore
import SwiftUI

/// Gate: nothing but the PIN screen while the vault is locked.
struct RootView: View {
    @EnvironmentObject private var model: AppModel

    var body: some View {
        Group {
            if let lock = model.lockState {
                if lock.locked {
                    UnlockView()
                } else if lock.policy.requirePin && !lock.hasPin {
                    SetPinView()
                } else {
                    AccountsView()
                }
            } else {
                ProgressView()
            }
        }
        // Any tap counts as activity for the core's idle timer.
        .simultaneousGesture(TapGesture().onEnded { model.reportActivity() })
        .alert(item: Binding(
            get: { model.message.map(AlertText.init) },
            set: { if $0 == nil { model.message = nil } }
        )) { text in
            Alert(title: Text(text.text))
        }
    }
}

struct AlertText: Identifiable {
    let text: String
    var id: String { text }
}

struct PrivacyCover: View {
    var body: some View {
        ZStack {
            Color(UIColor.systemBackground).edgesIgnoringSafeArea(.all)
            VStack(spacing: 12) {
                Image(systemName: "lock.shield")
                    .font(.system(size: 56))
                Text("Authenticator").font(.headline)
            }
        }
    }
}

/// A secure field for digits.
struct PinField: View {
    let title: String
    @Binding var text: String

    var body: some View {
        SecureField(title, text: $text)
            .keyboardType(.numberPad)
            .textFieldStyle(RoundedBorderTextFieldStyle())
    }
}
