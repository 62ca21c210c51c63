// Base of every Activity: no screenshots, no tapjacking, idle-timer activity reports, clipboard clearing on focus.
package org.authcore.app

import android.os.Build
import android.os.Bundle
import android.os.SystemClock
import android.view.MotionEvent
import android.view.WindowManager
import androidx.fragment.app.FragmentActivity
import kotlinx.coroutines.launch

/**
 * FLAG_SECURE (no screenshots, blank in recents); touches are dropped while another
 * app's window covers this one (filterTouchesWhenObscured on the decor view, so for the
 * Approve buttons and the PIN pad alike), and from API 31 non-system overlays are hidden
 * while this window is shown. Touches are reported to the core's idle timer (at most
 * once a second). A FragmentActivity because BiometricPrompt needs one; the window theme
 * is AppCompat (themes.xml) because androidx.biometric's own dialog below API 28 needs it.
 */
open class SecureActivity : FragmentActivity() {
    private var lastActivityReport = 0L

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        window.setFlags(WindowManager.LayoutParams.FLAG_SECURE, WindowManager.LayoutParams.FLAG_SECURE)
        window.decorView.filterTouchesWhenObscured = true
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
            window.setHideOverlayWindows(true) // needs HIDE_OVERLAY_WINDOWS (manifest)
        }
    }

    override fun dispatchTouchEvent(ev: MotionEvent): Boolean {
        if (ev.actionMasked == MotionEvent.ACTION_DOWN) {
            val now = SystemClock.elapsedRealtime()
            if (now - lastActivityReport >= 1000) {
                lastActivityReport = now
                val app = application as AuthenticatorApp
                app.appScope.launch { runCatching { app.awaitCore().reportActivity() } }
            }
        }
        return super.dispatchTouchEvent(ev)
    }

    override fun onWindowFocusChanged(hasFocus: Boolean) {
        super.onWindowFocusChanged(hasFocus)
        SensitiveClipboard.onWindowFocusChanged(this, hasFocus)
    }
}
