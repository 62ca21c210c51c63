// privacyIDEA containers: one card per container (sync now, transfer to a new phone with a full-screen secure QR, unregister), the automatic-sync banner, and the first sync's offer to adopt local accounts.
@file:OptIn(ExperimentalMaterial3Api::class)

/*
 * Documents followed:
 * - Dialog / DialogProperties(usePlatformDefaultWidth, securePolicy):
 *   https://developer.android.com/reference/kotlin/androidx/compose/ui/window/DialogProperties
 * - SecureFlagPolicy.SecureOn (FLAG_SECURE on the dialog's own window):
 *   https://developer.android.com/reference/kotlin/androidx/compose/ui/window/SecureFlagPolicy
 *   https://developer.android.com/reference/android/view/WindowManager.LayoutParams#FLAG_SECURE
 * - Image(ImageBitmap) and Bitmap.asImageBitmap, FilterQuality.None for crisp QR modules:
 *   https://developer.android.com/develop/ui/compose/graphics/images/loading
 *   https://developer.android.com/reference/kotlin/androidx/compose/ui/graphics/FilterQuality
 * - Checkbox rows with Modifier.toggleable(role = Role.Checkbox):
 *   https://developer.android.com/develop/ui/compose/components/checkbox
 * - DateUtils.getRelativeTimeSpanString, java.text.DateFormat (API 1/3, below minSdk 26):
 *   https://developer.android.com/reference/android/text/format/DateUtils
 *   https://developer.android.com/reference/java/text/DateFormat
 * - collectAsStateWithLifecycle (the banner's StateFlow):
 *   https://developer.android.com/reference/kotlin/androidx/lifecycle/compose/collectAsStateWithLifecycle.composable
 */
package org.authcore.app.ui

import android.text.format.DateUtils
import androidx.compose.foundation.Image
import androidx.compose.foundation.background
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.aspectRatio
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.heightIn
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.selection.toggleable
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.Button
import androidx.compose.material3.Checkbox
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Surface
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.material3.TopAppBar
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateListOf
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.FilterQuality
import androidx.compose.ui.graphics.asImageBitmap
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.semantics.Role
import androidx.compose.ui.text.font.FontFamily
import androidx.compose.ui.text.font.FontWeight
import androidx.compose.ui.unit.dp
import androidx.compose.ui.window.Dialog
import androidx.compose.ui.window.DialogProperties
import androidx.compose.ui.window.SecureFlagPolicy
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import org.authcore.Container
import org.authcore.ContainerState
import org.authcore.app.AdoptionOffer
import org.authcore.app.ContainerSync
import org.authcore.app.MainViewModel
import org.authcore.app.Screen
import org.authcore.app.SensitiveClipboard
import org.authcore.app.ShownTransfer
import java.text.DateFormat
import java.util.Date

/** Local date and time of a unix second. */
fun dateTimeText(unixSeconds: Long): String =
    DateFormat.getDateTimeInstance(DateFormat.MEDIUM, DateFormat.SHORT).format(Date(unixSeconds * 1000))

private fun relativeText(unixSeconds: Long): String =
    DateUtils.getRelativeTimeSpanString(unixSeconds * 1000, System.currentTimeMillis(), DateUtils.MINUTE_IN_MILLIS).toString()

/**
 * Every registered container. The core enforces the policies (unregister, deletion,
 * transfer); the buttons only follow them so the user is not offered what will be refused.
 */
@Composable
fun ContainersScreen(vm: MainViewModel) {
    var confirmRemove by remember { mutableStateOf<Container?>(null) }
    var transferFor by remember { mutableStateOf<Container?>(null) }
    val problems by ContainerSync.problems.collectAsStateWithLifecycle()
    LaunchedEffect(Unit) { vm.loadContainers() }

    Scaffold(
        topBar = {
            TopAppBar(
                title = { Text("Containers") },
                navigationIcon = { TextButton(onClick = { vm.screen = Screen.SETTINGS }) { Text("Back") } },
            )
        },
    ) { padding ->
        Column(
            Modifier.padding(padding).padding(16.dp).verticalScroll(rememberScrollState()),
            verticalArrangement = Arrangement.spacedBy(12.dp),
        ) {
            if (problems.isNotEmpty()) SyncBanner(problems)
            if (vm.containers.isEmpty()) {
                Text(
                    "No containers. To register one, scan its privacyIDEA QR code from Add.",
                    style = MaterialTheme.typography.bodyMedium,
                )
            }
            vm.containers.forEach { c ->
                ContainerCard(
                    vm = vm,
                    container = c,
                    onTransfer = { transferFor = c },
                    onRemove = { confirmRemove = c },
                )
                HorizontalDivider()
            }
        }
    }

    confirmRemove?.let { c -> RemoveDialog(c, onDismiss = { confirmRemove = null }) {
        confirmRemove = null
        vm.removeContainer(c.serial)
    } }
    transferFor?.let { c -> TransferPassphraseDialog(c.serial, onDismiss = { transferFor = null }) { passphrase ->
        transferFor = null
        vm.requestTransfer(c.serial, passphrase)
    } }
    vm.containerTransfer?.let { TransferQrDialog(vm, it) }
}

/** What the last automatic sync could not do; unobtrusive, dismissible. */
@Composable
private fun SyncBanner(problems: List<String>) {
    Column(
        Modifier
            .fillMaxWidth()
            .background(MaterialTheme.colorScheme.errorContainer)
            .padding(12.dp),
        verticalArrangement = Arrangement.spacedBy(4.dp),
    ) {
        Text(
            "Automatic synchronization",
            style = MaterialTheme.typography.titleSmall,
            color = MaterialTheme.colorScheme.onErrorContainer,
        )
        problems.forEach {
            Text(it, style = MaterialTheme.typography.bodySmall, color = MaterialTheme.colorScheme.onErrorContainer)
        }
        TextButton(onClick = { ContainerSync.clearProblems() }) { Text("Dismiss") }
    }
}

@Composable
private fun ContainerCard(vm: MainViewModel, container: Container, onTransfer: () -> Unit, onRemove: () -> Unit) {
    val c = container
    val count = c.accountIds.size
    Column(verticalArrangement = Arrangement.spacedBy(6.dp)) {
        Text(c.serial, style = MaterialTheme.typography.titleMedium, fontWeight = FontWeight.Bold)
        Text(c.serverUrl, style = MaterialTheme.typography.bodySmall)
        if (!c.tlsVerify) {
            Text("TLS certificate checks are off for this server", color = MaterialTheme.colorScheme.error)
        }
        Text(
            (if (count == 1) "1 account" else "$count accounts") + " · " +
                (c.lastSyncAt?.let { "synchronized ${relativeText(it)}" } ?: "never synchronized"),
            style = MaterialTheme.typography.bodySmall,
        )
        when (c.state) {
            ContainerState.TRANSFERRED -> {
                Text(
                    "Moved to another phone: this phone no longer gets its updates.",
                    color = MaterialTheme.colorScheme.error,
                )
                OutlinedButton(enabled = !vm.busy, onClick = onRemove, modifier = Modifier.fillMaxWidth()) {
                    Text("Remove its accounts…")
                }
            }
            ContainerState.REGISTERED -> {
                if (c.adoptableAccountIds.isNotEmpty()) {
                    Text(
                        "Not synchronized yet: the server offers to manage ${c.adoptableAccountIds.size} " +
                            "account(s) already on this phone.",
                        style = MaterialTheme.typography.bodySmall,
                    )
                    Button(enabled = !vm.busy, onClick = { vm.openAdoption(c) }, modifier = Modifier.fillMaxWidth()) {
                        Text("Choose accounts…")
                    }
                }
                if (c.syncRequested) {
                    Text("The server asked for a synchronization.", style = MaterialTheme.typography.bodySmall)
                }
                val syncing = vm.syncingContainer == c.serial
                OutlinedButton(
                    enabled = vm.syncingContainer == null && !vm.busy,
                    onClick = { vm.syncContainerNow(c.serial) },
                    modifier = Modifier.fillMaxWidth(),
                ) { Text(if (syncing) "Synchronizing…" else "Synchronize now") }
                if (syncing) LinearProgressIndicator(Modifier.fillMaxWidth())
                if (c.policies.clientRollover) {
                    OutlinedButton(enabled = !vm.busy, onClick = onTransfer, modifier = Modifier.fillMaxWidth()) {
                        Text("Transfer to a new phone")
                    }
                }
                OutlinedButton(
                    enabled = !vm.busy && !c.policies.disableUnregister,
                    onClick = onRemove,
                    modifier = Modifier.fillMaxWidth(),
                ) { Text("Unregister…") }
                if (c.policies.disableUnregister) {
                    Text(
                        "Your organization's policy does not allow removing this container from the phone.",
                        style = MaterialTheme.typography.bodySmall,
                    )
                }
            }
        }
    }
}

@Composable
private fun RemoveDialog(c: Container, onDismiss: () -> Unit, onConfirm: () -> Unit) {
    val count = c.accountIds.size
    val accounts = if (count == 1) "1 account" else "$count accounts"
    val transferred = c.state == ContainerState.TRANSFERRED
    AlertDialog(
        onDismissRequest = onDismiss,
        title = { Text(if (transferred) "Remove the accounts of ${c.serial}?" else "Unregister ${c.serial}?") },
        text = {
            FilterObscuredTouches()
            Text(
                if (transferred) {
                    "The container now lives on another phone. This removes its $accounts from this phone."
                } else {
                    "The server ends this phone's registration, then its $accounts are removed from this " +
                        "phone. You will no longer be able to sign in with them here."
                },
            )
        },
        confirmButton = { TextButton(onClick = onConfirm) { Text(if (transferred) "Remove $accounts" else "Unregister and remove $accounts") } },
        dismissButton = { TextButton(onClick = onDismiss) { Text("Cancel") } },
    )
}

/** An optional passphrase the user chooses for the transfer QR, entered twice. */
@Composable
private fun TransferPassphraseDialog(serial: String, onDismiss: () -> Unit, onConfirm: (String?) -> Unit) {
    var first by remember { mutableStateOf("") }
    var second by remember { mutableStateOf("") }
    val mismatch = second.isNotEmpty() && first != second
    AlertDialog(
        onDismissRequest = onDismiss,
        title = { Text("Transfer $serial") },
        text = {
            FilterObscuredTouches()
            Column(verticalArrangement = Arrangement.spacedBy(8.dp)) {
                Text(
                    "The server makes a QR code for the new phone. Optionally protect it with a passphrase " +
                        "that the new phone must enter; leave both fields empty for none.",
                    style = MaterialTheme.typography.bodySmall,
                )
                PasswordField(first, { first = it }, "Passphrase (optional)")
                PasswordField(second, { second = it }, "Repeat passphrase")
                if (mismatch) Text("The passphrases do not match.", color = MaterialTheme.colorScheme.error)
            }
        },
        confirmButton = {
            TextButton(enabled = first == second, onClick = { onConfirm(first.ifEmpty { null }) }) { Text("Create QR code") }
        },
        dismissButton = { TextButton(onClick = onDismiss) { Text("Cancel") } },
    )
}

/**
 * The transfer QR, full screen, in its own window with FLAG_SECURE forced (SecureOn, not
 * just inherited from SecureActivity): no screenshots, recordings or recents thumbnail.
 * The server's image when the core has one; otherwise the link as text to copy (the app
 * has no QR renderer, like the Google export in TransferScreen).
 */
@Composable
private fun TransferQrDialog(vm: MainViewModel, shown: ShownTransfer) {
    val context = LocalContext.current
    val t = shown.transfer
    Dialog(
        onDismissRequest = { vm.closeTransfer() },
        properties = DialogProperties(
            dismissOnClickOutside = false,
            usePlatformDefaultWidth = false,
            securePolicy = SecureFlagPolicy.SecureOn,
        ),
    ) {
        FilterObscuredTouches()
        Surface(Modifier.fillMaxSize()) {
            Column(
                Modifier.fillMaxSize().padding(24.dp).verticalScroll(rememberScrollState()),
                verticalArrangement = Arrangement.spacedBy(16.dp),
                horizontalAlignment = Alignment.CenterHorizontally,
            ) {
                Text("Scan with the new phone", style = MaterialTheme.typography.headlineSmall)
                Text(shown.serial, style = MaterialTheme.typography.bodyMedium)
                val qr = shown.qr
                if (qr != null) {
                    Image(
                        bitmap = qr.asImageBitmap(),
                        contentDescription = "Transfer QR code",
                        filterQuality = FilterQuality.None,
                        modifier = Modifier.fillMaxWidth().aspectRatio(1f),
                    )
                } else {
                    Text(
                        "Open this link on the new phone, or turn it into a QR code on a device you trust:",
                        style = MaterialTheme.typography.bodySmall,
                    )
                    Text(t.link, fontFamily = FontFamily.Monospace, modifier = Modifier.heightIn(max = 240.dp))
                    Row {
                        TextButton(onClick = { SensitiveClipboard.copy(context, t.link) }) { Text("Copy link") }
                    }
                }
                t.expiresAt?.let { Text("Valid until ${dateTimeText(it)}.", style = MaterialTheme.typography.bodyMedium) }
                if (t.passphraseProtected) {
                    Text("The new phone will ask for the passphrase you chose.", style = MaterialTheme.typography.bodySmall)
                }
                Text(
                    "Whoever scans this code takes the container. Once the new phone is registered, this " +
                        "phone shows the container as moved and offers to remove its accounts.",
                    style = MaterialTheme.typography.bodySmall,
                )
                Button(onClick = { vm.closeTransfer() }, modifier = Modifier.fillMaxWidth()) { Text("Done") }
            }
        }
    }
}

/**
 * "Add these accounts to the container?": the local accounts the server recognizes, all
 * ticked at first. Add sends the ticked ones; "Add none" declines (an empty list); Back
 * leaves the offer open (the Containers screen asks again).
 */
@Composable
fun AdoptionDialog(vm: MainViewModel, offer: AdoptionOffer) {
    val chosen = remember(offer) { mutableStateListOf(*offer.accounts.map { it.id }.toTypedArray()) }
    AlertDialog(
        onDismissRequest = { if (!vm.busy) vm.postponeAdoption() },
        title = { Text("Add these accounts to the container ${offer.serial}?") },
        text = {
            FilterObscuredTouches()
            Column(
                Modifier.heightIn(max = 420.dp).verticalScroll(rememberScrollState()),
                verticalArrangement = Arrangement.spacedBy(4.dp),
            ) {
                Text(
                    "The container is registered. Its server recognizes these accounts on this phone. The ones " +
                        "you add are then managed by the server: it may renew or remove them, and its policy may " +
                        "stop you from deleting them.",
                    style = MaterialTheme.typography.bodySmall,
                )
                offer.accounts.forEach { a ->
                    val checked = a.id in chosen
                    Row(
                        Modifier
                            .fillMaxWidth()
                            .toggleable(
                                value = checked,
                                role = Role.Checkbox,
                                onValueChange = { on -> if (on) chosen.add(a.id) else chosen.remove(a.id) },
                            )
                            .padding(vertical = 4.dp),
                        verticalAlignment = Alignment.CenterVertically,
                    ) {
                        Checkbox(checked = checked, onCheckedChange = null)
                        Text(
                            listOf(a.issuer, a.name).filter { it.isNotEmpty() }.joinToString(": "),
                            Modifier.padding(start = 8.dp),
                        )
                    }
                }
                if (vm.busy) LinearProgressIndicator(Modifier.fillMaxWidth())
            }
        },
        confirmButton = {
            TextButton(enabled = !vm.busy && chosen.isNotEmpty(), onClick = { vm.answerAdoption(offer, chosen.toList()) }) {
                Text("Add ${chosen.size}")
            }
        },
        dismissButton = {
            TextButton(enabled = !vm.busy, onClick = { vm.answerAdoption(offer, emptyList()) }) { Text("Add none") }
        },
    )
}
