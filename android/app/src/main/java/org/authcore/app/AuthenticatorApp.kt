// The process's one core instance, its lifecycle-lock hooks, the push-token housekeeping and the automatic-backup and container-sync triggers.
package org.authcore.app

import android.app.Application
import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.content.IntentFilter
import android.util.Log
import androidx.core.content.ContextCompat
import androidx.lifecycle.DefaultLifecycleObserver
import androidx.lifecycle.LifecycleOwner
import androidx.lifecycle.ProcessLifecycleOwner
import com.google.firebase.FirebaseApp
import com.google.firebase.messaging.FirebaseMessaging
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.async
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.SharedFlow
import kotlinx.coroutines.flow.asSharedFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import org.authcore.Authenticator
import org.authcore.LockState
import org.authcore.LogLevel
import org.authcore.Logger
import org.authcore.setLogger
import org.authcore.discardVault
import java.io.File
import java.util.concurrent.atomic.AtomicReference

/** What the core said after the app left the screen ([foreground] false) or came back (true). */
class LockEvent(val state: LockState, val foreground: Boolean)

/**
 * Holds the single [Authenticator] of the process, opened off the main thread on
 * `filesDir/vault.sqlite3` with the Android Keystore-backed [AndroidKeystore].
 *
 * A failed open is not final: [reopen] tries again (the UI's Retry), or first discards
 * the vault (the UI's confirmed Start over). Lifecycle glue: ProcessLifecycleOwner
 * ON_START/ON_STOP and ACTION_SCREEN_OFF go to the core's `appForegrounded()` /
 * `appBackgrounded()`, in order, and the answers are published as [lockEvents].
 */
class AuthenticatorApp : Application() {

    /** Background scope for core calls that outlive a screen (token updates, lifecycle calls). */
    val appScope = CoroutineScope(SupervisorJob() + Dispatchers.IO)

    val vaultPath: String get() = File(filesDir, VAULT_FILE).absolutePath

    private val opening = AtomicReference<Deferred<Authenticator>>()

    private val lockEventFlow = MutableSharedFlow<LockEvent>(extraBufferCapacity = 8)

    /** Lock state after each lifecycle call; MainViewModel shows the PIN screen when locked. */
    val lockEvents: SharedFlow<LockEvent> = lockEventFlow.asSharedFlow()

    private val challengeFlow = MutableSharedFlow<Unit>(extraBufferCapacity = 8)

    /** Pending challenges changed outside the UI (FCM message, answer from a notification). */
    val challengeEvents: SharedFlow<Unit> = challengeFlow.asSharedFlow()

    /** true = foreground, false = background; one consumer keeps the calls in order. */
    private val lifecycleCalls = Channel<Boolean>(Channel.UNLIMITED)

    private val screenOffReceiver = object : BroadcastReceiver() {
        override fun onReceive(context: Context, intent: Intent) {
            if (intent.action == Intent.ACTION_SCREEN_OFF) lifecycleCalls.trySend(false)
        }
    }

    override fun onCreate() {
        super.onCreate()
        // TLS through Android's trust store (user and MDM CAs): before any core call.
        PlatformTls.ensureInitialized(this)
        // One log: the core's records (secret-free by design) go to logcat with the app's.
        setLogger(CoreLogcat, LogLevel.INFO)
        opening.set(startOpen(discardFirst = false))
        PushNotifications.createChannels(this)
        startLifecycleLock()
        registerPushToken()
        // App start: hand the new push token to every server still waiting for it.
        appScope.launch {
            val core = runCatching { awaitCore() }.getOrNull() ?: return@launch
            if (runCatching { !core.lockState().locked }.getOrDefault(false)) retryTokenUpdates()
        }
    }

    private fun startOpen(discardFirst: Boolean): Deferred<Authenticator> = appScope.async {
        val keystore = AndroidKeystore(this@AuthenticatorApp)
        if (discardFirst) {
            // The user confirmed Start over after a failed open: vault, -wal, -shm and device key.
            discardVault(vaultPath, keystore)
            runCatching { BiometricKeyImpl.deleteKey(this@AuthenticatorApp) }
        }
        // `open` is a named constructor: a companion function in Kotlin.
        Authenticator.open(vaultPath, keystore)
    }

    /**
     * The core; throws what `open` threw. [retryFailed]: background callers (FCM, workers)
     * try one new open when the last one failed, since no one is there to press Retry.
     */
    suspend fun awaitCore(retryFailed: Boolean = false): Authenticator {
        if (retryFailed) reopen(startOver = false)
        return opening.get().await()
    }

    /** For code that already runs on a worker thread (FCM service). */
    fun coreBlocking(): Authenticator = runBlocking { awaitCore(retryFailed = true) }

    /**
     * Opens again after a failed open; with [startOver], discards the vault first. Does
     * nothing while an open is running or after one succeeded. Returns whether it started one.
     */
    @Synchronized
    fun reopen(startOver: Boolean): Boolean {
        val current = opening.get()
        // isCancelled: completed with an exception (a failed async is a cancelled job).
        if (!current.isCancelled) return false
        opening.set(startOpen(discardFirst = startOver))
        return true
    }

    /** Tells the UI that the pending challenges changed. */
    fun notifyChallengesChanged() {
        challengeFlow.tryEmit(Unit)
    }

    // ---- lifecycle lock ----------------------------------------------------------------

    private fun startLifecycleLock() {
        appScope.launch {
            for (foreground in lifecycleCalls) {
                try {
                    val core = awaitCore()
                    val state = if (foreground) {
                        core.appForegrounded()
                    } else {
                        core.appBackgrounded()
                        core.lockState()
                    }
                    lockEventFlow.emit(LockEvent(state, foreground))
                    // Back on screen unlocked: write a backup that is still due (for
                    // example one a locked vault or a missing folder held back), and
                    // synchronize the containers that are due (ContainerSync, off the main thread).
                    if (foreground && !state.locked) {
                        backupAfterChange()
                        ContainerSync.syncDue(this@AuthenticatorApp)
                    }
                } catch (e: CancellationException) {
                    throw e
                } catch (e: Exception) {
                    // A failed open is shown by the UI; nothing to lock then.
                    Log.w(TAG, "lifecycle call failed: ${describe(e)}")
                }
            }
        }
        // Main thread (Application.onCreate), as ProcessLifecycleOwner requires.
        ProcessLifecycleOwner.get().lifecycle.addObserver(object : DefaultLifecycleObserver {
            override fun onStart(owner: LifecycleOwner) {
                lifecycleCalls.trySend(true)
            }

            override fun onStop(owner: LifecycleOwner) {
                lifecycleCalls.trySend(false)
            }
        })
        // A system broadcast: only a receiver registered at runtime gets it. Not exported:
        // only the system (and this app) can send to it.
        ContextCompat.registerReceiver(
            this,
            screenOffReceiver,
            IntentFilter(Intent.ACTION_SCREEN_OFF),
            ContextCompat.RECEIVER_NOT_EXPORTED,
        )
    }

    // ---- push token --------------------------------------------------------------------

    /** Hands the current FCM token to the core (used by later push enrollments). */
    private fun registerPushToken() {
        if (FirebaseApp.getApps(this).isEmpty()) {
            Log.i(TAG, "Firebase not configured: push enrollments will be poll-only")
            return
        }
        FirebaseMessaging.getInstance().token.addOnSuccessListener { token ->
            appScope.launch {
                runCatching { awaitCore().setPushServiceToken(token) }
                    .onFailure { Log.w(TAG, "setPushServiceToken failed: ${describe(it)}") }
            }
        }
    }

    /**
     * Sends every queued push-token update (the queue lives in the vault). Network: runs on
     * [appScope]. Call after every successful unlock and at start when unlocked.
     */
    fun retryTokenUpdates() {
        appScope.launch {
            try {
                awaitCore().retryPushTokenUpdates()
                    .filter { !it.ok }
                    .forEach { Log.w(TAG, "token update still pending for ${it.serial}: ${it.error}") }
            } catch (e: CancellationException) {
                throw e
            } catch (e: Exception) {
                Log.w(TAG, "retryPushTokenUpdates failed: ${describe(e)}")
            }
        }
    }

    // ---- automatic backups --------------------------------------------------------------

    /**
     * Writes the core's pending backup (if backups are on and one is due) to the picked
     * folder. Call after every change to the accounts (add, import, rename, delete, HOTP
     * code) and on every return to the foreground unlocked; cheap when nothing is due.
     */
    fun backupAfterChange() {
        appScope.launch {
            try {
                AutoBackup.writePending(this@AuthenticatorApp, awaitCore())
            } catch (e: CancellationException) {
                throw e
            } catch (e: Exception) {
                Log.w(TAG, "automatic backup failed: ${describe(e)}")
            }
        }
    }

    companion object {
        private const val TAG = "AuthenticatorApp"
        private const val VAULT_FILE = "vault.sqlite3"
    }
}

/** The core's Logger foreign trait on logcat (tag "authcore"). Returns at once; never calls the core. */
private object CoreLogcat : Logger {
    override fun log(level: LogLevel, target: String, message: String) {
        val priority = when (level) {
            LogLevel.ERROR -> Log.ERROR
            LogLevel.WARN -> Log.WARN
            LogLevel.INFO -> Log.INFO
            LogLevel.DEBUG -> Log.DEBUG
            LogLevel.TRACE -> Log.VERBOSE
        }
        Log.println(priority, "authcore", "$target: $message")
    }
}
