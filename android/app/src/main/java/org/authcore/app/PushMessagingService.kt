// FCM entry point: messages the app gets itself go to the core for verification (then a due container sync); token rotations are queued in the core.
package org.authcore.app

import android.util.Log
import com.google.firebase.messaging.FirebaseMessagingService
import com.google.firebase.messaging.RemoteMessage
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.launch

/**
 * privacyIDEA's Firebase sender puts the challenge in `data` and, in current versions,
 * the title and question in a `notification` block too. [onMessageReceived] is called
 * for such a message only while the app is in the foreground (and for data-only
 * messages from older servers, always). In the background the Firebase SDK draws the
 * notification itself; the app sees that challenge when the notification is tapped
 * (MainViewModel.handleIntent) or when it next comes to the foreground and reads the
 * pending challenges / polls (MainViewModel.refreshChallenges).
 *
 * `handleIntent` is deliberately not overridden: it is not part of the documented API and
 * Firebase does not promise it keeps working.
 */
class PushMessagingService : FirebaseMessagingService() {

    // Runs on a Firebase worker thread, so blocking core calls are fine here.
    override fun onMessageReceived(message: RemoteMessage) {
        val app = application as AuthenticatorApp
        try {
            val core = app.coreBlocking()
            // The whole data map: the core verifies the signature and ignores unknown keys.
            val challenge = core.receivePush(message.data)
            val locked = runCatching { core.lockState().locked }.getOrDefault(true)
            PushNotifications.show(this, challenge, locked)
            app.notifyChallengesChanged()
            // A push for a container token asks for that container's sync: the core marked it
            // in receivePush and decides; the run goes to the app's IO scope, not this thread.
            if (!locked) ContainerSync.syncDue(app)
        } catch (e: Exception) {
            // Bad signature, expired, unknown serial...: nothing to show.
            Log.w(TAG, "push message dropped: ${describe(e)}")
        }
    }

    /**
     * The core stores the token and queues an update for every push token's server (sent
     * at once when unlocked; otherwise after the next unlock or app start, see
     * AuthenticatorApp.retryTokenUpdates). Settings shows what is still queued.
     */
    override fun onNewToken(token: String) {
        val app = application as AuthenticatorApp
        app.appScope.launch {
            try {
                app.awaitCore(retryFailed = true).updatePushServiceToken(token)
                    .filter { !it.ok && !it.pending }
                    .forEach { Log.w(TAG, "token update failed for ${it.serial}: ${it.error}") }
            } catch (e: CancellationException) {
                throw e
            } catch (e: Exception) {
                Log.w(TAG, "updatePushServiceToken failed: ${describe(e)}")
            }
        }
    }

    private companion object {
        const val TAG = "PushMessagingService"
    }
}
