// The core's BiometricKey on Android, and the BiometricPrompt step that authenticates its cipher first.
package org.authcore.app

import android.content.Context
import android.os.Build
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyPermanentlyInvalidatedException
import android.security.keystore.KeyProperties
import android.util.Base64
import androidx.biometric.BiometricManager
import androidx.biometric.BiometricManager.Authenticators.BIOMETRIC_STRONG
import androidx.biometric.BiometricPrompt
import androidx.core.content.ContextCompat
import androidx.fragment.app.FragmentActivity
import kotlinx.coroutines.suspendCancellableCoroutine
import org.authcore.BiometricKey
import org.authcore.KeystoreException
import java.security.KeyStore
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec
import kotlin.coroutines.resume

/**
 * The core's [BiometricKey], backed by an AES-256-GCM Android Keystore key that needs a
 * strong biometric for every operation and dies with a new biometric enrollment.
 *
 * The core calls [wrap]/[unwrap] synchronously on a worker thread, where no prompt can be
 * shown. So the UI first authenticates a [Cipher] with BiometricPrompt + CryptoObject
 * ([prepareEnable]/[prepareUnlock], then [BiometricAuth.authenticate]) and hands an
 * instance holding that authenticated cipher to `enableBiometricUnlock` /
 * `unlockWithBiometric`. Wrapped blob: 12-byte IV || ciphertext+tag; the IV is also kept
 * in shared preferences because a decrypt cipher must be initialised with it before the
 * prompt, i.e. before the core hands over the blob.
 */
class BiometricKeyImpl private constructor(
    context: Context,
    private val cipher: Cipher?,
    private val failure: KeystoreException?,
) : BiometricKey {
    private val appContext = context.applicationContext

    override fun wrap(plaintext: ByteArray): ByteArray = AndroidKeystore.guard {
        failure?.let { throw it }
        val c = cipher ?: throw KeystoreException.Unavailable("no authenticated cipher")
        val sealed = c.doFinal(plaintext)
        val iv = c.iv
        prefs(appContext).edit().putString(PREF_IV, Base64.encodeToString(iv, Base64.NO_WRAP)).commit()
        iv + sealed
    }

    override fun unwrap(ciphertext: ByteArray): ByteArray = AndroidKeystore.guard {
        failure?.let { throw it }
        val c = cipher ?: throw KeystoreException.Unavailable("no authenticated cipher")
        if (ciphertext.size < IV_LEN + TAG_LEN) {
            throw KeystoreException.KeyInvalidated("wrapped key is too short")
        }
        if (!ciphertext.copyOfRange(0, IV_LEN).contentEquals(c.iv)) {
            throw KeystoreException.KeyInvalidated("wrapped key does not match the biometric key")
        }
        try {
            c.doFinal(ciphertext, IV_LEN, ciphertext.size - IV_LEN)
        } catch (e: AEADBadTagException) {
            throw KeystoreException.KeyInvalidated("wrapped key does not match the biometric key")
        }
    }

    override fun deleteKey() {
        AndroidKeystore.guard<Unit> { BiometricKeyImpl.deleteKey(appContext) }
    }

    companion object {
        private const val ANDROID_KEYSTORE = "AndroidKeyStore"
        private const val ALIAS = "org.authcore.biometric"
        private const val TRANSFORMATION = "AES/GCM/NoPadding"
        private const val IV_LEN = 12
        private const val TAG_LEN = 16
        private const val PREFS = "biometric"
        private const val PREF_IV = "iv"

        private fun prefs(context: Context) = context.getSharedPreferences(PREFS, Context.MODE_PRIVATE)
        private fun keyStore(): KeyStore = KeyStore.getInstance(ANDROID_KEYSTORE).apply { load(null) }

        /** True when a class-3 (strong) biometric is enrolled and usable. */
        fun isAvailable(context: Context): Boolean =
            BiometricManager.from(context).canAuthenticate(BIOMETRIC_STRONG) == BiometricManager.BIOMETRIC_SUCCESS

        /** Replaces the key and returns an encrypt cipher to authenticate before enabling. */
        fun prepareEnable(context: Context): Cipher = AndroidKeystore.guard {
            deleteKey(context)
            val builder = KeyGenParameterSpec.Builder(
                ALIAS,
                KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT,
            )
                .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                .setKeySize(256)
                .setUserAuthenticationRequired(true)
                .setInvalidatedByBiometricEnrollment(true)
            if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.R) {
                // Every use needs a fresh strong-biometric authentication (CryptoObject).
                builder.setUserAuthenticationParameters(0, KeyProperties.AUTH_BIOMETRIC_STRONG)
            }
            val key = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, ANDROID_KEYSTORE)
                .apply { init(builder.build()) }
                .generateKey()
            Cipher.getInstance(TRANSFORMATION).apply { init(Cipher.ENCRYPT_MODE, key) }
        }

        /**
         * A decrypt cipher to authenticate before unlocking, or the [KeystoreException]
         * to hand to the core (through [failed]) when the key is gone or invalidated.
         */
        fun prepareUnlock(context: Context): Result<Cipher> = try {
            Result.success(AndroidKeystore.guard {
                val ivText = prefs(context).getString(PREF_IV, null)
                val key = keyStore().getKey(ALIAS, null) as SecretKey?
                if (ivText == null || key == null) {
                    throw KeystoreException.KeyInvalidated("biometric key missing")
                }
                val iv = Base64.decode(ivText, Base64.NO_WRAP)
                try {
                    Cipher.getInstance(TRANSFORMATION).apply {
                        init(Cipher.DECRYPT_MODE, key, GCMParameterSpec(TAG_LEN * 8, iv))
                    }
                } catch (e: KeyPermanentlyInvalidatedException) {
                    throw KeystoreException.KeyInvalidated("biometric enrollment changed")
                }
            })
        } catch (e: KeystoreException) {
            Result.failure(e)
        }

        /** Wraps a cipher that BiometricPrompt has just authenticated. */
        fun withAuthenticatedCipher(context: Context, cipher: Cipher): BiometricKey =
            BiometricKeyImpl(context, cipher, null)

        /** A key whose every call fails with [error], so the core learns about it (e.g. KeyInvalidated). */
        fun failed(context: Context, error: KeystoreException): BiometricKey =
            BiometricKeyImpl(context, null, error)

        /** Removes the keystore key and the stored IV (also after disable or a wipe). */
        fun deleteKey(context: Context) {
            prefs(context).edit().remove(PREF_IV).commit()
            val ks = keyStore()
            if (ks.containsAlias(ALIAS)) {
                ks.deleteEntry(ALIAS)
            }
        }
    }
}

/** Shows BiometricPrompt for a CryptoObject; returns the authenticated cipher, or null if cancelled/failed. */
object BiometricAuth {
    suspend fun authenticate(activity: FragmentActivity, title: String, cipher: Cipher): Cipher? =
        suspendCancellableCoroutine { cont ->
            val prompt = BiometricPrompt(
                activity,
                ContextCompat.getMainExecutor(activity),
                object : BiometricPrompt.AuthenticationCallback() {
                    override fun onAuthenticationSucceeded(result: BiometricPrompt.AuthenticationResult) {
                        if (cont.isActive) cont.resume(result.cryptoObject?.cipher)
                    }

                    override fun onAuthenticationError(errorCode: Int, errString: CharSequence) {
                        if (cont.isActive) cont.resume(null)
                    }
                    // onAuthenticationFailed: one non-matching attempt; the prompt stays open.
                },
            )
            val info = BiometricPrompt.PromptInfo.Builder()
                .setTitle(title)
                .setNegativeButtonText(activity.getString(R.string.biometric_negative))
                .setAllowedAuthenticators(BIOMETRIC_STRONG)
                .build()
            prompt.authenticate(info, BiometricPrompt.CryptoObject(cipher))
            cont.invokeOnCancellation { activity.runOnUiThread { prompt.cancelAuthentication() } }
        }
}
