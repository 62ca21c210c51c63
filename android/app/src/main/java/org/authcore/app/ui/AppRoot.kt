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
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Surface
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.mutableStateListOf
import androidx.compose.runtime.remember
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.text.input.PasswordVisualTransformation
import androidx.compose.ui.unit.dp
import androidx.fragment.app.FragmentActivity
import org.authcore.app.MainViewModel
import org.authcore.app.Screen

/** Gate: nothing but the PIN screen while the vault is locked. */
@Composable
fun AppRoot(vm: MainViewModel, activity: FragmentActivity) {
    Surface(Modifier.fillMaxSize()) {
        val lock = vm.lockState
        when {
            lock == null -> Box(Modifier.fillMaxSize(), contentAlignment = Alignment.Center) {
                CircularProgressIndicator()
            }
            lock.locked -> UnlockScreen(vm, activity)
            lock.policy.requirePin && !lock.hasPin -> SetPinScreen(vm)
            else -> {
                BackHandler(enabled = vm.screen != Screen.ACCOUNTS) {
                    vm.screen = if (vm.screen == Screen.SCAN) Screen.ADD else Screen.ACCOUNTS
                }
                when (vm.screen) {
                    Screen.ACCOUNTS -> AccountsScreen(vm)
                    Screen.ADD -> AddScreen(vm)
                    Screen.SCAN -> ScanScreen(vm)
                    Screen.PUSH -> PushScreen(vm)
                    Screen.SETTINGS -> SettingsScreen(vm, activity)
                }
                vm.enrollment?.let { EnrollmentDialog(vm, it) }
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
