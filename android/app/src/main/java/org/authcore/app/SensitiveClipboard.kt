// Copies a code to the clipboard, marked sensitive, and takes it off again after 60 s if it is still ours.
package org.authcore.app

import android.content.ClipData
import android.content.ClipDescription
import android.content.ClipboardManager
import android.content.Context
import android.os.Build
import android.os.Handler
import android.os.Looper
import android.os.PersistableBundle
import android.os.SystemClock

/**
 * Main thread only. Android has no clipboard expiry (iOS's `expirationDate`), so the app
 * clears the code itself after [CLEAR_AFTER_MS], and only while the clipboard still holds
 * exactly the text it copied. From API 29 on an app may read the clipboard only while it
 * has the input focus; when the timer fires while another app is in front, the clip
 * cannot be checked, and the clear waits until one of this app's windows has the focus
 * again ([onWindowFocusChanged]). Writing (clearing) needs no focus, reading does.
 */
object SensitiveClipboard {
    private const val CLEAR_AFTER_MS = 60_000L
    private const val LABEL = "Authenticator code"

    private val handler = Handler(Looper.getMainLooper())
    private var appContext: Context? = null

    /** The text this app put on the clipboard and has not cleared yet. */
    private var copied: String? = null
    private var dueAt = 0L // SystemClock.elapsedRealtime()
    private var focused = false

    private val clearTask = Runnable { appContext?.let { clearIfOurs(it) } }

    fun copy(context: Context, text: String) {
        val app = context.applicationContext
        appContext = app
        val clip = ClipData.newPlainText(LABEL, text)
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU) {
            // Keeps the code out of the clipboard preview and suggestions.
            clip.description.extras = PersistableBundle().apply {
                putBoolean(ClipDescription.EXTRA_IS_SENSITIVE, true)
            }
        }
        clipboard(app).setPrimaryClip(clip)
        copied = text
        dueAt = SystemClock.elapsedRealtime() + CLEAR_AFTER_MS
        handler.removeCallbacks(clearTask)
        handler.postDelayed(clearTask, CLEAR_AFTER_MS)
    }

    /** From SecureActivity: a clear that had to wait for the focus happens now. */
    fun onWindowFocusChanged(context: Context, hasFocus: Boolean) {
        focused = hasFocus
        if (hasFocus && copied != null && SystemClock.elapsedRealtime() >= dueAt) {
            clearIfOurs(context.applicationContext)
        }
    }

    private fun clearIfOurs(context: Context) {
        val ours = copied ?: return
        val manager = clipboard(context)
        val canRead = focused || Build.VERSION.SDK_INT < Build.VERSION_CODES.Q
        val clip = if (canRead) manager.primaryClip else null
        if (clip == null) {
            // Readable and empty: someone cleared it already. Unreadable: wait for the focus.
            if (canRead) copied = null
            return
        }
        copied = null
        val stillOurs = clip.itemCount == 1 && clip.getItemAt(0).text?.toString() == ours
        if (!stillOurs) return
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.P) {
            manager.clearPrimaryClip()
        } else {
            manager.setPrimaryClip(ClipData.newPlainText("", ""))
        }
    }

    private fun clipboard(context: Context): ClipboardManager =
        context.getSystemService(ClipboardManager::class.java)
}
