// Settings: PIN, biometric unlock, the app's own lock policy (idle timeout, background grace), pending push-token updates, containers (sync interval, the way to the Containers screen) and the way to Transfer.
@file:OptIn(ExperimentalMaterial3Api::class)

package org.authcore.app.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.selection.selectable
import androidx.compose.foundation.selection.selectableGroup
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.RadioButton
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Switch
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.material3.TopAppBar
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.semantics.Role
import androidx.compose.ui.unit.dp
import androidx.fragment.app.FragmentActivity
import org.authcore.KeyProtection
import org.authcore.app.BiometricKeyImpl
import org.authcore.app.MainViewModel
import org.authcore.app.Screen

private enum class PinAction { SET, CHANGE, REMOVE }

/** Lock after inactivity: the app's choices (a server may require less). */
private val idleChoices: List<Pair<ULong?, String>> = listOf(
    null to "Never",
    60uL to "After 1 minute",
    300uL to "After 5 minutes",
    900uL to "After 15 minutes",
)

/** Automatic container synchronization after unlock (seconds; 0 = never automatically). */
private val containerSyncChoices: List<Pair<ULong, String>> = listOf(
    0uL to "Off",
    3_600uL to "Every hour",
    21_600uL to "Every 6 hours",
    86_400uL to "Every 24 hours",
)

/** Lock after leaving the app: the app's choices (a server may require less). */
private val graceChoices: List<Pair<ULong, String>> = listOf(
    0uL to "Immediately",
    30uL to "After 30 seconds",
    60uL to "After 1 minute",
    300uL to "After 5 minutes",
)

private fun durationText(seconds: ULong): String = when {
    seconds == 0uL -> "immediately"
    seconds < 60uL -> "after $seconds s"
    seconds % 60uL == 0uL -> "after ${seconds / 60uL} min"
    else -> "after $seconds s"
}

/**
 * PIN set/change/remove, biometric unlock on/off, the app's own lock policy, lock now,
 * and the servers still waiting for a new push token. The core enforces every rule and
 * the effective policy (the strictest of the app's and every server's); this screen
 * shows the core's answers.
 */
@Composable
fun SettingsScreen(vm: MainViewModel, activity: FragmentActivity) {
    val lock = vm.lockState ?: return
    var pinAction by remember { mutableStateOf<PinAction?>(null) }
    val biometricAvailable = remember { BiometricKeyImpl.isAvailable(activity) }
    LaunchedEffect(Unit) { vm.loadSettings() }

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
            Text("Device key", style = MaterialTheme.typography.titleMedium)
            Text(
                when (lock.protection) {
                    KeyProtection.STRONGBOX -> "In StrongBox, the phone's separate security chip: every PIN check needs this phone."
                    KeyProtection.TEE -> "In the phone's trusted execution environment: every PIN check needs this phone."
                    KeyProtection.SECURE_ENCLAVE -> "In the Secure Enclave: every PIN check needs this phone."
                    KeyProtection.SOFTWARE, null -> "In software only: this phone has no secure hardware for it."
                },
                style = MaterialTheme.typography.bodySmall,
            )

            HorizontalDivider()
            LockPolicySection(vm)

            HorizontalDivider()
            PushTokenSection(vm)

            HorizontalDivider()
            ContainerSection(vm)

            HorizontalDivider()
            Text("Import, export and backups", style = MaterialTheme.typography.titleMedium)
            OutlinedButton(onClick = { vm.screen = Screen.TRANSFER }, modifier = Modifier.fillMaxWidth()) {
                Text("Transfer")
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

/** The app's own idle timeout and background grace (`setAppPolicy`), and what is in force. */
@Composable
private fun LockPolicySection(vm: MainViewModel) {
    val lock = vm.lockState ?: return
    val effective = lock.policy
    val own = vm.appPolicy

    Text("Lock", style = MaterialTheme.typography.titleMedium)
    if (own == null) {
        Text("Loading…", style = MaterialTheme.typography.bodySmall)
        return
    }

    Text("When the app is not used", style = MaterialTheme.typography.bodyLarge)
    ChoiceGroup(idleChoices, own.idleTimeoutSeconds, enabled = true) { vm.setIdleTimeout(it) }
    if (!lock.hasPin) {
        Text("Locking needs an app PIN.", style = MaterialTheme.typography.bodySmall)
    }
    val ownIdle = own.idleTimeoutSeconds
    effective.idleTimeoutSeconds?.let { inForce ->
        if (ownIdle == null || inForce < ownIdle) {
            Text("A server requires locking ${durationText(inForce)} without use.", style = MaterialTheme.typography.bodySmall)
        }
    }

    Text("When you leave the app or the screen turns off", style = MaterialTheme.typography.bodyLarge)
    ChoiceGroup(graceChoices, own.backgroundGraceSeconds, enabled = true) { vm.setBackgroundGrace(it) }
    if (effective.backgroundGraceSeconds < own.backgroundGraceSeconds) {
        Text(
            "A server requires locking ${durationText(effective.backgroundGraceSeconds)} after you leave the app.",
            style = MaterialTheme.typography.bodySmall,
        )
    }

    vm.policyError?.let { Text(it, color = MaterialTheme.colorScheme.error) }

    Text(
        listOfNotNull(
            if (effective.wipeAfterAttempts > 0u) "Erases the vault after ${effective.wipeAfterAttempts} wrong PINs" else null,
            if (effective.minPinLength > 0u) "PIN length at least ${effective.minPinLength}" else null,
        ).joinToString("\n"),
        style = MaterialTheme.typography.bodySmall,
    )
    if (lock.hasPin) {
        OutlinedButton(onClick = { vm.lockNow() }, modifier = Modifier.fillMaxWidth()) { Text("Lock now") }
    }
}

/** Servers that have not taken this phone's new push token yet (the queue is in the vault). */
@Composable
private fun PushTokenSection(vm: MainViewModel) {
    Text("Push token", style = MaterialTheme.typography.titleMedium)
    val pending = vm.pendingTokenUpdates
    if (pending.isEmpty()) {
        Text("Every server has this phone's current push token.", style = MaterialTheme.typography.bodySmall)
        return
    }
    Text(
        if (pending.size == 1) "1 server still needs the new push token." else "${pending.size} servers still need the new push token.",
        style = MaterialTheme.typography.bodyMedium,
    )
    pending.forEach { update ->
        Text(
            "${update.serial}: " + (update.lastError ?: "not sent yet") +
                if (update.attempts > 0u) " (${update.attempts} attempts)" else "",
            style = MaterialTheme.typography.bodySmall,
        )
    }
    OutlinedButton(
        enabled = !vm.retryingTokenUpdates,
        onClick = { vm.retryTokenUpdatesNow() },
        modifier = Modifier.fillMaxWidth(),
    ) { Text(if (vm.retryingTokenUpdates) "Sending…" else "Retry now") }
}

/** privacyIDEA containers: how often they synchronize by themselves, and the Containers screen. */
@Composable
private fun ContainerSection(vm: MainViewModel) {
    Text("Containers", style = MaterialTheme.typography.titleMedium)
    Text(
        "Accounts a privacyIDEA server manages on this phone. They synchronize after an unlock when due, " +
            "and when a push for one of their tokens arrives.",
        style = MaterialTheme.typography.bodySmall,
    )
    val interval = vm.containerSyncSeconds
    if (interval == null) {
        Text("Loading…", style = MaterialTheme.typography.bodySmall)
    } else {
        // A stored value that is not one of the choices stays selectable.
        val choices = if (containerSyncChoices.any { it.first == interval }) {
            containerSyncChoices
        } else {
            containerSyncChoices + (interval to "Every ${interval / 60uL} min")
        }
        ChoiceGroup(choices, interval, enabled = true) { vm.chooseContainerSyncInterval(it) }
    }
    OutlinedButton(onClick = { vm.openContainers() }, modifier = Modifier.fillMaxWidth()) { Text("Containers") }
}

@Composable
private fun <T> ChoiceGroup(choices: List<Pair<T, String>>, selected: T, enabled: Boolean, onSelect: (T) -> Unit) {
    Column(Modifier.selectableGroup()) {
        choices.forEach { (value, label) ->
            Row(
                Modifier
                    .fillMaxWidth()
                    .selectable(
                        selected = value == selected,
                        enabled = enabled,
                        role = Role.RadioButton,
                        onClick = { if (value != selected) onSelect(value) },
                    )
                    .padding(vertical = 4.dp),
                verticalAlignment = Alignment.CenterVertically,
            ) {
                RadioButton(selected = value == selected, onClick = null, enabled = enabled)
                Text(label, Modifier.padding(start = 8.dp))
            }
        }
    }
}
