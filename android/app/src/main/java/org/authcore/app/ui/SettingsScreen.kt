@file:OptIn(ExperimentalMaterial3Api::class)

package org.authcore.app.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Switch
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.material3.TopAppBar
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
import org.authcore.app.Screen

private enum class PinAction { SET, CHANGE, REMOVE }

/** PIN set/change/remove, biometric unlock on/off, lock now. Policy is enforced by the core. */
@Composable
fun SettingsScreen(vm: MainViewModel, activity: FragmentActivity) {
    val lock = vm.lockState ?: return
    var pinAction by remember { mutableStateOf<PinAction?>(null) }
    val biometricAvailable = remember { BiometricKeyImpl.isAvailable(activity) }

    Scaffold(
        topBar = {
            TopAppBar(
                title = { Text("Settings") },
                navigationIcon = { TextButton(onClick = { vm.screen = Screen.ACCOUNTS }) { Text("Back") } },
            )
        },
    ) { padding ->
        Column(
            Modifier.padding(padding).padding(16.dp).verticalScroll(rememberScrollState()),
            verticalArrangement = Arrangement.spacedBy(12.dp),
        ) {
            Text("App PIN", style = MaterialTheme.typography.titleMedium)
            if (lock.hasPin) {
                OutlinedButton(onClick = { pinAction = PinAction.CHANGE }, modifier = Modifier.fillMaxWidth()) {
                    Text("Change PIN")
                }
                OutlinedButton(
                    enabled = !lock.policy.requirePin,
                    onClick = { pinAction = PinAction.REMOVE },
                    modifier = Modifier.fillMaxWidth(),
                ) { Text("Remove PIN") }
                if (lock.policy.requirePin) {
                    Text("A PIN is required by your settings or by a server.", style = MaterialTheme.typography.bodySmall)
                }
            } else {
                OutlinedButton(onClick = { pinAction = PinAction.SET }, modifier = Modifier.fillMaxWidth()) {
                    Text("Set PIN")
                }
            }

            HorizontalDivider()
            Row(verticalAlignment = Alignment.CenterVertically) {
                Column(Modifier.weight(1f)) {
                    Text("Biometric unlock", style = MaterialTheme.typography.titleMedium)
                    Text(
                        when {
                            !lock.hasPin -> "Set a PIN first."
                            !biometricAvailable -> "No strong biometric enrolled on this device."
                            else -> "Unlock with your fingerprint or face instead of the PIN."
                        },
                        style = MaterialTheme.typography.bodySmall,
                    )
                }
                Switch(
                    checked = lock.biometricEnabled,
                    enabled = lock.hasPin && (biometricAvailable || lock.biometricEnabled),
                    onCheckedChange = { on -> if (on) vm.enableBiometric(activity) else vm.disableBiometric() },
                )
            }

            HorizontalDivider()
            Text("Lock policy", style = MaterialTheme.typography.titleMedium)
            val policy = lock.policy
            Text(
                listOfNotNull(
                    policy.idleTimeoutSeconds?.let { "Locks after $it s without activity" },
                    if (policy.wipeAfterAttempts > 0u) "Erases the vault after ${policy.wipeAfterAttempts} wrong PINs" else null,
                    if (policy.minPinLength > 0u) "PIN length at least ${policy.minPinLength}" else null,
                ).joinToString("\n").ifEmpty { "No restrictions" },
                style = MaterialTheme.typography.bodySmall,
            )
            if (lock.hasPin) {
                OutlinedButton(onClick = { vm.lockNow() }, modifier = Modifier.fillMaxWidth()) { Text("Lock now") }
            }
        }
    }

    when (pinAction) {
        PinAction.SET -> PinDialog("Set PIN", listOf("New PIN", "Repeat PIN"), { pinAction = null }, { v ->
            vm.setPin(v[0])
            pinAction = null
        }, repeatLast = true)
        PinAction.CHANGE -> PinDialog("Change PIN", listOf("Current PIN", "New PIN", "Repeat new PIN"), { pinAction = null }, { v ->
            vm.changePin(v[0], v[1])
            pinAction = null
        }, repeatLast = true)
        PinAction.REMOVE -> PinDialog("Remove PIN", listOf("Current PIN"), { pinAction = null }, { v ->
            vm.removePin(v[0])
            pinAction = null
        })
        null -> Unit
    }
}
