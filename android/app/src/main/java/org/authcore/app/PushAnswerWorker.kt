// Sends one answer picked on a notification, as expedited work so the network calls have time to finish.
package org.authcore.app

import android.content.Context
import android.util.Log
import androidx.work.CoroutineWorker
import androidx.work.ExistingWorkPolicy
import androidx.work.ForegroundInfo
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.OutOfQuotaPolicy
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import androidx.work.workDataOf
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import org.authcore.AuthenticatorException

/**
 * Approves or declines one challenge through the core and shows the server's verdict in
 * the challenge's notification. Enqueued by [PushActionReceiver] with
 * `setExpedited(RUN_AS_NON_EXPEDITED_WORK_REQUEST)`; unique per challenge, so a second
 * tap while one answer is on its way does nothing.
 */
class PushAnswerWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {

    override suspend fun doWork(): Result {
        val challengeId = inputData.getString(KEY_CHALLENGE_ID) ?: return Result.failure()
        val approve = inputData.getBoolean(KEY_APPROVE, false)
        val presence = inputData.getString(KEY_PRESENCE)
        val app = applicationContext as AuthenticatorApp
        // The core blocks (SQLite, HTTP): IO, not the worker's default dispatcher.
        withContext(Dispatchers.IO) { answer(app, challengeId, approve, presence) }
        // One-shot: the challenge expires within minutes, a retry would only confuse.
        return Result.success()
    }

    private suspend fun answer(app: AuthenticatorApp, challengeId: String, approve: Boolean, presence: String?) {
        try {
            val core = app.awaitCore(retryFailed = true)
            val challenge = runCatching { core.pendingChallenges().firstOrNull { it.id == challengeId } }.getOrNull()
            val result = if (approve) core.approve(challengeId, presence) else core.decline(challengeId, null)
            PushNotifications.showResult(app, challengeId, approve, result)
            challenge?.let { PushNotifications.cancelSystemCopies(app, it) }
        } catch (e: CancellationException) {
            throw e
        } catch (e: AuthenticatorException.Locked) {
            // The vault locked after the notification was posted: answer in the app after the PIN.
            PushNotifications.showOpenApp(app, challengeId)
        } catch (e: Exception) {
            Log.w(TAG, "answer failed: ${describe(e)}")
            PushNotifications.showError(app, challengeId, describe(e))
        } finally {
            app.notifyChallengesChanged()
        }
    }

    /**
     * Below API 31 WorkManager runs expedited work as a foreground service and needs this
     * notification; from API 31 on it uses an expedited job and does not call it.
     */
    override suspend fun getForegroundInfo(): ForegroundInfo =
        ForegroundInfo(PushNotifications.WORK_NOTIFICATION_ID, PushNotifications.workNotification(applicationContext))

    companion object {
        private const val TAG = "PushAnswerWorker"
        private const val KEY_CHALLENGE_ID = "challenge_id"
        private const val KEY_APPROVE = "approve"
        private const val KEY_PRESENCE = "presence_answer"

        fun enqueue(context: Context, challengeId: String, approve: Boolean, presence: String?) {
            val request = OneTimeWorkRequestBuilder<PushAnswerWorker>()
                .setExpedited(OutOfQuotaPolicy.RUN_AS_NON_EXPEDITED_WORK_REQUEST)
                .setInputData(
                    workDataOf(
                        KEY_CHALLENGE_ID to challengeId,
                        KEY_APPROVE to approve,
                        KEY_PRESENCE to presence,
                    ),
                )
                .build()
            WorkManager.getInstance(context)
                .enqueueUniqueWork("answer:$challengeId", ExistingWorkPolicy.KEEP, request)
        }
    }
}
