package org.authcore.app

import android.os.Bundle
import android.os.SystemClock
import android.view.MotionEvent
import android.view.WindowManager
import androidx.fragment.app.FragmentActivity
import kotlinx.coroutines.launch

/**
 * Base of every Activity: FLAG_SECURE (no screenshots, blank in recents) and user
 * activity reports to the core's idle timer on touches (at most once a second).
 * A FragmentActivity because BiometricPrompt needs one.
 */
open class SecureActivity : FragmentActivity() {
    private var lastActivityReport = 0L

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        window.setFlags(WindowManager.LayoutParams.FLAG_SECURE, WindowManager.LayoutParams.FLAG_SECURE)
    }

    override fun dispatchTouchEvent(ev: MotionEvent): Boolean {
        if (ev.actionMasked == MotionEvent.ACTION_DOWN) {
            val now = SystemClock.elapsedRealtime()
            if (now - lastActivityReport >= 1000) {
                lastActivityReport = now
                val app = application as AuthenticatorApp
                app.appScope.launch { runCatching { app.core.await().reportActivity() } }
            }
        }
        return super.dispatchTouchEvent(ev)
    }
}
