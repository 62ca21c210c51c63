// The PIN pad (unlock) and the first-PIN screen; the window they live in filters obscured touches (SecureActivity).
package org.authcore.app.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.fragment.app.FragmentActivity
import org.authcore.app.BiometricKeyImpl
import org.authcore.app.MainViewModel

/** PIN entry. Attempts left come from WrongPin; Wiped is handled by the view model (startOver). */
@Composable
fun UnlockScreen(vm: MainViewModel, activity: FragmentActivity) {
    var pin by remember { mutableStateOf("") }
    val lock = vm.lockState
    Column(
        Modifier.fillMaxSize().padding(24.dp),
        verticalArrangement = Arrangement.spacedBy(16.dp, Alignment.CenterVertically),
        horizontalAlignment = Alignment.CenterHorizontally,
    ) {
        Text("Enter your PIN", style = MaterialTheme.typography.headlineSmall)
        PinField(pin, { pin = it }, "PIN")
        vm.pinError?.let { Text(it, color = MaterialTheme.colorScheme.error) }
        if (lock != null && lock.policy.wipeAfterAttempts > 0u) {
            Text(
                "${lock.attemptsLeft} attempts left before the vault is erased.",
                style = MaterialTheme.typography.bodySmall,
            )
        }
        Button(
            enabled = pin.isNotEmpty() && !vm.busy,
            onClick = {
                vm.unlock(pin)
                pin = ""
            },
        ) { Text("Unlock") }
        if (lock?.biometricEnabled == true && BiometricKeyImpl.isAvailable(activity)) {
            TextButton(enabled = !vm.busy, onClick = { vm.unlockWithBiometric(activity) }) {
                Text("Use biometrics")
            }
        }
    }
}

/** Shown when the effective policy (app or an enrolled server) requires a PIN and none is set. */
@Composable
fun SetPinScreen(vm: MainViewModel) {
    var pin by remember { mutableStateOf("") }
    var repeat by remember { mutableStateOf("") }
    val minLength = vm.lockState?.policy?.minPinLength?.toInt() ?: 0
    Column(
        Modifier.fillMaxSize().padding(24.dp),
        verticalArrangement = Arrangement.spacedBy(16.dp, Alignment.CenterVertically),
        horizontalAlignment = Alignment.CenterHorizontally,
    ) {
        Text("Choose a PIN", style = MaterialTheme.typography.headlineSmall)
        if (minLength > 0) Text("At least $minLength digits.", style = MaterialTheme.typography.bodySmall)
        PinField(pin, { pin = it }, "New PIN")
        PinField(repeat, { repeat = it }, "Repeat PIN")
        Button(enabled = pin.isNotEmpty() && pin == repeat, onClick = { vm.setPin(pin) }) { Text("Set PIN") }
    }
}
