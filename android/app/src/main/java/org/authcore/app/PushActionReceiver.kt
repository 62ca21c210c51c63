// Notification actions: checks the keyguard, then hands the answer to expedited WorkManager work.
package org.authcore.app

import android.app.KeyguardManager
import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.os.Build

/**
 * Receives Approve / number-option / Decline from a challenge notification.
 *
 * Actions that the core marked `requiresUnlockedDevice` carry
 * `setAuthenticationRequired(true)`, which the system enforces from API 31 on. Below
 * API 31 the system runs the broadcast on the lock screen, so this receiver checks
 * [KeyguardManager.isDeviceLocked] and, when locked, answers nothing: it opens the app on
 * the challenge (shown once the user unlocks) and leaves an "Unlock to answer"
 * notification. The check also runs on API 31+, as a second guard.
 *
 * The answer itself runs in [PushAnswerWorker]: a receiver gets about 10 s, the core
 * allows up to 10 s to connect plus 30 s for the request.
 */
class PushActionReceiver : BroadcastReceiver() {

    override fun onReceive(context: Context, intent: Intent) {
        val approve = when (intent.action) {
            PushNotifications.ACTION_APPROVE -> true
            PushNotifications.ACTION_DECLINE -> false
            else -> return
        }
        val challengeId = intent.getStringExtra(PushNotifications.EXTRA_CHALLENGE_ID) ?: return
        val presence = intent.getStringExtra(PushNotifications.EXTRA_PRESENCE)
        // Missing extra: treat as needing an unlocked device.
        val needsUnlockedDevice = intent.getBooleanExtra(PushNotifications.EXTRA_REQUIRES_UNLOCKED_DEVICE, true)
        val app = context.applicationContext as AuthenticatorApp

        val keyguard = app.getSystemService(KeyguardManager::class.java)
        if (needsUnlockedDevice && keyguard.isDeviceLocked) { // API 22
            PushNotifications.showUnlockNeeded(app, challengeId)
            if (Build.VERSION.SDK_INT < Build.VERSION_CODES.S) {
                // Allowed below API 31: a receiver started from a notification's PendingIntent
                // may start an activity (from API 31 on, such trampolines are blocked, and
                // the system's own keyguard check applies instead).
                app.startActivity(PushNotifications.openAppIntent(app, challengeId))
            }
            return
        }
        PushNotifications.showSending(app, challengeId)
        PushAnswerWorker.enqueue(app, challengeId, approve, presence)
    }
}
