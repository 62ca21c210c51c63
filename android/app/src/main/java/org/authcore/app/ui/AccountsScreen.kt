// The accounts list: codes with countdowns, copy, HOTP next code, rename and delete; container accounts say which container manages them.
@file:OptIn(ExperimentalMaterial3Api::class, ExperimentalFoundationApi::class)

package org.authcore.app.ui

import android.content.Context
import android.os.Build
import android.widget.Toast
import androidx.compose.foundation.ExperimentalFoundationApi
import androidx.compose.foundation.combinedClickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Scaffold
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
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.text.font.FontFamily
import androidx.compose.ui.unit.dp
import androidx.lifecycle.Lifecycle
import androidx.lifecycle.compose.LocalLifecycleOwner
import androidx.lifecycle.repeatOnLifecycle
import kotlinx.coroutines.delay
import org.authcore.Account
import org.authcore.AccountKind
import org.authcore.Code
import org.authcore.app.MainViewModel
import org.authcore.app.Screen
import org.authcore.app.SensitiveClipboard

@Composable
fun AccountsScreen(vm: MainViewModel) {
    val context = LocalContext.current
    var editing by remember { mutableStateOf<Account?>(null) }

    // Codes and countdown refresh once a second while this screen is shown and the
    // activity is at least STARTED: no ticking in the background or behind another app.
    val lifecycleOwner = LocalLifecycleOwner.current
    LaunchedEffect(lifecycleOwner) {
        lifecycleOwner.repeatOnLifecycle(Lifecycle.State.STARTED) {
            while (true) {
                vm.tick()
                delay(1000)
            }
        }
    }

    Scaffold(
        topBar = {
            TopAppBar(
                title = { Text("Accounts") },
                actions = {
                    TextButton(onClick = { vm.openPush() }) { Text("Requests") }
                    TextButton(onClick = { vm.screen = Screen.ADD }) { Text("Add") }
                    TextButton(onClick = { vm.screen = Screen.SETTINGS }) { Text("Settings") }
                },
            )
        },
    ) { padding ->
        if (vm.accounts.isEmpty()) {
            Box(Modifier.padding(padding).fillMaxSize(), contentAlignment = Alignment.Center) {
                Text("No accounts yet. Tap Add.")
            }
        } else {
            LazyColumn(Modifier.padding(padding).fillMaxSize()) {
                items(vm.accounts, key = { it.id }) { account ->
                    AccountRow(
                        account = account,
                        code = vm.codes[account.id],
                        onCopy = { copyCode(context, it) },
                        onNextHotp = { vm.nextHotp(account.id) },
                        onLongPress = { editing = account },
                    )
                    HorizontalDivider()
                }
            }
        }
    }

    editing?.let { account ->
        EditAccountDialog(
            account = account,
            onDismiss = { editing = null },
            onRename = {
                vm.rename(account.id, it)
                editing = null
            },
            onDelete = {
                vm.delete(account.id)
                editing = null
            },
        )
    }
}

@Composable
private fun AccountRow(
    account: Account,
    code: Code?,
    onCopy: (String) -> Unit,
    onNextHotp: () -> Unit,
    onLongPress: () -> Unit,
) {
    val title = account.issuer.ifEmpty { account.name }
    Column(
        Modifier
            .fillMaxWidth()
            .combinedClickable(
                onClick = {
                    when {
                        account.kind == AccountKind.PUSH -> Unit
                        code != null -> onCopy(code.code.value)
                        account.kind == AccountKind.HOTP -> onNextHotp()
                    }
                },
                onLongClick = onLongPress,
            )
            .padding(horizontal = 16.dp, vertical = 12.dp),
        verticalArrangement = Arrangement.spacedBy(4.dp),
    ) {
        Text(title, style = MaterialTheme.typography.titleMedium)
        if (account.issuer.isNotEmpty()) Text(account.name, style = MaterialTheme.typography.bodySmall)
        // Deleting one may be refused by the container's policy: the core answers PolicyRefused (Messages.kt).
        account.containerSerial?.let {
            Text("Managed by $it", style = MaterialTheme.typography.labelSmall, color = MaterialTheme.colorScheme.primary)
        }
        when (account.kind) {
            AccountKind.PUSH -> Text("Push sign-in requests", style = MaterialTheme.typography.bodyMedium)
            AccountKind.HOTP -> Row(verticalAlignment = Alignment.CenterVertically) {
                Text(
                    code?.code?.value?.let(::groupDigits) ?: "––– –––",
                    style = MaterialTheme.typography.headlineMedium,
                    fontFamily = FontFamily.Monospace,
                    modifier = Modifier.weight(1f),
                )
                TextButton(onClick = onNextHotp) { Text("Next code") }
            }
            else -> {
                Text(
                    code?.code?.value?.let(::groupDigits) ?: "…",
                    style = MaterialTheme.typography.headlineMedium,
                    fontFamily = FontFamily.Monospace,
                )
                val left = code?.secondsLeft?.toInt()
                val period = (code?.period ?: account.period).toInt()
                if (left != null && period > 0) {
                    Row(verticalAlignment = Alignment.CenterVertically) {
                        LinearProgressIndicator(
                            progress = { left.toFloat() / period },
                            modifier = Modifier.weight(1f),
                        )
                        Text("  ${left}s", style = MaterialTheme.typography.bodySmall)
                    }
                }
            }
        }
    }
}

@Composable
private fun EditAccountDialog(
    account: Account,
    onDismiss: () -> Unit,
    onRename: (String) -> Unit,
    onDelete: () -> Unit,
) {
    var name by remember { mutableStateOf(account.name) }
    var confirmDelete by remember { mutableStateOf(false) }
    if (confirmDelete) {
        AlertDialog(
            onDismissRequest = onDismiss,
            title = { Text("Delete ${account.issuer.ifEmpty { account.name }}?") },
            text = { Text("You will no longer be able to sign in with this account from this device.") },
            confirmButton = { TextButton(onClick = onDelete) { Text("Delete") } },
            dismissButton = { TextButton(onClick = onDismiss) { Text("Cancel") } },
        )
        return
    }
    AlertDialog(
        onDismissRequest = onDismiss,
        title = { Text("Edit account") },
        text = {
            OutlinedTextField(value = name, onValueChange = { name = it }, label = { Text("Name") }, singleLine = true)
        },
        confirmButton = {
            TextButton(enabled = name.isNotBlank(), onClick = { onRename(name.trim()) }) { Text("Rename") }
        },
        dismissButton = {
            TextButton(onClick = { confirmDelete = true }) { Text("Delete…") }
        },
    )
}

private fun groupDigits(code: String): String =
    if ((code.length == 6 || code.length == 8) && code.all { it.isDigit() }) {
        code.substring(0, code.length / 2) + " " + code.substring(code.length / 2)
    } else {
        code
    }

/** Copies a code, flagged sensitive and cleared after 60 s (SensitiveClipboard). */
private fun copyCode(context: Context, code: String) {
    SensitiveClipboard.copy(context, code)
    // Android 13+ confirms a copy itself.
    if (Build.VERSION.SDK_INT < Build.VERSION_CODES.TIRAMISU) {
        Toast.makeText(context, "Copied", Toast.LENGTH_SHORT).show()
    }
}
