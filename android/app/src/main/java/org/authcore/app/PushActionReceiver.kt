package org.authcore.app

import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.util.Log
import org.authcore.AuthenticatorException
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors

/** Approve/Decline notification actions: answered off the main thread (goAsync + executor). */
class PushActionReceiver : BroadcastReceiver() {

    override fun onReceive(context: Context, intent: Intent) {
        val action = intent.action ?: return
        val challengeId = intent.getStringExtra(PushNotifications.EXTRA_CHALLENGE_ID) ?: return
        val presence = intent.getStringExtra(PushNotifications.EXTRA_PRESENCE)
        val app = context.applicationContext as AuthenticatorApp
        val pending = goAsync()
        executor.execute {
            try {
                answer(app, action, challengeId, presence)
            } finally {
                pending.finish()
            }
        }
    }

    private fun answer(app: AuthenticatorApp, action: String, challengeId: String, presence: String?) {
        try {
            val core = app.coreBlocking()
            val result = when (action) {
                PushNotifications.ACTION_APPROVE -> core.approve(challengeId, presence)
                PushNotifications.ACTION_DECLINE -> core.decline(challengeId, null)
                else -> return
            }
            PushNotifications.showResult(app, challengeId, action == PushNotifications.ACTION_APPROVE, result)
        } catch (e: AuthenticatorException.Locked) {
            PushNotifications.showUnlockNeeded(app, challengeId, action, presence)
        } catch (e: Exception) {
            Log.w(TAG, "answer failed: ${describe(e)}")
            PushNotifications.showError(app, challengeId, describe(e))
        }
    }

    private companion object {
        const val TAG = "PushActionReceiver"
        val executor: ExecutorService = Executors.newSingleThreadExecutor()
    }
}
