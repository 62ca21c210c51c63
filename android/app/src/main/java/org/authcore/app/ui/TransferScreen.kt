// Transfer settings: import another app's export file, export to a file (or Google Authenticator links), and automatic encrypted backups to a folder.
@file:OptIn(ExperimentalMaterial3Api::class)

package org.authcore.app.ui

import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.heightIn
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.selection.selectable
import androidx.compose.foundation.selection.selectableGroup
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.RadioButton
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.material3.TopAppBar
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableIntStateOf
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.semantics.Role
import androidx.compose.ui.text.font.FontFamily
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.text.input.PasswordVisualTransformation
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import org.authcore.ExportFormat
import org.authcore.app.AutoBackup
import org.authcore.app.ExportLinks
import org.authcore.app.ExportTarget
import org.authcore.app.ImportPasswordPrompt
import org.authcore.app.MainViewModel
import org.authcore.app.PendingImport
import org.authcore.app.Screen
import org.authcore.app.SensitiveClipboard
import org.authcore.importFormatName

private class FormatChoice(val format: ExportFormat, val label: String, val detail: String)

private val exportChoices = listOf(
    FormatChoice(ExportFormat.AEGIS, "Aegis, encrypted", "A password-protected file Aegis (and this app) can import."),
    FormatChoice(ExportFormat.AEGIS_PLAIN, "Aegis, not encrypted", "A plain file Aegis and most apps can import."),
    FormatChoice(ExportFormat.URI_LIST, "List of otpauth links", "A plain text file, one link a line."),
    FormatChoice(ExportFormat.GOOGLE, "Google Authenticator", "Transfer links, one per QR code, shown on screen."),
)

private fun isPlain(format: ExportFormat) = format != ExportFormat.AEGIS

/** Import (SAF ACTION_OPEN_DOCUMENT), export (ACTION_CREATE_DOCUMENT) and automatic backups (ACTION_OPEN_DOCUMENT_TREE). */
@Composable
fun TransferScreen(vm: MainViewModel) {
    val lock = vm.lockState ?: return
    // Saveable: the create-document picker may outlive a configuration change of this activity.
    var exportFormat by rememberSaveable { mutableStateOf(ExportFormat.AEGIS) }
    var confirmPlain by remember { mutableStateOf(false) }
    var backupDialog by remember { mutableStateOf(false) }
    var turnOffDialog by remember { mutableStateOf(false) }
    val backupProblem by AutoBackup.problem.collectAsStateWithLifecycle()
    LaunchedEffect(Unit) { vm.loadTransfer() }

    // Any type: export files come as .json, .txt, .2fas, .csv, or without a known type.
    val openFile = rememberLauncherForActivityResult(ActivityResultContracts.OpenDocument()) { uri ->
        if (uri != null) vm.startImport(uri)
    }
    val createJson = rememberLauncherForActivityResult(ActivityResultContracts.CreateDocument("application/json")) { uri ->
        if (uri != null) vm.prepareExport(exportFormat, uri)
    }
    val createText = rememberLauncherForActivityResult(ActivityResultContracts.CreateDocument("text/plain")) { uri ->
        if (uri != null) vm.prepareExport(exportFormat, uri)
    }
    val openTree = rememberLauncherForActivityResult(ActivityResultContracts.OpenDocumentTree()) { uri ->
        if (uri != null) vm.chooseBackupFolder(uri)
    }

    fun startExport() {
        when (exportFormat) {
            ExportFormat.AEGIS -> createJson.launch("authenticator-export.json")
            ExportFormat.AEGIS_PLAIN -> createJson.launch("authenticator-export-plain.json")
            ExportFormat.URI_LIST -> createText.launch("authenticator-export.txt")
            ExportFormat.GOOGLE -> vm.prepareExport(ExportFormat.GOOGLE, null)
        }
    }

    Scaffold(
        topBar = {
            TopAppBar(
                title = { Text("Transfer") },
                navigationIcon = { TextButton(onClick = { vm.screen = Screen.SETTINGS }) { Text("Back") } },
            )
        },
    ) { padding ->
        Column(
            Modifier.padding(padding).padding(16.dp).verticalScroll(rememberScrollState()),
            verticalArrangement = Arrangement.spacedBy(12.dp),
        ) {
            Text("Import", style = MaterialTheme.typography.titleMedium)
            Text(
                "From an export of Aegis, 2FAS, Bitwarden, andOTP, FreeOTP+, Ente Auth, or a list of " +
                    "otpauth links. You see what will be added before anything is stored.",
                style = MaterialTheme.typography.bodySmall,
            )
            OutlinedButton(onClick = { openFile.launch(arrayOf("*/*")) }, modifier = Modifier.fillMaxWidth()) {
                Text("Import from a file")
            }

            HorizontalDivider()
            Text("Export", style = MaterialTheme.typography.titleMedium)
            Column(Modifier.selectableGroup()) {
                exportChoices.forEach { choice ->
                    Row(
                        Modifier
                            .fillMaxWidth()
                            .selectable(
                                selected = choice.format == exportFormat,
                                role = Role.RadioButton,
                                onClick = { exportFormat = choice.format },
                            )
                            .padding(vertical = 4.dp),
                        verticalAlignment = Alignment.CenterVertically,
                    ) {
                        RadioButton(selected = choice.format == exportFormat, onClick = null)
                        Column(Modifier.padding(start = 8.dp)) {
                            Text(choice.label)
                            Text(choice.detail, style = MaterialTheme.typography.bodySmall)
                        }
                    }
                }
            }
            if (isPlain(exportFormat)) {
                Text(
                    "Not encrypted: anyone who gets this file or these links can create your codes.",
                    color = MaterialTheme.colorScheme.error,
                    style = MaterialTheme.typography.bodySmall,
                )
            }
            Text(
                "Push tokens and accounts managed by a server's lock policy stay on this phone.",
                style = MaterialTheme.typography.bodySmall,
            )
            OutlinedButton(
                onClick = { if (isPlain(exportFormat)) confirmPlain = true else startExport() },
                modifier = Modifier.fillMaxWidth(),
            ) { Text("Export…") }

            HorizontalDivider()
            Text("Automatic backups", style = MaterialTheme.typography.titleMedium)
            val status = vm.backupStatus
            val folder = vm.backupFolder
            Text(
                when {
                    status == null -> "Loading…"
                    !status.enabled -> "Off. When on, an encrypted backup (Aegis format) is written to a " +
                        "folder you choose after every change."
                    folder == null -> "On, but no folder is chosen: choose one to write backups."
                    status.due -> "On, writing to $folder. A backup is due."
                    else -> "On, writing to $folder. Up to date."
                },
                style = MaterialTheme.typography.bodyMedium,
            )
            backupProblem?.let { Text(it, color = MaterialTheme.colorScheme.error, style = MaterialTheme.typography.bodySmall) }
            OutlinedButton(onClick = { openTree.launch(null) }, modifier = Modifier.fillMaxWidth()) {
                Text(if (folder == null) "Choose folder" else "Choose another folder")
            }
            OutlinedButton(onClick = { backupDialog = true }, modifier = Modifier.fillMaxWidth()) {
                Text(if (status?.enabled == true) "Change backup password" else "Turn on with a password")
            }
            if (status?.enabled == true) {
                if (folder != null && status?.due == true) {
                    OutlinedButton(onClick = { vm.backupNow() }, modifier = Modifier.fillMaxWidth()) { Text("Back up now") }
                }
                OutlinedButton(
                    onClick = { if (lock.hasPin) turnOffDialog = true else vm.turnOffBackups("") },
                    modifier = Modifier.fillMaxWidth(),
                ) { Text("Turn off") }
            }
            if (folder != null) {
                TextButton(onClick = { vm.forgetBackupFolder() }) { Text("Forget folder") }
            }
            Text(
                "Keep the backup password somewhere safe: without it the backups cannot be opened.",
                style = MaterialTheme.typography.bodySmall,
            )
        }
    }

    if (confirmPlain) {
        AlertDialog(
            onDismissRequest = { confirmPlain = false },
            title = { Text("Export without encryption?") },
            text = {
                Text(
                    "The secrets of your accounts will be readable by anyone and any app that can open " +
                        "the file or see the links. Delete it as soon as the other app has imported it.",
                )
            },
            confirmButton = {
                TextButton(onClick = {
                    confirmPlain = false
                    startExport()
                }) { Text("Continue") }
            },
            dismissButton = { TextButton(onClick = { confirmPlain = false }) { Text("Cancel") } },
        )
    }
    vm.importPassword?.let { ImportPasswordDialog(vm, it) }
    vm.pendingImport?.let { ImportPreviewDialog(vm, it) }
    vm.exportTarget?.let { ExportCredentialsDialog(vm, it, lock.hasPin) }
    vm.exportLinks?.let { ExportLinksDialog(vm, it) }
    if (backupDialog) {
        SecretsDialog(
            title = "Backup password",
            password = true,
            pin = lock.hasPin,
            error = null,
            busy = false,
            onDismiss = { backupDialog = false },
        ) { password, pin ->
            backupDialog = false
            vm.setBackupPassword(password!!, pin)
        }
    }
    if (turnOffDialog) {
        PinDialog("Turn off automatic backups", listOf("PIN"), { turnOffDialog = false }, { v ->
            turnOffDialog = false
            vm.turnOffBackups(v[0])
        })
    }
}

@Composable
fun PasswordField(value: String, onValueChange: (String) -> Unit, label: String) {
    OutlinedTextField(
        value = value,
        onValueChange = onValueChange,
        label = { Text(label) },
        singleLine = true,
        visualTransformation = PasswordVisualTransformation(),
        keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Password),
        modifier = Modifier.fillMaxWidth(),
    )
}

/**
 * A file password entered twice (when [password]) and the app PIN (when [pin]): the PIN
 * is the core's fresh check before secrets leave the vault. Without a PIN the core needs none.
 */
@Composable
private fun SecretsDialog(
    title: String,
    password: Boolean,
    pin: Boolean,
    error: String?,
    busy: Boolean,
    onDismiss: () -> Unit,
    onConfirm: (password: String?, pin: String) -> Unit,
) {
    var first by remember { mutableStateOf("") }
    var second by remember { mutableStateOf("") }
    var pinValue by remember { mutableStateOf("") }
    val mismatch = password && second.isNotEmpty() && first != second
    val complete = (!password || (first.isNotEmpty() && first == second)) && (!pin || pinValue.isNotEmpty())
    AlertDialog(
        onDismissRequest = onDismiss,
        title = { Text(title) },
        text = {
            FilterObscuredTouches()
            Column(verticalArrangement = Arrangement.spacedBy(8.dp)) {
                if (password) {
                    PasswordField(first, { first = it }, "File password")
                    PasswordField(second, { second = it }, "Repeat file password")
                    if (mismatch) Text("The passwords do not match.")
                }
                if (pin) PinField(pinValue, { pinValue = it }, "App PIN")
                error?.let { Text(it, color = MaterialTheme.colorScheme.error) }
            }
        },
        confirmButton = {
            TextButton(enabled = complete && !busy, onClick = { onConfirm(if (password) first else null, pinValue) }) {
                Text("OK")
            }
        },
        dismissButton = { TextButton(onClick = onDismiss) { Text("Cancel") } },
    )
}

@Composable
private fun ExportCredentialsDialog(vm: MainViewModel, target: ExportTarget, hasPin: Boolean) {
    val needsPassword = target.format == ExportFormat.AEGIS
    if (!needsPassword && !hasPin) {
        // Nothing to ask: no file password for a plain format, and no PIN is set.
        val error = vm.exportError
        if (error == null) {
            LaunchedEffect(target) { vm.finishExport(null, "") }
        } else {
            AlertDialog(
                onDismissRequest = { vm.cancelExport() },
                text = { Text(error) },
                confirmButton = { TextButton(onClick = { vm.cancelExport() }) { Text("OK") } },
            )
        }
        return
    }
    SecretsDialog(
        title = if (needsPassword) "Encrypt the export" else "Confirm with your PIN",
        password = needsPassword,
        pin = hasPin,
        error = vm.exportError,
        busy = vm.busy,
        onDismiss = { vm.cancelExport() },
    ) { password, pin -> vm.finishExport(password, pin) }
}

@Composable
private fun ImportPasswordDialog(vm: MainViewModel, prompt: ImportPasswordPrompt) {
    var password by remember(prompt) { mutableStateOf("") }
    AlertDialog(
        onDismissRequest = { vm.cancelImport() },
        title = { Text("Encrypted file") },
        text = {
            FilterObscuredTouches()
            Column(verticalArrangement = Arrangement.spacedBy(8.dp)) {
                Text("Enter the password this file was exported with (not the app PIN).")
                PasswordField(password, { password = it }, "File password")
                if (prompt.wrong) Text("This password does not open the file.", color = MaterialTheme.colorScheme.error)
            }
        },
        confirmButton = {
            TextButton(enabled = password.isNotEmpty(), onClick = { vm.submitImportPassword(password) }) { Text("Open") }
        },
        dismissButton = { TextButton(onClick = { vm.cancelImport() }) { Text("Cancel") } },
    )
}

/** What the import will add, skip and refuse; nothing is stored before Import. */
@Composable
private fun ImportPreviewDialog(vm: MainViewModel, pending: PendingImport) {
    val preview = pending.preview
    AlertDialog(
        onDismissRequest = { vm.cancelImport() },
        title = { Text("Import from ${importFormatName(preview.format)}") },
        text = {
            FilterObscuredTouches()
            Column(
                Modifier.heightIn(max = 420.dp).verticalScroll(rememberScrollState()),
                verticalArrangement = Arrangement.spacedBy(6.dp),
            ) {
                Text("Will add (${preview.accounts.size})", style = MaterialTheme.typography.titleSmall)
                if (preview.accounts.isEmpty()) Text("Nothing new in this file.")
                preview.accounts.forEach { a ->
                    Text(listOf(a.issuer, a.name).filter { it.isNotEmpty() }.joinToString(": ") + "  (${a.kind.name})")
                }
                if (preview.skipped.isNotEmpty()) {
                    Text("Skipped (${preview.skipped.size})", style = MaterialTheme.typography.titleSmall)
                    preview.skipped.forEach { Text("${it.entry}: ${it.reason}", style = MaterialTheme.typography.bodySmall) }
                }
                if (preview.refused.isNotEmpty()) {
                    Text("Refused (${preview.refused.size})", style = MaterialTheme.typography.titleSmall)
                    preview.refused.forEach {
                        Text("${it.entry}: ${it.reason}", style = MaterialTheme.typography.bodySmall, color = MaterialTheme.colorScheme.error)
                    }
                }
            }
        },
        confirmButton = {
            TextButton(enabled = preview.accounts.isNotEmpty() && !vm.busy, onClick = { vm.confirmImport() }) {
                Text("Import ${preview.accounts.size}")
            }
        },
        dismissButton = { TextButton(onClick = { vm.cancelImport() }) { Text("Cancel") } },
    )
}

/**
 * Google Authenticator's transfer links, one after another. The app has no QR code
 * renderer (ML Kit here only reads codes), so they are shown as text to copy; FLAG_SECURE
 * keeps them out of screenshots, and the clipboard copy is cleared after a while.
 */
@Composable
private fun ExportLinksDialog(vm: MainViewModel, export: ExportLinks) {
    val context = LocalContext.current
    var index by remember(export) { mutableIntStateOf(0) }
    AlertDialog(
        onDismissRequest = { vm.closeExportLinks() },
        title = { Text(if (export.links.isEmpty()) "Nothing to export" else "Link ${index + 1} of ${export.links.size}") },
        text = {
            FilterObscuredTouches()
            Column(
                Modifier.heightIn(max = 420.dp).verticalScroll(rememberScrollState()),
                verticalArrangement = Arrangement.spacedBy(8.dp),
            ) {
                Text(
                    "Google Authenticator imports these as QR codes (Transfer accounts → Import). " +
                        "This app cannot draw QR codes yet: copy each link into a QR code on a device " +
                        "you trust, or use a file export instead.",
                    style = MaterialTheme.typography.bodySmall,
                )
                export.links.getOrNull(index)?.let { Text(it, fontFamily = FontFamily.Monospace) }
                (export.skipped + export.leftOut).forEach {
                    Text("Not included: ${it.entry}: ${it.reason}", style = MaterialTheme.typography.bodySmall)
                }
            }
        },
        confirmButton = {
            Row {
                export.links.getOrNull(index)?.let { link ->
                    TextButton(onClick = { SensitiveClipboard.copy(context, link) }) { Text("Copy") }
                }
                if (index + 1 < export.links.size) {
                    TextButton(onClick = { index++ }) { Text("Next") }
                } else {
                    TextButton(onClick = { vm.closeExportLinks() }) { Text("Done") }
                }
            }
        },
        dismissButton = {
            if (index > 0) TextButton(onClick = { index-- }) { Text("Previous") }
        },
    )
}
