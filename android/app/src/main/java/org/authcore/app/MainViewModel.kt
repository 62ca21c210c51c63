package org.authcore.app

import android.app.Application
import android.content.Intent
import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.net.Uri
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
import org.authcore.AccountKind
import org.authcore.Authenticator
import org.authcore.AuthenticatorException
import org.authcore.Code
import org.authcore.EnrollmentPreview
import org.authcore.EnrollmentResult
import org.authcore.KeystoreException
import org.authcore.LockState
import org.authcore.PushAnswerResult
import org.authcore.PushChallenge
import java.io.ByteArrayOutputStream

enum class Screen { ACCOUNTS, ADD, SCAN, PUSH, SETTINGS }

/** What a confirmed enrollment will add: a link (QR text, deep link, pasted) or image bytes. */
sealed interface EnrollmentSource {
    class Link(val link: String) : EnrollmentSource
    class Image(val bytes: ByteArray) : EnrollmentSource
}

class PendingEnrollment(val source: EnrollmentSource, val preview: EnrollmentPreview)

/**
 * UI state. Every core call runs on Dispatchers.IO through [call]; results are applied on
 * the main thread. A `Locked` error anywhere sends the UI back to the PIN screen.
 */
class MainViewModel(application: Application) : AndroidViewModel(application) {
    private val app = application as AuthenticatorApp

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
    var message by mutableStateOf<String?>(null)
    var screen by mutableStateOf(Screen.ACCOUNTS)

    /** An enrollment link that arrived while locked; previewed after unlock. */
    private var pendingLink: String? = null
    private var ticking = false

    init {
        refreshLock()
    }

    private fun <T> call(
        work: Authenticator.() -> T,
        onError: (Exception) -> Unit = { message = describe(it) },
        onDone: () -> Unit = {},
        onResult: (T) -> Unit = {},
    ) {
        viewModelScope.launch {
            try {
                val result = withContext(Dispatchers.IO) { app.core.await().work() }
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

    // ---- lock -------------------------------------------------------------------------

    fun refreshLock() = call({ lockState() }) { applyLockState(it) }

    private fun applyLockState(state: LockState) {
        val wasLocked = lockState?.locked
        lockState = state
        when {
            state.wiped -> onWiped()
            state.locked -> {
                codes = emptyMap()
            }
            wasLocked != false -> {
                loadAccounts()
                app.retryPendingTokenRotation()
                pendingLink?.let {
                    pendingLink = null
                    startEnrollment(it)
                }
            }
        }
    }

    fun unlock(pin: String) {
        busy = true
        call(
            { unlock(pin); lockState() },
            onError = { e -> pinError = describe(e) },
            onDone = { busy = false },
        ) {
            pinError = null
            applyLockState(it)
        }
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
            ) {
                pinError = null
                applyLockState(it)
            }
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

    // ---- accounts and codes -------------------------------------------------------------

    fun loadAccounts() = call({ listAccounts() }) {
        accounts = it
        codes = codes.filterKeys { id -> it.any { a -> a.id == id } }
        tick()
    }

    /** Once a second: lock state (idle timeout) and fresh TOTP/Steam codes. HOTP only on demand. */
    fun tick() {
        if (ticking) return
        ticking = true
        val timed = accounts.filter { it.kind == AccountKind.TOTP || it.kind == AccountKind.STEAM }
        call({
            val state = lockState()
            val fresh: Map<String, Code> = if (state.locked) emptyMap() else timed.associate { it.id to code(it.id) }
            state to fresh
        }, onDone = { ticking = false }) { (state, fresh) ->
            if (state.locked != lockState?.locked || state.wiped) applyLockState(state) else lockState = state
            codes = codes + fresh
        }
    }

    /** HOTP: the core commits the counter before returning the code. */
    fun nextHotp(accountId: String) = call({ code(accountId) }) { codes = codes + (accountId to it) }

    fun rename(accountId: String, name: String) = call({ renameAccount(accountId, name) }) { loadAccounts() }

    fun delete(accountId: String) = call({ deleteAccount(accountId) }) { loadAccounts() }

    // ---- enrollment ---------------------------------------------------------------------

    fun startEnrollment(link: String) {
        if (lockState?.locked != false) {
            pendingLink = link
            return
        }
        call({ preview(link) }) { enrollment = PendingEnrollment(EnrollmentSource.Link(link), it) }
    }

    fun startImageEnrollment(uri: Uri) = call({
        val bytes = readImage(uri)
        bytes to previewQrImage(bytes)
    }) { (bytes, preview) -> enrollment = PendingEnrollment(EnrollmentSource.Image(bytes), preview) }

    /** [newPin] when the preview requires a PIN and none is set. */
    fun confirmEnrollment(newPin: String?) {
        val pending = enrollment ?: return
        busy = true
        call({
            when (val source = pending.source) {
                is EnrollmentSource.Link ->
                    if (newPin != null) addWithPin(source.link, newPin) else add(source.link)
                is EnrollmentSource.Image -> {
                    // No add_qr_image_with_pin in the API: set the PIN first.
                    if (newPin != null) setPin(newPin)
                    addQrImage(source.bytes)
                }
            }
        }, onDone = { busy = false }) { result: EnrollmentResult ->
            enrollment = null
            screen = Screen.ACCOUNTS
            val added = result.accounts.joinToString { it.issuer.ifEmpty { it.name } }
            message = (listOf("Added: $added") + result.warnings).joinToString("\n")
            refreshLock()
            loadAccounts()
        }
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

    // ---- push ---------------------------------------------------------------------------

    fun openPush(challengeId: String? = null) {
        highlightedChallenge = challengeId
        screen = Screen.PUSH
        loadPending()
    }

    fun loadPending() = call({ pendingChallenges() }) { challenges = it }

    /** "Check for requests": polls every push token's server. */
    fun poll() {
        refreshing = true
        call({ pollChallenges() }, onDone = { refreshing = false }) { challenges = it }
    }

    fun answer(challenge: PushChallenge, accept: Boolean, presenceAnswer: String? = null, declineReason: String? = null) {
        busy = true
        call({
            if (accept) approve(challenge.id, presenceAnswer) else decline(challenge.id, declineReason)
        }, onDone = { busy = false }) { result: PushAnswerResult ->
            PushNotifications.cancel(app, challenge.id)
            message = when {
                !result.accepted -> result.message ?: "The server did not accept the answer."
                result.displayCode != null -> "Enter ${result.displayCode} at the sign-in." +
                    (result.message?.let { "\n$it" } ?: "")
                else -> result.message ?: if (accept) "Approved." else "Declined."
            }
            loadPending()
        }
    }

    // ---- intents ------------------------------------------------------------------------

    /** Deep links (otpauth://, pia://) are only previewed; adding needs the user's confirmation. */
    fun handleIntent(intent: Intent?) {
        if (intent == null) return
        val data = intent.data
        if (intent.action == Intent.ACTION_VIEW && data != null &&
            (data.scheme == "otpauth" || data.scheme == "pia")
        ) {
            screen = Screen.ACCOUNTS
            startEnrollment(data.toString())
        } else if (intent.getBooleanExtra(PushNotifications.EXTRA_OPEN_PUSH, false)) {
            openPush(intent.getStringExtra(PushNotifications.EXTRA_CHALLENGE_ID))
        }
    }
}
