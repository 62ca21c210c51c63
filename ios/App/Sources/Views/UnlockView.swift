import AuthenticatorCore
import SwiftUI

/// PIN entry. Attempts left come from WrongPin; Wiped is handled by the model (startOver).
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
            Spacer()
        }
        .padding(24)
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
