// The PIN screen (with Face ID / Touch ID when enabled) and the first-PIN screen a policy may require.
import AuthenticatorCore
import SwiftUI

/// PIN entry. Attempts left come from WrongPin; Wiped is handled by the model (startOver).
/// Pending sign-in requests are readable while locked: the screen says one is waiting.
struct UnlockView: View {
    @EnvironmentObject private var model: AppModel
    @State private var pin = ""

    var body: some View {
        VStack(spacing: 16) {
            Spacer()
            Image(systemName: "lock.shield").font(.system(size: 48))
            Text("Enter your PIN").font(.title2)
            PinField(title: "PIN", text: $pin)
            if let error = model.pinError {
                Text(error).foregroundColor(.red).multilineTextAlignment(.center)
            }
            if let lock = model.lockState, lock.policy.wipeAfterAttempts > 0 {
                Text("\(lock.attemptsLeft) attempts left before the vault is erased.")
                    .font(.footnote).foregroundColor(.secondary)
            }
            Button("Unlock") {
                model.unlock(pin: pin)
                pin = ""
            }
            .disabled(pin.isEmpty || model.busy)
            if model.lockState?.biometricEnabled == true && SecureEnclaveBiometricKey.isAvailable {
                Button("Use Face ID / Touch ID") { model.unlockWithBiometric() }
                    .disabled(model.busy)
            }
            if let waiting = waitingText {
                Text(waiting)
                    .font(.footnote)
                    .multilineTextAlignment(.center)
                    .padding(.top, 8)
            }
            Spacer()
        }
        .padding(24)
        .onAppear { model.loadPending() }
    }

    private var waitingText: String? {
        let now = Int64(Date().timeIntervalSince1970)
        let waiting = model.challenges.filter { $0.expiresAt > now }
        guard let first = waiting.first else { return nil }
        if waiting.count == 1 {
            return "Sign-in request waiting: \(first.title). Unlock to answer it."
        }
        return "\(waiting.count) sign-in requests are waiting. Unlock to answer them."
    }
}

/// Shown when the effective policy requires a PIN and none is set.
struct SetPinView: View {
    @EnvironmentObject private var model: AppModel
    @State private var pin = ""
    @State private var repeated = ""

    var body: some View {
        VStack(spacing: 16) {
            Spacer()
            Text("Choose a PIN").font(.title2)
            if let minimum = model.lockState?.policy.minPinLength, minimum > 0 {
                Text("At least \(minimum) digits.").font(.footnote).foregroundColor(.secondary)
            }
            PinField(title: "New PIN", text: $pin)
            PinField(title: "Repeat PIN", text: $repeated)
            Button("Set PIN") { model.setPin(pin) }
                .disabled(pin.isEmpty || pin != repeated)
            Spacer()
        }
        .padding(24)
    }
}
