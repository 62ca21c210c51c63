// UI state and the one place the UI calls the core (always off the main thread), including import, export, backups and containers.
package org.authcore.app

import android.app.Application
import android.content.Intent
import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.net.Uri
import android.provider.DocumentsContract
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.setValue
import androidx.fragment.app.FragmentActivity
import androidx.lifecycle.AndroidViewModel
import androidx.lifecycle.viewModelScope
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.authcore.Account
import org.authcore.Authenticator
import org.authcore.AuthenticatorException
import org.authcore.BackupStatus
import org.authcore.Code
import org.authcore.Container
import org.authcore.ContainerTransfer
import org.authcore.EnrollmentPreview
import org.authcore.EnrollmentResult
import org.authcore.ExportFormat
import org.authcore.ExportResult
import org.authcore.ImportPreview
import org.authcore.ImportResult
import org.authcore.KeystoreException
import org.authcore.LockPolicy
import org.authcore.LockState
import org.authcore.PendingTokenUpdate
import org.authcore.PushAnswerResult
import org.authcore.PushChallenge
import org.authcore.SyncResult
import org.authcore.TransferNote
import org.authcore.decodeQrImage
import java.io.ByteArrayOutputStream
import java.io.IOException

enum class Screen { ACCOUNTS, ADD, SCAN, PUSH, SETTINGS, TRANSFER, CONTAINERS }

/** What a confirmed enrollment will add: a link (QR text, deep link, pasted) or image bytes. */
sealed interface EnrollmentSource {
    class Link(val link: String) : EnrollmentSource
    class Image(val bytes: ByteArray) : EnrollmentSource
}

class PendingEnrollment(val source: EnrollmentSource, val preview: EnrollmentPreview)

/** A file read for import, the password that opened it, and what importing it would do. */
class PendingImport(val bytes: ByteArray, val password: String?, val preview: ImportPreview)

/** An encrypted import file waiting for its password; [wrong] after one that did not open it. */
class ImportPasswordPrompt(val bytes: ByteArray, val wrong: Boolean)

/** An export waiting for the PIN (and file password): into [uri] (a created document), or
 *  as links on screen when [uri] is null (`GOOGLE`). */
class ExportTarget(val format: ExportFormat, val uri: Uri?)

/**
 * A container's first synchronization waits for the user: which of [accounts] (local
 * accounts the server recognizes) it may adopt. Answered with `syncContainerAdopting`.
 */
class AdoptionOffer(val serial: String, val accounts: List<Account>)

/**
 * A transfer link on screen: a secret (whoever scans it takes the container), dropped when
 * the vault locks. [qr] is the server's QR image, decoded off the main thread; null when
 * the core had none (the link is then shown as text to copy).
 */
class ShownTransfer(val serial: String, val transfer: ContainerTransfer, val qr: Bitmap?)

/** `GOOGLE` export: one otpauth-migration link per QR code, shown one after another. */
class ExportLinks(val links: List<String>, val leftOut: List<TransferNote>, val skipped: List<TransferNote>)

/**
 * UI state. Every core call runs on Dispatchers.IO through [call]; results are applied on
 * the main thread. A `Locked` error anywhere sends the UI back to the PIN screen; a failed
 * open shows [openError] with Retry and Start over.
 */
class MainViewModel(application: Application) : AndroidViewModel(application) {
    private val app = application as AuthenticatorApp

    private companion object {
        /** Larger than any authenticator export; a bigger pick is refused before the core sees it. */
        const val MAX_IMPORT_BYTES = 16 * 1024 * 1024
    }

    var openError by mutableStateOf<String?>(null)
        private set
    var lockState by mutableStateOf<LockState?>(null)
        private set
    var accounts by mutableStateOf<List<Account>>(emptyList())
        private set
    var codes by mutableStateOf<Map<String, Code>>(emptyMap())
        private set
    var challenges by mutableStateOf<List<PushChallenge>>(emptyList())
        private set
    var highlightedChallenge by mutableStateOf<String?>(null)
        private set
    var refreshing by mutableStateOf(false)
        private set
    var busy by mutableStateOf(false)
        private set
    var pinError by mutableStateOf<String?>(null)
        private set
    var enrollment by mutableStateOf<PendingEnrollment?>(null)
        private set

    /** The app's own lock policy (settings); the effective one is `lockState.policy`. */
    var appPolicy by mutableStateOf<LockPolicy?>(null)
        private set
    var policyError by mutableStateOf<String?>(null)
        private set
    var pendingTokenUpdates by mutableStateOf<List<PendingTokenUpdate>>(emptyList())
        private set
    var retryingTokenUpdates by mutableStateOf(false)
        private set

    var pendingImport by mutableStateOf<PendingImport?>(null)
        private set
    var importPassword by mutableStateOf<ImportPasswordPrompt?>(null)
        private set
    var exportTarget by mutableStateOf<ExportTarget?>(null)
        private set
    var exportError by mutableStateOf<String?>(null)
        private set
    var exportLinks by mutableStateOf<ExportLinks?>(null)
        private set
    var backupStatus by mutableStateOf<BackupStatus?>(null)
        private set
    /** The backup folder's name, null while none is picked (or its grant was lost). */
    var backupFolder by mutableStateOf<String?>(null)
        private set

    var containers by mutableStateOf<List<Container>>(emptyList())
        private set
    /** Automatic container sync interval (seconds, 0 = never); null until loaded. */
    var containerSyncSeconds by mutableStateOf<ULong?>(null)
        private set
    /** The container whose "Synchronize now" is running. */
    var syncingContainer by mutableStateOf<String?>(null)
        private set
    var adoptionOffer by mutableStateOf<AdoptionOffer?>(null)
        private set
    var containerTransfer by mutableStateOf<ShownTransfer?>(null)
        private set

    var message by mutableStateOf<String?>(null)
    var screen by mutableStateOf(Screen.ACCOUNTS)

    /** An enrollment link or image that arrived while locked; previewed after unlock. */
    private var pendingLink: String? = null
    private var pendingImage: Uri? = null
    /** An import file picked while the vault locked behind the picker; read after unlock. */
    private var pendingImportUri: Uri? = null
    private var ticking = false

    /** Challenges this screen has already seen, so a new one opens the push screen once. */
    private val knownChallenges = mutableSetOf<String>()

    init {
        refreshLock()
        // The first ProcessLifecycleOwner ON_START (collected below) also refreshes the challenges.
        viewModelScope.launch {
            app.lockEvents.collect { event ->
                applyLockState(event.state)
                if (event.foreground) refreshChallenges()
            }
        }
        viewModelScope.launch { app.challengeEvents.collect { loadPending() } }
        // An automatic sync (ContainerSync) changed accounts or containers.
        viewModelScope.launch {
            ContainerSync.changes.collect {
                if (lockState?.locked == false) {
                    loadAccounts()
                    loadContainers()
                }
            }
        }
    }

    private fun <T> call(
        work: Authenticator.() -> T,
        onError: (Exception) -> Unit = { message = describe(it) },
        onDone: () -> Unit = {},
        onResult: (T) -> Unit = {},
    ) {
        viewModelScope.launch {
            val core = try {
                app.awaitCore()
            } catch (e: CancellationException) {
                throw e
            } catch (e: Exception) {
                openError = describe(e)
                lockState = null
                onDone()
                return@launch
            }
            try {
                val result = withContext(Dispatchers.IO) { core.work() }
                onResult(result)
            } catch (e: CancellationException) {
                throw e
            } catch (e: AuthenticatorException.Locked) {
                refreshLock()
            } catch (e: AuthenticatorException.Wiped) {
                onWiped()
            } catch (e: Exception) {
                onError(e)
            } finally {
                onDone()
            }
        }
    }

    // ---- open ---------------------------------------------------------------------------

    /** Retry after a failed open. */
    fun retryOpen() {
        openError = null
        app.reopen(startOver = false)
        refreshLock()
    }

    /** Start over after a failed open, confirmed twice by the user: discards the vault. */
    fun startOverAfterFailedOpen() {
        openError = null
        app.reopen(startOver = true)
        accounts = emptyList()
        codes = emptyMap()
        challenges = emptyList()
        containers = emptyList()
        screen = Screen.ACCOUNTS
        call({ lockState() }) {
            applyLockState(it)
            message = "Started over with an empty vault. Add your accounts again."
        }
    }

    // ---- lock -------------------------------------------------------------------------

    fun refreshLock() = call({ lockState() }) { applyLockState(it) }

    private fun applyLockState(state: LockState) {
        val wasLocked = lockState?.locked
        lockState = state
        when {
            state.wiped -> onWiped()
            state.locked -> {
                codes = emptyMap()
                containerTransfer = null
            }
            wasLocked != false -> {
                loadAccounts()
                pendingLink?.let {
                    pendingLink = null
                    startEnrollment(it)
                }
                pendingImage?.let {
                    pendingImage = null
                    startImageEnrollment(it)
                }
                pendingImportUri?.let {
                    pendingImportUri = null
                    startImport(it)
                }
            }
        }
    }

    /** After every successful unlock (PIN or biometric): queued push-token updates, fresh challenges, due container syncs. */
    private fun onUnlocked(state: LockState) {
        pinError = null
        applyLockState(state)
        if (!state.locked) {
            app.retryTokenUpdates()
            refreshChallenges()
            app.backupAfterChange()
            ContainerSync.syncDue(app)
        }
    }

    fun unlock(pin: String) {
        busy = true
        call(
            { unlock(pin); lockState() },
            onError = { e -> pinError = describe(e) },
            onDone = { busy = false },
        ) { onUnlocked(it) }
    }

    /** BiometricPrompt authenticates the cipher on the UI first; then the core unwraps with it. */
    fun unlockWithBiometric(activity: FragmentActivity) {
        viewModelScope.launch {
            val prepared = withContext(Dispatchers.IO) { BiometricKeyImpl.prepareUnlock(app) }
            val cipher = prepared.getOrNull()
            val key = if (cipher != null) {
                val authenticated = BiometricAuth.authenticate(
                    activity, activity.getString(R.string.biometric_title), cipher,
                ) ?: return@launch
                BiometricKeyImpl.withAuthenticatedCipher(app, authenticated)
            } else {
                // Let the core see KeyInvalidated so it can drop biometric unlock.
                val error = prepared.exceptionOrNull() as? KeystoreException
                    ?: KeystoreException.Unavailable("biometric key unavailable")
                BiometricKeyImpl.failed(app, error)
            }
            busy = true
            call(
                { unlockWithBiometric(key); lockState() },
                onError = { e ->
                    pinError = if (e is AuthenticatorException.Cancelled) null else describe(e)
                    refreshLock()
                },
                onDone = { busy = false },
            ) { onUnlocked(it) }
        }
    }

    private fun onWiped() {
        message = "Too many wrong PINs: the vault was erased. You can add your accounts again."
        call({
            startOver()
            BiometricKeyImpl.deleteKey(app)
            lockState()
        }) {
            accounts = emptyList()
            codes = emptyMap()
            challenges = emptyList()
            containers = emptyList()
            adoptionOffer = null
            lockState = it
            screen = Screen.ACCOUNTS
        }
    }

    fun lockNow() = call({ lock(); lockState() }) { applyLockState(it) }

    fun setPin(newPin: String) = call({ setPin(newPin); lockState() }) {
        lockState = it
        message = "PIN set."
    }

    fun changePin(oldPin: String, newPin: String) = call({ changePin(oldPin, newPin); lockState() }) {
        lockState = it
        message = "PIN changed."
    }

    fun removePin(pin: String) = call({ removePin(pin); lockState() }) {
        lockState = it
        message = "PIN removed."
    }

    fun enableBiometric(activity: FragmentActivity) {
        viewModelScope.launch {
            val cipher = try {
                withContext(Dispatchers.IO) { BiometricKeyImpl.prepareEnable(app) }
            } catch (e: Exception) {
                message = describe(e)
                return@launch
            }
            val authenticated = BiometricAuth.authenticate(
                activity, activity.getString(R.string.biometric_enable_title), cipher,
            ) ?: return@launch
            call({
                enableBiometricUnlock(BiometricKeyImpl.withAuthenticatedCipher(app, authenticated))
                lockState()
            }) {
                lockState = it
                message = "Biometric unlock enabled."
            }
        }
    }

    fun disableBiometric() = call({
        disableBiometricUnlock()
        BiometricKeyImpl.deleteKey(app)
        lockState()
    }) { lockState = it }

    // ---- settings -----------------------------------------------------------------------

    /** The app's own policy, the servers still waiting for the new push token, the container sync interval. */
    fun loadSettings() = call({
        Triple(appPolicy(), pendingPushTokenUpdates(), containerSyncInterval())
    }) { (policy, pending, interval) ->
        appPolicy = policy
        pendingTokenUpdates = pending
        containerSyncSeconds = interval
    }

    /** 0: containers synchronize only on demand and when a push for one of their tokens arrives. */
    fun chooseContainerSyncInterval(seconds: ULong) = call({
        setContainerSyncInterval(seconds)
        containerSyncInterval()
    }) { containerSyncSeconds = it }

    /** null: never lock for inactivity. The core refuses a timeout without a PIN (PinRequired). */
    fun setIdleTimeout(seconds: ULong?) = updateAppPolicy { it.copy(idleTimeoutSeconds = seconds) }

    /** 0: lock as soon as the app leaves the screen. */
    fun setBackgroundGrace(seconds: ULong) = updateAppPolicy { it.copy(backgroundGraceSeconds = seconds) }

    private fun updateAppPolicy(change: (LockPolicy) -> LockPolicy) {
        val current = appPolicy ?: return
        policyError = null
        call(
            { setAppPolicy(change(current)); appPolicy() to lockState() },
            onError = { e ->
                policyError = if (e is AuthenticatorException.PinRequired) {
                    "Set an app PIN first: locking after inactivity needs one."
                } else {
                    describe(e)
                }
            },
        ) { (policy, state) ->
            appPolicy = policy
            lockState = state
        }
    }

    /** Settings' Retry: sends every queued push-token update now. */
    fun retryTokenUpdatesNow() {
        retryingTokenUpdates = true
        call(
            { retryPushTokenUpdates() to pendingPushTokenUpdates() },
            onDone = { retryingTokenUpdates = false },
        ) { (results, pending) ->
            pendingTokenUpdates = pending
            val failed = results.count { !it.ok }
            message = when {
                results.isEmpty() -> "No server is waiting for the push token."
                failed == 0 -> "Every server has the new push token."
                else -> "$failed of ${results.size} servers did not take the new push token yet. " +
                    "The app tries again after the next unlock."
            }
        }
    }

    // ---- accounts and codes -------------------------------------------------------------

    fun loadAccounts() = call({ listAccounts() }) {
        accounts = it
        codes = codes.filterKeys { id -> it.any { a -> a.id == id } }
        tick()
    }

    /**
     * Called once a second while the accounts screen is visible: lock state (idle timeout)
     * and every TOTP/Steam code in one `timeCodes()` call. HOTP codes only on demand.
     */
    fun tick() {
        if (ticking) return
        ticking = true
        call({
            val state = lockState()
            val fresh = if (state.locked) emptyList() else timeCodes()
            state to fresh
        }, onDone = { ticking = false }) { (state, fresh) ->
            if (state.locked != lockState?.locked || state.wiped) applyLockState(state) else lockState = state
            codes = codes + fresh.associateBy { it.accountId }
        }
    }

    /** HOTP: the core commits the counter before returning the code. */
    fun nextHotp(accountId: String) = call({ code(accountId) }) {
        codes = codes + (accountId to it)
        app.backupAfterChange() // the counter moved
    }

    fun rename(accountId: String, name: String) = call({ renameAccount(accountId, name) }) {
        loadAccounts()
        app.backupAfterChange()
    }

    fun delete(accountId: String) = call({ deleteAccount(accountId) }) {
        loadAccounts()
        app.backupAfterChange()
    }

    // ---- enrollment ---------------------------------------------------------------------

    fun startEnrollment(link: String) {
        if (lockState?.locked != false) {
            pendingLink = link
            return
        }
        call({ preview(link) }) { enrollment = PendingEnrollment(EnrollmentSource.Link(link), it) }
    }

    /**
     * The picker is another activity: with no background grace the vault may have locked
     * meanwhile. Then the image waits for the unlock instead of being dropped.
     */
    fun startImageEnrollment(uri: Uri) = call({
        if (lockState().locked) {
            null
        } else {
            val bytes = readImage(uri)
            bytes to previewQrImage(bytes)
        }
    }) { result ->
        if (result == null) {
            pendingImage = uri
            refreshLock()
        } else {
            enrollment = PendingEnrollment(EnrollmentSource.Image(result.first), result.second)
        }
    }

    /**
     * [newPin] when the preview requires a PIN and none is set: PIN and accounts in one
     * transaction. A container link goes to `addContainer` with the [passphrase] its prompt
     * asked for (registration, then the first sync, unless the server offers to adopt local
     * accounts: then [adoptionOffer] asks the user first).
     */
    fun confirmEnrollment(newPin: String?, passphrase: String? = null) {
        val pending = enrollment ?: return
        busy = true
        call({
            val link = when (val source = pending.source) {
                is EnrollmentSource.Link -> source.link
                is EnrollmentSource.Image -> decodeQrImage(source.bytes)
            }
            val result = when {
                pending.preview.container != null ->
                    addContainer(link, passphrase?.takeIf { it.isNotEmpty() }, newPin)
                newPin != null -> addWithPin(link, newPin)
                else -> add(link)
            }
            result to offerFor(result.containerSerial, result.adoptableAccountIds)
        }, onDone = { busy = false }) { (result: EnrollmentResult, offer) ->
            enrollment = null
            screen = Screen.ACCOUNTS
            val serial = result.containerSerial
            val lines = when {
                serial == null -> listOf("Added: " + result.accounts.joinToString { it.issuer.ifEmpty { it.name } })
                // The offer dialog says it is registered; only the warnings go on top of it.
                offer != null -> emptyList()
                else -> listOf("Registered the container $serial: ${result.accounts.size} account(s) added.")
            }
            message = (lines + result.warnings).joinToString("\n").ifEmpty { null }
            adoptionOffer = offer
            refreshLock()
            loadAccounts()
            app.backupAfterChange()
        }
    }

    /** The offer for [ids] of [serial], with the accounts to name; null when there is none. */
    private fun Authenticator.offerFor(serial: String?, ids: List<String>): AdoptionOffer? {
        if (serial == null || ids.isEmpty()) return null
        val byId = listAccounts().associateBy { it.id }
        return AdoptionOffer(serial, ids.mapNotNull { byId[it] })
    }

    fun cancelEnrollment() {
        enrollment = null
    }

    /** The core decodes PNG and JPEG; other picker formats (HEIC, WebP...) are re-encoded as PNG. */
    private fun readImage(uri: Uri): ByteArray {
        val resolver = app.contentResolver
        val type = resolver.getType(uri)
        val bytes = resolver.openInputStream(uri)?.use { it.readBytes() }
            ?: throw IllegalArgumentException("cannot read image")
        if (type == "image/png" || type == "image/jpeg") return bytes
        val bitmap = BitmapFactory.decodeByteArray(bytes, 0, bytes.size)
            ?: throw IllegalArgumentException("unsupported image format")
        return ByteArrayOutputStream().use { out ->
            bitmap.compress(Bitmap.CompressFormat.PNG, 100, out)
            out.toByteArray()
        }
    }

    // ---- import -------------------------------------------------------------------------

    private sealed interface ImportStep {
        class Ready(val pending: PendingImport) : ImportStep
        class NeedsPassword(val prompt: ImportPasswordPrompt) : ImportStep
    }

    /** Text for a file that could not be read (provider errors carry no user-facing text). */
    private fun describeFileError(e: Exception): String = when (e) {
        is AuthenticatorException -> describe(e)
        is SecurityException, is IOException, is IllegalArgumentException -> "Cannot read this file."
        else -> describe(e)
    }

    /**
     * The ACTION_OPEN_DOCUMENT result. Like the QR image picker, the vault may have locked
     * behind the picker: the file then waits for the unlock. The core detects the format.
     */
    fun startImport(uri: Uri) = call({
        if (lockState().locked) null else previewStep(readImportFile(uri), null)
    }, onError = { message = describeFileError(it) }) { step ->
        if (step == null) {
            pendingImportUri = uri
            refreshLock()
        } else {
            applyImportStep(step)
        }
    }

    fun submitImportPassword(password: String) {
        val prompt = importPassword ?: return
        importPassword = null
        call({ previewStep(prompt.bytes, password) }, onError = {
            prompt.bytes.fill(0)
            message = describeFileError(it)
        }) { applyImportStep(it) }
    }

    fun cancelImport() {
        pendingImport?.bytes?.fill(0)
        importPassword?.bytes?.fill(0)
        pendingImport = null
        importPassword = null
    }

    /** Imports what the preview showed, in one transaction. */
    fun confirmImport() {
        val pending = pendingImport ?: return
        busy = true
        call(
            { importFile(pending.bytes, pending.preview.format, pending.password) },
            onDone = { busy = false },
        ) { result: ImportResult ->
            cancelImport()
            message = listOfNotNull(
                "Imported ${result.imported.size} account(s).",
                notesText("Skipped", result.skipped),
                notesText("Refused", result.refused),
            ).joinToString("\n\n")
            loadAccounts()
            app.backupAfterChange()
        }
    }

    private fun Authenticator.previewStep(bytes: ByteArray, password: String?): ImportStep = try {
        ImportStep.Ready(PendingImport(bytes, password, previewImport(bytes, null, password)))
    } catch (e: AuthenticatorException.PasswordRequired) {
        ImportStep.NeedsPassword(ImportPasswordPrompt(bytes, wrong = false))
    } catch (e: AuthenticatorException.WrongPassword) {
        ImportStep.NeedsPassword(ImportPasswordPrompt(bytes, wrong = true))
    } catch (e: Exception) {
        bytes.fill(0)
        throw e
    }

    private fun applyImportStep(step: ImportStep) {
        when (step) {
            is ImportStep.Ready -> pendingImport = step.pending
            is ImportStep.NeedsPassword -> importPassword = step.prompt
        }
    }

    /** Export files are small; a bigger pick is not one (and must not exhaust memory). */
    private fun readImportFile(uri: Uri): ByteArray {
        val input = app.contentResolver.openInputStream(uri) ?: throw IOException("no stream")
        return input.use { stream ->
            val out = ByteArrayOutputStream()
            val buffer = ByteArray(8192)
            while (true) {
                val n = stream.read(buffer)
                if (n < 0) break
                out.write(buffer, 0, n)
                if (out.size() > MAX_IMPORT_BYTES) throw IllegalArgumentException("file too large")
            }
            out.toByteArray()
        }
    }

    // ---- export -------------------------------------------------------------------------

    /**
     * [uri]: the ACTION_CREATE_DOCUMENT result for the file formats (null for `GOOGLE`).
     * The PIN (and the file password) is asked next, so no secret waits behind the picker.
     */
    fun prepareExport(format: ExportFormat, uri: Uri?) {
        exportError = null
        exportTarget = ExportTarget(format, uri)
    }

    /** Dismissed: the empty document created for it is removed again. */
    fun cancelExport() {
        val target = exportTarget ?: return
        exportTarget = null
        exportError = null
        target.uri?.let { uri ->
            viewModelScope.launch(Dispatchers.IO) {
                runCatching { DocumentsContract.deleteDocument(app.contentResolver, uri) }
            }
        }
    }

    /** The fresh PIN check and the export; the bytes go straight into the created document. */
    fun finishExport(filePassword: String?, pin: String) {
        val target = exportTarget ?: return
        busy = true
        exportError = null
        call({
            val result = exportAccounts(target.format, filePassword, pin)
            try {
                target.uri?.let { uri ->
                    // "wt": truncate, in case the provider reuses an existing file.
                    val out = app.contentResolver.openOutputStream(uri, "wt") ?: throw IOException("no stream")
                    out.use { it.write(result.data) }
                }
            } finally {
                result.data.fill(0)
            }
            result
        }, onError = { e ->
            exportError = if (e is AuthenticatorException) describe(e) else "Cannot write the file."
        }, onDone = { busy = false }) { result: ExportResult ->
            exportTarget = null
            if (target.uri == null) {
                exportLinks = ExportLinks(result.links, result.leftOut, result.skipped)
            } else {
                message = listOfNotNull(
                    "Exported ${result.exported} account(s).",
                    notesText("Kept on this phone", result.skipped),
                    notesText("Left out", result.leftOut),
                ).joinToString("\n\n")
            }
        }
    }

    fun closeExportLinks() {
        exportLinks = null
    }

    // ---- automatic backups --------------------------------------------------------------

    fun loadTransfer() = call({
        val folder = AutoBackup.folder(app)?.let { AutoBackup.folderName(app, it) ?: "the chosen folder" }
        backupStatus() to folder
    }) { (status, folder) ->
        backupStatus = status
        backupFolder = folder
    }

    /** The ACTION_OPEN_DOCUMENT_TREE result: keep the grant, then write a backup if one is due. */
    fun chooseBackupFolder(tree: Uri) {
        viewModelScope.launch {
            val ok = withContext(Dispatchers.IO) { runCatching { AutoBackup.setFolder(app, tree) }.isSuccess }
            if (!ok) message = "This folder cannot be used for backups."
            loadTransfer()
            backupNow(announce = false)
        }
    }

    fun forgetBackupFolder() {
        AutoBackup.clearFolder(app)
        loadTransfer()
    }

    /** Turns backups on, or changes their password (the PIN again, as a fresh check). */
    fun setBackupPassword(password: String, pin: String) = call({
        setBackupPassword(password, pin)
        backupStatus()
    }) {
        backupStatus = it
        message = "Automatic backups are on."
        backupNow(announce = false)
    }

    fun turnOffBackups(pin: String) = call({
        setBackupPassword(null, pin)
        backupStatus()
    }) {
        backupStatus = it
        message = "Automatic backups are off. Backups already written stay in the folder."
    }

    /** Writes the due backup now (the same helper every change calls). */
    fun backupNow(announce: Boolean = true) {
        viewModelScope.launch {
            val written = try {
                withContext(Dispatchers.IO) { AutoBackup.writePending(app, app.awaitCore()) }
            } catch (e: CancellationException) {
                throw e
            } catch (e: Exception) {
                message = describe(e)
                null
            }
            if (announce) {
                message = written?.let { "Backup written: $it" }
                    ?: AutoBackup.problem.value
                    ?: "No backup was due."
            }
            loadTransfer()
        }
    }

    private fun notesText(title: String, notes: List<TransferNote>): String? =
        if (notes.isEmpty()) null else "$title:\n" + notes.joinToString("\n") { "${it.entry}: ${it.reason}" }

    // ---- containers ---------------------------------------------------------------------

    fun openContainers() {
        screen = Screen.CONTAINERS
        loadContainers()
    }

    fun loadContainers() = call({ listContainers() }) { containers = it }

    /** An offer left unanswered (for example the app was closed): asked again from the Containers screen. */
    fun openAdoption(container: Container) = call({
        offerFor(container.serial, container.adoptableAccountIds)
    }) { adoptionOffer = it }

    /** Not now: the offer stays with the container (the Containers screen asks again). */
    fun postponeAdoption() {
        adoptionOffer = null
        loadContainers()
    }

    /** The user's choice ([chosen] empty: decline); then the first synchronization runs. */
    fun answerAdoption(offer: AdoptionOffer, chosen: List<String>) {
        busy = true
        call(
            { syncContainerAdopting(offer.serial, chosen) },
            onError = { e ->
                message = describe(e)
                loadContainers()
            },
            onDone = { busy = false },
        ) { result ->
            adoptionOffer = null
            message = syncText(offer.serial, result)
            afterContainerChange()
        }
    }

    /** "Synchronize now" (network, off the main thread). A failure may have changed the state (transferred). */
    fun syncContainerNow(serial: String) {
        syncingContainer = serial
        call(
            { syncContainer(serial) },
            onError = { e ->
                message = describe(e)
                loadContainers()
            },
            onDone = { syncingContainer = null },
        ) { result ->
            message = syncText(serial, result)
            afterContainerChange()
        }
    }

    /**
     * Asks the server for a transfer link ([passphrase]: optional, chosen by the user) and shows
     * it. The server's PNG is decoded on the IO thread (BitmapFactory.decodeByteArray, null when
     * it is not an image: https://developer.android.com/reference/android/graphics/BitmapFactory).
     */
    fun requestTransfer(serial: String, passphrase: String?) {
        busy = true
        call(
            {
                val transfer = requestContainerTransfer(serial, passphrase?.takeIf { it.isNotEmpty() })
                val qr = transfer.qrPng?.let { BitmapFactory.decodeByteArray(it, 0, it.size) }
                ShownTransfer(serial, transfer, qr)
            },
            onError = { e ->
                message = describe(e)
                loadContainers()
            },
            onDone = { busy = false },
        ) { containerTransfer = it }
    }

    fun closeTransfer() {
        containerTransfer = null
        loadContainers()
    }

    /**
     * Unregisters on the server, then removes the container and its accounts here; for a
     * transferred container only the local part (the core knows which).
     */
    fun removeContainer(serial: String) {
        busy = true
        call(
            { unregisterContainer(serial) },
            onError = { e ->
                message = describe(e)
                loadContainers()
            },
            onDone = { busy = false },
        ) { removed ->
            message = "Removed the container $serial and ${removed.size} account(s) from this phone."
            afterContainerChange()
        }
    }

    private fun afterContainerChange() {
        loadAccounts()
        loadContainers()
        app.backupAfterChange()
    }

    private fun syncText(serial: String, r: SyncResult): String =
        (listOf("$serial synchronized: ${r.added.size} added, ${r.updated.size} updated, ${r.removed.size} removed.") +
            r.warnings).joinToString("\n")

    // ---- push ---------------------------------------------------------------------------

    fun openPush(challengeId: String? = null) {
        highlightedChallenge = challengeId
        screen = Screen.PUSH
        loadPending()
    }

    fun loadPending() = call({ pendingChallenges() }) { showChallenges(it) }

    /**
     * At start, on every return to the foreground and after an unlock: the challenges the
     * core already holds (readable while locked), plus a poll of every server when
     * unlocked. This is how a push that the system displayed while the app was in the
     * background reaches the app even if its notification is never tapped. A failed poll
     * (offline, server down) is not an error here: the user can poll on the push screen.
     */
    fun refreshChallenges() = call({
        val pending = pendingChallenges()
        if (lockState().locked) pending else runCatching { pollChallenges() }.getOrElse { pending }
    }) { showChallenges(it) }

    private fun showChallenges(list: List<PushChallenge>) {
        challenges = list
        val new = list.filter { it.id !in knownChallenges }
        knownChallenges += list.map { it.id }
        if (new.isNotEmpty() && screen == Screen.ACCOUNTS) {
            highlightedChallenge = new.first().id
            screen = Screen.PUSH
        }
    }

    /** "Check for requests": polls every push token's server. */
    fun poll() {
        refreshing = true
        call({ pollChallenges() }, onDone = { refreshing = false }) { showChallenges(it) }
    }

    fun answer(challenge: PushChallenge, accept: Boolean, presenceAnswer: String? = null, declineReason: String? = null) {
        busy = true
        call({
            if (accept) approve(challenge.id, presenceAnswer) else decline(challenge.id, declineReason)
        }, onDone = { busy = false }) { result: PushAnswerResult ->
            PushNotifications.cancel(app, challenge.id)
            PushNotifications.cancelSystemCopies(app, challenge)
            message = PushNotifications.resultText(result, accept)
            loadPending()
        }
    }

    // ---- intents ------------------------------------------------------------------------

    /**
     * Deep links (otpauth://, pia://) are only previewed; adding needs the user's
     * confirmation. Our own notifications open the push screen on their challenge. A tap on
     * the notification the Firebase SDK drew in the background (privacyIDEA's `notification`
     * block) starts this activity with the message's data as String extras, beside
     * `google.*` keys: they all go to `receivePush`, which verifies the challenge and
     * ignores the keys it does not know.
     */
    fun handleIntent(intent: Intent?) {
        if (intent == null) return
        // Reopened from recents: the extras were handled when the intent first arrived.
        if (intent.flags and Intent.FLAG_ACTIVITY_LAUNCHED_FROM_HISTORY != 0) return
        val data = intent.data
        if (intent.action == Intent.ACTION_VIEW && data != null &&
            (data.scheme == "otpauth" || data.scheme == "pia")
        ) {
            screen = Screen.ACCOUNTS
            startEnrollment(data.toString())
        } else if (intent.getBooleanExtra(PushNotifications.EXTRA_OPEN_PUSH, false)) {
            openPush(intent.getStringExtra(PushNotifications.EXTRA_CHALLENGE_ID))
        } else {
            fcmNotificationData(intent)?.let { receiveTappedPush(it) }
        }
    }

    /** The String extras of a launcher intent from a tapped FCM notification, or null. */
    private fun fcmNotificationData(intent: Intent): Map<String, String>? {
        val extras = intent.extras ?: return null
        // Set by FCM on every message it delivers (the same key RemoteMessage.getMessageId reads).
        if (!extras.containsKey("google.message_id") && !extras.containsKey("message_id")) return null
        val data = mutableMapOf<String, String>()
        for (key in extras.keySet()) {
            @Suppress("DEPRECATION") // Bundle.get(String): API 33 deprecation, still the way to test the type
            val value = extras.get(key)
            if (value is String) data[key] = value
        }
        return data
    }

    private fun receiveTappedPush(data: Map<String, String>) {
        screen = Screen.PUSH
        call(
            { receivePush(data) },
            onError = { e ->
                message = describe(e)
                loadPending()
            },
        ) { challenge ->
            PushNotifications.cancelSystemCopies(app, challenge)
            knownChallenges += challenge.id
            openPush(challenge.id)
            // A push for a container token asks for that container's sync (the core decides).
            if (lockState?.locked == false) ContainerSync.syncDue(app)
        }
    }
}
