// Hands the app's Context to the core's TLS verifier (rustls-platform-verifier) once, before any network call.
package org.authcore.app

import android.content.Context

/**
 * The core verifies TLS with Android's own trust manager through
 * rustls-platform-verifier, which needs a Context from the JVM. [init] is a JNI method
 * the core exports (`Java_org_authcore_app_PlatformTls_init`, core/src/android_tls.rs);
 * the library is loaded with System.loadLibrary here so the JVM can bind it (JNA
 * loads the same .so for the UniFFI calls). The verifier's Kotlin half comes from the
 * `rustls:rustls-platform-verifier` Maven artifact (app/build.gradle.kts).
 */
object PlatformTls {
    @Volatile private var done = false

    @JvmStatic private external fun init(context: Context)

    @Synchronized
    fun ensureInitialized(context: Context) {
        if (done) return
        System.loadLibrary("authenticator_core")
        init(context.applicationContext)
        done = true
    }
}
