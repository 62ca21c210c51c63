// Notifications for push challenges: the core's notificationActions() decides the actions, this file draws them.
package org.authcore.app

import android.Manifest
import android.annotation.SuppressLint
import android.app.Notification
import android.app.NotificationChannel
import android.app.NotificationManager
import android.app.PendingIntent
import android.content.Context
import android.content.Intent
import android.content.pm.PackageManager
import android.os.Build
import androidx.core.app.NotificationCompat
import androidx.core.app.NotificationManagerCompat
import androidx.core.content.ContextCompat
import org.authcore.NotificationAction
import org.authcore.PushActionKind
import org.authcore.PushAnswerResult
import org.authcore.PushChallenge
import org.authcore.notificationActions

/** Display only: which actions a challenge gets, and whether they need an unlock, is the core's call. */
object PushNotifications {
    /** Also the Firebase SDK's default channel: R.string.push_channel_id names the same id. */
    const val CHANNEL_ID = "push_challenges"
    private const val WORK_CHANNEL_ID = "push_answers"

    /** Tag of this app's own challenge notifications (the Firebase SDK's have another tag). */
    private const val TAG = "challenge"

    /** Android shows at most three actions on a notification. */
    private const val MAX_ACTIONS = 3

    /** The foreground-service notification WorkManager shows for expedited work below API 31. */
    const val WORK_NOTIFICATION_ID = 1

    const val ACTION_APPROVE = "org.authcore.app.action.APPROVE"
    const val ACTION_DECLINE = "org.authcore.app.action.DECLINE"
    const val EXTRA_CHALLENGE_ID = "org.authcore.app.extra.CHALLENGE_ID"
    const val EXTRA_PRESENCE = "org.authcore.app.extra.PRESENCE_ANSWER"
    const val EXTRA_REQUIRES_UNLOCKED_DEVICE = "org.authcore.app.extra.REQUIRES_UNLOCKED_DEVICE"

    /**
     * MainActivity extra: open the push screen (PIN screen first when locked) with the
     * challenge highlighted. MainActivity is exported, so an intent never answers a
     * challenge by itself: the user confirms on the push screen.
     */
    const val EXTRA_OPEN_PUSH = "org.authcore.app.extra.OPEN_PUSH"

    fun createChannels(context: Context) {
        val challenges = NotificationChannel(
            CHANNEL_ID,
            context.getString(R.string.push_channel_name),
            NotificationManager.IMPORTANCE_HIGH,
        ).apply {
            description = context.getString(R.string.push_channel_description)
            // The lock screen shows the public version ("Sign-in request"), not the question.
            lockscreenVisibility = Notification.VISIBILITY_PRIVATE
        }
        val work = NotificationChannel(
            WORK_CHANNEL_ID,
            context.getString(R.string.work_channel_name),
            NotificationManager.IMPORTANCE_LOW,
        ).apply { description = context.getString(R.string.work_channel_description) }
        context.getSystemService(NotificationManager::class.java)
            .createNotificationChannels(listOf(challenges, work))
    }

    fun notificationId(challengeId: String): Int = challengeId.hashCode()

    /**
     * A verified challenge with the core's actions, in the core's order. Actions that need
     * an unlocked device get `setAuthenticationRequired(true)`: NotificationCompat applies
     * it on API 31+ only (and ignores it below), where PushActionReceiver checks the
     * keyguard itself. Actions with `opensApp` (the app PIN is needed first) open the app
     * on the challenge instead of answering in the background. The tap opens the app on
     * the challenge too: that is where every number option can be picked.
     */
    fun show(context: Context, challenge: PushChallenge, vaultLocked: Boolean) {
        val builder = base(context, challenge.title, challenge.question)
            .setContentIntent(openApp(context, challenge.id))
        val remainingMs = challenge.expiresAt * 1000 - System.currentTimeMillis()
        if (remainingMs > 0) builder.setTimeoutAfter(remainingMs)

        for (action in notificationActions(challenge, MAX_ACTIONS.toUInt(), vaultLocked)) {
            val label = when (action.kind) {
                PushActionKind.APPROVE -> action.presenceAnswer ?: context.getString(R.string.approve)
                PushActionKind.DECLINE -> context.getString(R.string.decline)
            }
            val intent = if (action.opensApp) openApp(context, challenge.id) else answer(context, challenge.id, action)
            builder.addAction(
                NotificationCompat.Action.Builder(0, label, intent)
                    .setAuthenticationRequired(action.requiresUnlockedDevice)
                    .setShowsUserInterface(action.opensApp)
                    .build(),
            )
        }
        notify(context, challenge.id, builder)
        cancelSystemCopies(context, challenge)
    }

    /** Replaces the challenge's notification while PushAnswerWorker sends the answer. */
    fun showSending(context: Context, challengeId: String) {
        val builder = base(context, context.getString(R.string.push_public_title), context.getString(R.string.sending_answer))
            .setContentIntent(openApp(context, challengeId))
            .setProgress(0, 0, true)
        notify(context, challengeId, builder)
    }

    fun showResult(context: Context, challengeId: String, approve: Boolean, result: PushAnswerResult) {
        val text = resultText(result, approve)
        val builder = base(context, if (result.accepted) "Done" else "Not accepted", text)
            .setContentIntent(openApp(context, challengeId))
            .setAutoCancel(true)
        notify(context, challengeId, builder)
    }

    /** The device was locked when a device-unlock action ran (below API 31): nothing was sent. */
    fun showUnlockNeeded(context: Context, challengeId: String) {
        val builder = base(
            context,
            context.getString(R.string.unlock_to_answer),
            context.getString(R.string.unlock_to_answer_text),
        )
            .setContentIntent(openApp(context, challengeId))
            .setAutoCancel(true)
        notify(context, challengeId, builder)
    }

    /** The vault locked after the notification was posted: the answer needs the app PIN. */
    fun showOpenApp(context: Context, challengeId: String) {
        val builder = base(context, context.getString(R.string.open_app_to_answer), "Enter your app PIN, then answer.")
            .setContentIntent(openApp(context, challengeId))
            .setAutoCancel(true)
        notify(context, challengeId, builder)
    }

    fun showError(context: Context, challengeId: String, message: String) {
        val builder = base(context, "Could not answer", message)
            .setContentIntent(openApp(context, challengeId))
            .setAutoCancel(true)
        notify(context, challengeId, builder)
    }

    /** For PushAnswerWorker.getForegroundInfo (WorkManager's foreground service below API 31). */
    fun workNotification(context: Context): Notification =
        NotificationCompat.Builder(context, WORK_CHANNEL_ID)
            .setSmallIcon(R.drawable.ic_notification)
            .setContentTitle(context.getString(R.string.sending_answer))
            .setPriority(NotificationCompat.PRIORITY_LOW)
            .setOngoing(true)
            .build()

    fun resultText(result: PushAnswerResult, approve: Boolean): String = when {
        !result.accepted -> result.message ?: "The server did not accept the answer."
        result.displayCode != null -> "Enter ${result.displayCode?.value} at the sign-in." +
            (result.message?.let { "\n$it" } ?: "")
        approve -> result.message ?: "Approved."
        else -> result.message ?: "Declined."
    }

    /** Opens the app on a challenge; started directly by PushActionReceiver below API 31. */
    fun openAppIntent(context: Context, challengeId: String): Intent =
        Intent(context, MainActivity::class.java)
            .addFlags(Intent.FLAG_ACTIVITY_NEW_TASK or Intent.FLAG_ACTIVITY_SINGLE_TOP)
            .putExtra(EXTRA_OPEN_PUSH, true)
            .putExtra(EXTRA_CHALLENGE_ID, challengeId)

    fun cancel(context: Context, challengeId: String) {
        NotificationManagerCompat.from(context).cancel(TAG, notificationId(challengeId))
    }

    /**
     * Removes the notification the Firebase SDK drew for this challenge while the app was
     * in the background (privacyIDEA sends a `notification` block: its title and body are
     * the challenge's title and question), once the app shows or has answered the
     * challenge itself. Ours carry [TAG]; everything else of this app with the same title
     * and text is such a copy.
     */
    fun cancelSystemCopies(context: Context, challenge: PushChallenge) {
        val manager = context.getSystemService(NotificationManager::class.java)
        for (status in manager.activeNotifications) { // API 23
            if (status.tag == TAG) continue
            val extras = status.notification.extras
            val title = extras.getCharSequence(Notification.EXTRA_TITLE)?.toString()
            val text = extras.getCharSequence(Notification.EXTRA_TEXT)?.toString()
            if (title == challenge.title && text == challenge.question) {
                manager.cancel(status.tag, status.id)
            }
        }
    }

    private fun base(context: Context, title: String, text: String): NotificationCompat.Builder {
        val public = NotificationCompat.Builder(context, CHANNEL_ID)
            .setSmallIcon(R.drawable.ic_notification)
            .setContentTitle(context.getString(R.string.push_public_title))
            .build()
        return NotificationCompat.Builder(context, CHANNEL_ID)
            .setSmallIcon(R.drawable.ic_notification)
            .setContentTitle(title)
            .setContentText(text)
            .setStyle(NotificationCompat.BigTextStyle().bigText(text))
            .setPriority(NotificationCompat.PRIORITY_HIGH)
            .setCategory(NotificationCompat.CATEGORY_MESSAGE)
            .setVisibility(NotificationCompat.VISIBILITY_PRIVATE)
            .setPublicVersion(public)
            .setOnlyAlertOnce(true)
    }

    private fun requestCode(vararg parts: String?): Int = parts.joinToString("|").hashCode()

    private fun answer(context: Context, challengeId: String, action: NotificationAction): PendingIntent {
        val approve = action.kind == PushActionKind.APPROVE
        val intent = Intent(context, PushActionReceiver::class.java)
            .setAction(if (approve) ACTION_APPROVE else ACTION_DECLINE)
            .putExtra(EXTRA_CHALLENGE_ID, challengeId)
            .putExtra(EXTRA_PRESENCE, action.presenceAnswer)
            .putExtra(EXTRA_REQUIRES_UNLOCKED_DEVICE, action.requiresUnlockedDevice)
            .addFlags(Intent.FLAG_RECEIVER_FOREGROUND)
        return PendingIntent.getBroadcast(
            context,
            requestCode("broadcast", challengeId, intent.action, action.presenceAnswer),
            intent,
            PendingIntent.FLAG_UPDATE_CURRENT or PendingIntent.FLAG_IMMUTABLE,
        )
    }

    private fun openApp(context: Context, challengeId: String): PendingIntent =
        PendingIntent.getActivity(
            context,
            requestCode("activity", challengeId),
            openAppIntent(context, challengeId),
            PendingIntent.FLAG_UPDATE_CURRENT or PendingIntent.FLAG_IMMUTABLE,
        )

    @SuppressLint("MissingPermission") // checked just below
    private fun notify(context: Context, challengeId: String, builder: NotificationCompat.Builder) {
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU &&
            ContextCompat.checkSelfPermission(context, Manifest.permission.POST_NOTIFICATIONS) !=
            PackageManager.PERMISSION_GRANTED
        ) {
            return
        }
        NotificationManagerCompat.from(context).notify(TAG, notificationId(challengeId), builder.build())
    }
}
