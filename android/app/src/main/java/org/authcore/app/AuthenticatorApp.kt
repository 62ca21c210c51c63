package org.authcore.app

import android.app.Application
import android.util.Log
import com.google.firebase.FirebaseApp
import com.google.firebase.messaging.FirebaseMessaging
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.async
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import org.authcore.Authenticator
import java.io.File

/**
 * Holds the single [Authenticator] of the process. It is opened once, off the main
 * thread, on `filesDir/vault.sqlite3` with the Android Keystore-backed [AndroidKeystore].
 */
class AuthenticatorApp : Application() {

    /** Background scope for fire-and-forget core calls (token updates, activity reports). */
    val appScope = CoroutineScope(SupervisorJob() + Dispatchers.IO)

    /** The core, opened on an IO thread. Await it from coroutines. */
    lateinit var core: Deferred<Authenticator>
        private set

    override fun onCreate() {
        super.onCreate()
        core = appScope.async {
            // `open` is a named constructor: a companion function in Kotlin.
            Authenticator.open(File(filesDir, "vault.sqlite3").absolutePath, AndroidKeystore(this@AuthenticatorApp))
        }
        PushNotifications.createChannel(this)
        registerPushToken()
    }

    /** For code that already runs on a worker thread (FCM service, receiver executor). */
    fun coreBlocking(): Authenticator = runBlocking { core.await() }

    /** Hands the current FCM token to the core (used by later push enrollments). */
    private fun registerPushToken() {
        if (FirebaseApp.getApps(this).isEmpty()) {
            Log.i(TAG, "Firebase not configured: push enrollments will be poll-only")
            return
        }
        FirebaseMessaging.getInstance().token.addOnSuccessListener { token ->
            appScope.launch {
                runCatching { core.await().setPushServiceToken(token) }
                    .onFailure { Log.w(TAG, "setPushServiceToken failed: ${it.javaClass.simpleName}") }
            }
        }
    }

    /**
     * An FCM token that arrived while the vault was locked: the core stored it (for new
     * enrollments) but could not sign the server updates. Sent again after the next unlock.
     */
    @Volatile
    var pendingTokenRotation: String? = null

    /** Called after every unlock: finishes a token rotation that hit a locked vault. */
    fun retryPendingTokenRotation() {
        val token = pendingTokenRotation ?: return
        appScope.launch {
            runCatching { core.await().updatePushServiceToken(token) }
                .onSuccess { results ->
                    if (pendingTokenRotation == token) pendingTokenRotation = null
                    results.filter { !it.ok }
                        .forEach { Log.w(TAG, "token update failed for ${it.serial}: ${it.error}") }
                }
                .onFailure { Log.w(TAG, "token rotation retry failed: ${it.javaClass.simpleName}") }
        }
    }

    companion object {
        private const val TAG = "AuthenticatorApp"
    }
}
