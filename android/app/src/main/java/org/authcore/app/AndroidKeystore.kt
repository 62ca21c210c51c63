// The core's Keystore on Android: an HMAC-SHA256 key inside the Android Keystore (StrongBox or TEE) computes the PIN's PRF; its bytes never leave the secure hardware.
package org.authcore.app

import android.content.Context
import android.content.pm.PackageManager
import android.os.Build
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyInfo
import android.security.keystore.KeyPermanentlyInvalidatedException
import android.security.keystore.KeyProperties
import android.security.keystore.StrongBoxUnavailableException
import android.util.AtomicFile
import androidx.annotation.RequiresApi
import org.authcore.DeviceKeyInfo
import org.authcore.DeviceKeyKind
import org.authcore.KeyProtection
import org.authcore.KeystoreException
import org.authcore.Keystore
import java.io.File
import java.security.KeyStore
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.Mac
import javax.crypto.SecretKey
import javax.crypto.SecretKeyFactory
import javax.crypto.spec.GCMParameterSpec

/**
 * The core's [Keystore]: a non-exportable HMAC-SHA256 key in the Android Keystore, in
 * StrongBox when the phone has one (API 28+), else in the TEE. The core sends it inputs
 * and gets HMACs back; every PIN check needs this key, so the vault file and anything
 * else copied off the phone are useless for guessing the PIN elsewhere.
 *
 * The key is not bound to user authentication: a push must be verifiable while the app
 * (and the phone) is locked, and the app PIN is what the key protects.
 *
 * Platform documentation followed:
 * - HMAC keys: `KeyGenerator.getInstance(KEY_ALGORITHM_HMAC_SHA256, "AndroidKeyStore")`
 *   with `KeyGenParameterSpec.Builder(alias, PURPOSE_SIGN)`, then `Mac.getInstance("HmacSHA256")`
 *   (https://developer.android.com/reference/android/security/keystore/KeyGenParameterSpec,
 *   "Example: HMAC key for generating a MAC using SHA-256").
 * - StrongBox: `setIsStrongBoxBacked(true)` (API 28), `StrongBoxUnavailableException` when
 *   the device has none; StrongBox supports HMAC-SHA256 with 8..64-byte keys
 *   (https://developer.android.com/privacy-and-security/keystore#StrongBoxKeyMint).
 * - Where the key is: `KeyInfo.getSecurityLevel()` (API 31+), `isInsideSecureHardware()`
 *   before (https://developer.android.com/reference/android/security/keystore/KeyInfo).
 *
 * Before schema 7 the core got a raw 32-byte device key, kept in `device_key.wrapped`
 * (AES-GCM under the Keystore key [LEGACY_ALIAS]). [legacyDeviceKey] still reads it for
 * the one re-key; [deleteLegacyDeviceKey] removes both afterwards.
 */
class AndroidKeystore(context: Context) : Keystore {
    private val appContext = context.applicationContext
    private val legacyFile = AtomicFile(File(appContext.noBackupFilesDir, "device_key.wrapped"))
    /** Marks a key generated in StrongBox (below API 31 KeyInfo cannot tell StrongBox from TEE). */
    private val strongBoxMarker = File(appContext.noBackupFilesDir, "device_prf_key.strongbox")
    private val lock = Any()

    override fun deviceKeyInfo(): DeviceKeyInfo = synchronized(lock) {
        guard { DeviceKeyInfo(DeviceKeyKind.HMAC_SHA256, protectionOf(prfKey())) }
    }

    override fun prf(input: ByteArray): ByteArray = synchronized(lock) {
        guard {
            val mac = Mac.getInstance("HmacSHA256")
            mac.init(prfKey())
            mac.doFinal(input)
        }
    }

    override fun deleteDeviceKey() {
        synchronized(lock) {
            guard<Unit> {
                val keyStore = androidKeyStore()
                if (keyStore.containsAlias(PRF_ALIAS)) keyStore.deleteEntry(PRF_ALIAS)
                strongBoxMarker.delete()
            }
        }
    }

    override fun legacyDeviceKey(): ByteArray? = synchronized(lock) {
        guard {
            if (!legacyFile.baseFile.exists()) {
                null
            } else {
                val wrapping = androidKeyStore().getKey(LEGACY_ALIAS, null) as SecretKey?
                    ?: throw KeystoreException.KeyInvalidated("wrapping key missing from Android Keystore")
                unwrapLegacyKey(wrapping, legacyFile.readFully())
            }
        }
    }

    override fun deleteLegacyDeviceKey() {
        synchronized(lock) {
            guard<Unit> {
                legacyFile.delete()
                val keyStore = androidKeyStore()
                if (keyStore.containsAlias(LEGACY_ALIAS)) keyStore.deleteEntry(LEGACY_ALIAS)
            }
        }
    }

    /** The HMAC key, generated on first use: StrongBox when there is one, else the TEE. */
    private fun prfKey(): SecretKey {
        (androidKeyStore().getKey(PRF_ALIAS, null) as SecretKey?)?.let { return it }
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.P &&
            appContext.packageManager.hasSystemFeature(PackageManager.FEATURE_STRONGBOX_KEYSTORE)
        ) {
            StrongBox.generate()?.let {
                strongBoxMarker.createNewFile()
                return it
            }
        }
        strongBoxMarker.delete()
        return KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_HMAC_SHA256, ANDROID_KEYSTORE)
            .apply { init(prfSpec().build()) }
            .generateKey()
    }

    private fun protectionOf(key: SecretKey): KeyProtection {
        val factory = SecretKeyFactory.getInstance(key.algorithm, ANDROID_KEYSTORE)
        val info = factory.getKeySpec(key, KeyInfo::class.java) as KeyInfo
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) return Level.of(info)
        @Suppress("DEPRECATION")
        return when {
            !info.isInsideSecureHardware -> KeyProtection.SOFTWARE
            strongBoxMarker.exists() -> KeyProtection.STRONGBOX
            else -> KeyProtection.TEE
        }
    }

    /** Separate class so older devices never resolve API 31 members. */
    @RequiresApi(Build.VERSION_CODES.S)
    private object Level {
        fun of(info: KeyInfo): KeyProtection = when (info.securityLevel) {
            KeyProperties.SECURITY_LEVEL_STRONGBOX -> KeyProtection.STRONGBOX
            KeyProperties.SECURITY_LEVEL_TRUSTED_ENVIRONMENT -> KeyProtection.TEE
            // UNKNOWN_SECURE: secure hardware of an unknown kind; count it as the TEE.
            KeyProperties.SECURITY_LEVEL_UNKNOWN_SECURE -> KeyProtection.TEE
            else -> KeyProtection.SOFTWARE
        }
    }

    private fun unwrapLegacyKey(key: SecretKey, blob: ByteArray): ByteArray {
        if (blob.size != IV_LEN + DEVICE_KEY_LEN + TAG_LEN) {
            throw KeystoreException.KeyInvalidated("wrapped device key is corrupt")
        }
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(Cipher.DECRYPT_MODE, key, GCMParameterSpec(TAG_LEN * 8, blob, 0, IV_LEN))
        return try {
            cipher.doFinal(blob, IV_LEN, blob.size - IV_LEN)
        } catch (e: AEADBadTagException) {
            throw KeystoreException.KeyInvalidated("wrapped device key does not match the keystore key")
        }
    }

    /** Separate class so pre-P devices never resolve StrongBox-only types. */
    @RequiresApi(Build.VERSION_CODES.P)
    private object StrongBox {
        fun generate(): SecretKey? = try {
            KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_HMAC_SHA256, ANDROID_KEYSTORE)
                .apply { init(prfSpec().setIsStrongBoxBacked(true).build()) }
                .generateKey()
        } catch (e: StrongBoxUnavailableException) {
            null // fall back to the TEE-backed keystore
        }
    }

    companion object {
        private const val ANDROID_KEYSTORE = "AndroidKeyStore"
        private const val PRF_ALIAS = "org.authcore.device-prf-key"
        /** The AES key that wrapped the raw device key before schema 7. */
        private const val LEGACY_ALIAS = "org.authcore.device-key-wrap"
        private const val TRANSFORMATION = "AES/GCM/NoPadding"
        private const val IV_LEN = 12
        private const val TAG_LEN = 16
        private const val DEVICE_KEY_LEN = 32

        /** HMAC-SHA256, 256-bit, signing only; no user authentication (see the class). */
        private fun prfSpec() = KeyGenParameterSpec.Builder(PRF_ALIAS, KeyProperties.PURPOSE_SIGN)
            .setKeySize(256)

        private fun androidKeyStore(): KeyStore = KeyStore.getInstance(ANDROID_KEYSTORE).apply { load(null) }

        /** Maps platform failures to [KeystoreException]; never lets other exceptions reach the core. */
        internal inline fun <T> guard(block: () -> T): T = try {
            block()
        } catch (e: KeystoreException) {
            throw e
        } catch (e: KeyPermanentlyInvalidatedException) {
            throw KeystoreException.KeyInvalidated("keystore key permanently invalidated")
        } catch (e: Exception) {
            throw KeystoreException.Unavailable("${e.javaClass.simpleName}: ${e.message ?: "keystore error"}")
        }
    }
}
