// The UI's root: open failure, PIN gate, screen switch, shared PIN widgets.
package org.authcore.app.ui

import androidx.activity.compose.BackHandler
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.Button
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Surface
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.DisposableEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableIntStateOf
import androidx.compose.runtime.mutableStateListOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalView
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.text.input.PasswordVisualTransformation
import androidx.compose.ui.unit.dp
import androidx.fragment.app.FragmentActivity
import org.authcore.app.MainViewModel
import org.authcore.app.Screen

/** Gate: the open error, or nothing but the PIN screen while the vault is locked. */
@Composable
fun AppRoot(vm: MainViewModel, activity: FragmentActivity) {
    Surface(Modifier.fillMaxSize()) {
        val lock = vm.lockState
        val openError = vm.openError
        when {
            openError != null -> OpenFailedScreen(vm, openError)
            lock == null -> Box(Modifier.fillMaxSize(), contentAlignment = Alignment.Center) {
                CircularProgressIndicator()
            }
            lock.locked -> UnlockScreen(vm, activity)
            lock.policy.requirePin && !lock.hasPin -> SetPinScreen(vm)
            else -> {
                BackHandler(enabled = vm.screen != Screen.ACCOUNTS) {
                    vm.screen = when (vm.screen) {
                        Screen.SCAN -> Screen.ADD
                        Screen.TRANSFER, Screen.CONTAINERS -> Screen.SETTINGS
                        else -> Screen.ACCOUNTS
                    }
                }
                when (vm.screen) {
                    Screen.ACCOUNTS -> AccountsScreen(vm)
                    Screen.ADD -> AddScreen(vm)
                    Screen.SCAN -> ScanScreen(vm)
                    Screen.PUSH -> PushScreen(vm)
                    Screen.SETTINGS -> SettingsScreen(vm, activity)
                    Screen.TRANSFER -> TransferScreen(vm)
                    Screen.CONTAINERS -> ContainersScreen(vm)
                }
                vm.enrollment?.let { EnrollmentDialog(vm, it) }
                vm.adoptionOffer?.let { AdoptionDialog(vm, it) }
            }
        }
        vm.message?.let { text ->
            AlertDialog(
                onDismissRequest = { vm.message = null },
                confirmButton = { TextButton(onClick = { vm.message = null }) { Text("OK") } },
                text = { Text(text) },
            )
        }
    }
}

/**
 * The vault could not be opened (for example a keystore fault). Retry opens again; Start
 * over discards the vault and its device key, after two confirmations.
 */
@Composable
private fun OpenFailedScreen(vm: MainViewModel, error: String) {
    var confirmStep by remember { mutableIntStateOf(0) }
    Column(
        Modifier.fillMaxSize().padding(24.dp),
        verticalArrangement = Arrangement.spacedBy(16.dp, Alignment.CenterVertically),
        horizontalAlignment = Alignment.CenterHorizontally,
    ) {
        Text("The vault could not be opened", style = MaterialTheme.typography.headlineSmall)
        Text(error, color = MaterialTheme.colorScheme.error)
        Text(
            "Your accounts are still on this phone. Try again, for example after restarting the phone.",
            style = MaterialTheme.typography.bodySmall,
        )
        Button(onClick = { vm.retryOpen() }) { Text("Retry") }
        TextButton(onClick = { confirmStep = 1 }) { Text("Start over…") }
    }
    when (confirmStep) {
        1 -> AlertDialog(
            onDismissRequest = { confirmStep = 0 },
            title = { Text("Start over?") },
            text = {
                Text(
                    "This deletes the vault on this phone: every account, push token and PIN in it. " +
                        "Only do this if Retry keeps failing.",
                )
            },
            confirmButton = { TextButton(onClick = { confirmStep = 2 }) { Text("Continue") } },
            dismissButton = { TextButton(onClick = { confirmStep = 0 }) { Text("Cancel") } },
        )
        2 -> AlertDialog(
            onDismissRequest = { confirmStep = 0 },
            title = { Text("Delete everything?") },
            text = {
                Text(
                    "This cannot be undone. You will have to add every account again, and the servers " +
                        "of your push tokens will need new enrollments.",
                )
            },
            confirmButton = {
                TextButton(onClick = {
                    confirmStep = 0
                    vm.startOverAfterFailedOpen()
                }) { Text("Delete and start over") }
            },
            dismissButton = { TextButton(onClick = { confirmStep = 0 }) { Text("Cancel") } },
        )
    }
}

/**
 * Tapjacking guard for a dialog: a Compose dialog is its own window, outside the
 * activity's decor view that SecureActivity already protects.
 */
@Composable
fun FilterObscuredTouches() {
    val view = LocalView.current
    DisposableEffect(view) {
        view.rootView.filterTouchesWhenObscured = true
        onDispose { }
    }
}

@Composable
fun PinField(value: String, onValueChange: (String) -> Unit, label: String, modifier: Modifier = Modifier) {
    OutlinedTextField(
        value = value,
        onValueChange = { new -> onValueChange(new.filter { it.isDigit() }) },
        label = { Text(label) },
        singleLine = true,
        visualTransformation = PasswordVisualTransformation(),
        keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.NumberPassword),
        modifier = modifier.fillMaxWidth(),
    )
}

/** A dialog asking for one or more PINs (e.g. current + new + repeat). */
@Composable
fun PinDialog(
    title: String,
    labels: List<String>,
    onDismiss: () -> Unit,
    onConfirm: (List<String>) -> Unit,
    repeatLast: Boolean = false,
) {
    val values = remember { mutableStateListOf(*Array(labels.size) { "" }) }
    val complete = values.all { it.isNotEmpty() } &&
        (!repeatLast || values.size < 2 || values[values.size - 1] == values[values.size - 2])
    AlertDialog(
        onDismissRequest = onDismiss,
        title = { Text(title) },
        text = {
            FilterObscuredTouches()
            Column(verticalArrangement = Arrangement.spacedBy(8.dp)) {
                labels.forEachIndexed { i, label ->
                    PinField(values[i], { values[i] = it }, label)
                }
                if (repeatLast && values.size >= 2 && values.last().isNotEmpty() &&
                    values[values.size - 1] != values[values.size - 2]
                ) {
                    Text("The PINs do not match.", modifier = Modifier.padding(top = 4.dp))
                }
            }
        },
        confirmButton = {
            TextButton(enabled = complete, onClick = { onConfirm(values.toList()) }) { Text("OK") }
        },
        dismissButton = { TextButton(onClick = onDismiss) { Text("Cancel") } },
    )
}
