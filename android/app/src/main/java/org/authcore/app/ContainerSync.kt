// Automatic container synchronization: asks the core to sync the containers that are due (after an unlock, back in the foreground unlocked, after a push), off the main thread, and keeps the failures for the Containers screen.

/*
 * Documents followed:
 * - Main-safe calls, network work on Dispatchers.IO:
 *   https://developer.android.com/kotlin/coroutines/coroutines-best-practices
 * - StateFlow for state the UI shows, SharedFlow for one-off events:
 *   https://developer.android.com/kotlin/flow/stateflow-and-sharedflow
 */
package org.authcore.app

import android.util.Log
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharedFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asSharedFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch
import org.authcore.AuthenticatorException
import java.util.concurrent.atomic.AtomicBoolean

/**
 * The core decides which containers are due (`syncDueContainers`: its interval, a push for a
 * container token, an unanswered sync request) and does the network calls; this only runs
 * it on [AuthenticatorApp.appScope] (Dispatchers.IO), one run at a time, and publishes what
 * the UI needs: [problems] (shown as a banner on the Containers screen, never a dialog) and
 * [changes] (the accounts list reloads).
 *
 * A request that arrives while a run is under way is not dropped: one more run follows
 * (the push that marked a container may have been stored after the running one read it).
 */
object ContainerSync {
    private const val TAG = "ContainerSync"

    private val running = AtomicBoolean(false)
    private val again = AtomicBoolean(false)

    private val problemFlow = MutableStateFlow<List<String>>(emptyList())

    /** "serial: reason" for each container whose last automatic sync failed, and the warnings of the last run. */
    val problems: StateFlow<List<String>> = problemFlow.asStateFlow()

    private val changeFlow = MutableSharedFlow<Unit>(extraBufferCapacity = 8)

    /** Emitted after a run that changed accounts or containers. */
    val changes: SharedFlow<Unit> = changeFlow.asSharedFlow()

    /** Starts a run in the background (returns at once). Cheap when nothing is due. */
    fun syncDue(app: AuthenticatorApp) {
        again.set(true)
        if (!running.compareAndSet(false, true)) return
        app.appScope.launch {
            try {
                while (again.getAndSet(false)) runOnce(app)
            } finally {
                running.set(false)
            }
            // A request between the last check and the reset above.
            if (again.get()) syncDue(app)
        }
    }

    /** The user dismissed the banner. */
    fun clearProblems() {
        problemFlow.value = emptyList()
    }

    private suspend fun runOnce(app: AuthenticatorApp) {
        try {
            val reports = app.awaitCore().syncDueContainers()
            if (reports.isEmpty()) return
            val lines = reports.mapNotNull { r -> r.error?.let { "${r.serial}: $it" } } +
                reports.flatMap { r -> r.result?.warnings.orEmpty().map { "${r.serial}: $it" } }
            problemFlow.value = lines
            for (r in reports) {
                if (r.error != null) Log.w(TAG, "automatic sync of ${r.serial} failed: ${r.error}")
            }
            changeFlow.tryEmit(Unit)
            app.backupAfterChange()
        } catch (e: CancellationException) {
            throw e
        } catch (e: AuthenticatorException.Locked) {
            // Locked again before the run started: the next unlock starts one.
        } catch (e: Exception) {
            Log.w(TAG, "syncDueContainers failed: ${describe(e)}")
            problemFlow.value = listOf(describe(e))
        }
    }
}
