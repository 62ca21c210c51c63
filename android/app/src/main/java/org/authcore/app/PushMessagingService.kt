package org.authcore.app

import android.util.Log
import com.google.firebase.messaging.FirebaseMessagingService
import com.google.firebase.messaging.RemoteMessage
import kotlinx.coroutines.launch
import org.authcore.AuthenticatorException

/**
 * FCM entry point. The data map goes to the core unchanged; the core verifies the
 * server signature, drops expired/answered nonces and returns what to display.
 */
class PushMessagingService : FirebaseMessagingService() {

    // Runs on a Firebase worker thread, so blocking core calls are fine here.
    override fun onMessageReceived(message: RemoteMessage) {
        val app = application as AuthenticatorApp
        try {
            val core = app.coreBlocking()
            val challenge = core.receivePush(message.data)
            val locked = runCatching { core.lockState().locked }.getOrDefault(true)
            PushNotifications.show(this, challenge, locked)
        } catch (e: Exception) {
            // Bad signature, expired, unknown serial...: nothing to show.
            Log.w(TAG, "push message dropped: ${describe(e)}")
        }
    }

    override fun onNewToken(token: String) {
        val app = application as AuthenticatorApp
        app.appScope.launch {
            try {
                app.core.await().updatePushServiceToken(token)
                    .filter { !it.ok }
                    .forEach { Log.w(TAG, "token update failed for ${it.serial}: ${it.error}") }
            } catch (e: AuthenticatorException.Locked) {
                // The core kept the token; the servers are updated after the next unlock.
                app.pendingTokenRotation = token
            } catch (e: Exception) {
                Log.w(TAG, "updatePushServiceToken failed: ${describe(e)}")
            }
        }
    }

    private companion object {
        const val TAG = "PushMessagingService"
    }
}
