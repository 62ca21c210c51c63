package org.authcore.app

import android.Manifest
import android.annotation.SuppressLint
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
import org.authcore.PushAnswerResult
import org.authcore.PushChallenge

/** Notifications for push challenges. Display only: every decision is a core call. */
object PushNotifications {
    private const val CHANNEL_ID = "push_challenges"

    const val ACTION_APPROVE = "org.authcore.app.action.APPROVE"
    const val ACTION_DECLINE = "org.authcore.app.action.DECLINE"
    const val EXTRA_CHALLENGE_ID = "org.authcore.app.extra.CHALLENGE_ID"
    const val EXTRA_PRESENCE = "org.authcore.app.extra.PRESENCE_ANSWER"

    /**
     * MainActivity extra: open the push screen (PIN screen first when locked) with the
     * challenge highlighted. MainActivity is exported, so an intent never answers a
     * challenge by itself: the user confirms on the push screen.
     */
    const val EXTRA_OPEN_PUSH = "org.authcore.app.extra.OPEN_PUSH"

    fun createChannel(context: Context) {
        val channel = NotificationChannel(
            CHANNEL_ID,
            context.getString(R.string.push_channel_name),
            NotificationManager.IMPORTANCE_HIGH,
        ).apply { description = context.getString(R.string.push_channel_description) }
        context.getSystemService(NotificationManager::class.java).createNotificationChannel(channel)
    }

    fun notificationId(challengeId: String): Int = challengeId.hashCode()

    /**
     * Approve/Decline actions, or one action per presence option. When the challenge
     * needs an unlocked app and the vault is locked, the actions open the PIN screen.
     */
    fun show(context: Context, challenge: PushChallenge, vaultLocked: Boolean) {
        val needsUnlock = challenge.requiresUnlock && vaultLocked
        val builder = base(context, challenge.title, challenge.question)
            .setContentIntent(openApp(context, challenge.id, null, null))
        val remainingMs = challenge.expiresAt * 1000 - System.currentTimeMillis()
        if (remainingMs > 0) builder.setTimeoutAfter(remainingMs)

        fun answer(label: String, action: String, presence: String?) {
            val intent = if (needsUnlock) {
                openApp(context, challenge.id, action, presence)
            } else {
                broadcast(context, challenge.id, action, presence)
            }
            builder.addAction(0, label, intent)
        }
        if (challenge.presenceOptions.isNotEmpty()) {
            // Android shows at most three actions; the content intent opens all options.
            challenge.presenceOptions.forEach { answer(it, ACTION_APPROVE, it) }
        } else {
            answer(context.getString(R.string.approve), ACTION_APPROVE, null)
            answer(context.getString(R.string.decline), ACTION_DECLINE, null)
        }
        notify(context, notificationId(challenge.id), builder)
    }

    fun showResult(context: Context, challengeId: String, approve: Boolean, result: PushAnswerResult) {
        val text = when {
            !result.accepted -> result.message ?: "The server did not accept the answer."
            result.displayCode != null -> "Enter ${result.displayCode} at the sign-in." +
                (result.message?.let { "\n$it" } ?: "")
            approve -> result.message ?: "Approved."
            else -> result.message ?: "Declined."
        }
        val builder = base(context, if (result.accepted) "Done" else "Not accepted", text)
            .setContentIntent(openApp(context, challengeId, null, null))
            .setAutoCancel(true)
        notify(context, notificationId(challengeId), builder)
    }

    fun showUnlockNeeded(context: Context, challengeId: String, action: String, presence: String?) {
        val builder = base(context, context.getString(R.string.unlock_to_answer), "Open the app and enter your PIN.")
            .setContentIntent(openApp(context, challengeId, action, presence))
            .setAutoCancel(true)
        notify(context, notificationId(challengeId), builder)
    }

    fun showError(context: Context, challengeId: String, message: String) {
        val builder = base(context, "Could not answer", message)
            .setContentIntent(openApp(context, challengeId, null, null))
            .setAutoCancel(true)
        notify(context, notificationId(challengeId), builder)
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

    private fun broadcast(context: Context, challengeId: String, action: String, presence: String?): PendingIntent {
        val intent = Intent(context, PushActionReceiver::class.java)
            .setAction(action)
            .putExtra(EXTRA_CHALLENGE_ID, challengeId)
            .putExtra(EXTRA_PRESENCE, presence)
            .addFlags(Intent.FLAG_RECEIVER_FOREGROUND)
        return PendingIntent.getBroadcast(
            context,
            requestCode("broadcast", challengeId, action, presence),
            intent,
            PendingIntent.FLAG_UPDATE_CURRENT or PendingIntent.FLAG_IMMUTABLE,
        )
    }

    private fun openApp(context: Context, challengeId: String, action: String?, presence: String?): PendingIntent {
        val intent = Intent(context, MainActivity::class.java)
            .addFlags(Intent.FLAG_ACTIVITY_NEW_TASK or Intent.FLAG_ACTIVITY_SINGLE_TOP)
            .putExtra(EXTRA_OPEN_PUSH, true)
            .putExtra(EXTRA_CHALLENGE_ID, challengeId)
        return PendingIntent.getActivity(
            context,
            requestCode("activity", challengeId, action, presence),
            intent,
            PendingIntent.FLAG_UPDATE_CURRENT or PendingIntent.FLAG_IMMUTABLE,
        )
    }

    @SuppressLint("MissingPermission") // checked just below
    private fun notify(context: Context, id: Int, builder: NotificationCompat.Builder) {
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU &&
            ContextCompat.checkSelfPermission(context, Manifest.permission.POST_NOTIFICATIONS) !=
            PackageManager.PERMISSION_GRANTED
        ) {
            return
        }
        NotificationManagerCompat.from(context).notify(id, builder.build())
    }

    fun cancel(context: Context, challengeId: String) {
        NotificationManagerCompat.from(context).cancel(notificationId(challengeId))
    }
}
