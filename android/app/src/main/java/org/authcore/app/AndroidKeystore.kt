// The core's Keystore on Android: the device key, wrapped by a non-exportable Android Keystore key.
package org.authcore.app

import android.content.Context
import android.content.pm.PackageManager
import android.os.Build
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyPermanentlyInvalidatedException
import android.security.keystore.KeyProperties
import android.security.keystore.StrongBoxUnavailableException
import android.util.AtomicFile
import androidx.annotation.RequiresApi
import org.authcore.KeystoreException
import org.authcore.Keystore
import java.io.File
import java.security.KeyStore
import java.security.SecureRandom
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * The core's [Keystore]: a random 32-byte device key, stored in app-private storage
 * (no-backup dir) wrapped with AES-256-GCM under a non-exportable Android Keystore key
 * (StrongBox-backed when the device has one). File format: 12-byte IV || ciphertext+tag.
 */
class AndroidKeystore(context: Context) : Keystore {
    private val appContext = context.applicationContext
    private val file = AtomicFile(File(appContext.noBackupFilesDir, "device_key.wrapped"))
    private val lock = Any()

    override fun getOrCreateDeviceKey(): ByteArray = synchronized(lock) {
        guard {
            val keyStore = androidKeyStore()
            val existing = keyStore.getKey(ALIAS, null) as SecretKey?
            if (file.baseFile.exists()) {
                if (existing == null) {
                    throw KeystoreException.KeyInvalidated("wrapping key missing from Android Keystore")
                }
                unwrapDeviceKey(existing, file.readFully())
            } else {
                if (existing != null) keyStore.deleteEntry(ALIAS)
                createDeviceKey()
            }
        }
    }

    override fun deleteDeviceKey() {
        synchronized(lock) {
            guard<Unit> {
                file.delete()
                val keyStore = androidKeyStore()
                if (keyStore.containsAlias(ALIAS)) {
                    keyStore.deleteEntry(ALIAS)
                }
            }
        }
    }

    private fun unwrapDeviceKey(key: SecretKey, blob: ByteArray): ByteArray {
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

    private fun createDeviceKey(): ByteArray {
        val wrappingKey = generateWrappingKey()
        val deviceKey = ByteArray(DEVICE_KEY_LEN).also { SecureRandom().nextBytes(it) }
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(Cipher.ENCRYPT_MODE, wrappingKey) // the keystore picks a random IV
        val sealed = cipher.doFinal(deviceKey)
        val iv = cipher.iv
        check(iv.size == IV_LEN) { "unexpected IV length" }
        val out = file.startWrite()
        try {
            out.write(iv)
            out.write(sealed)
            file.finishWrite(out)
        } catch (e: Exception) {
            file.failWrite(out)
            throw e
        }
        return deviceKey
    }

    private fun generateWrappingKey(): SecretKey {
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.P &&
            appContext.packageManager.hasSystemFeature(PackageManager.FEATURE_STRONGBOX_KEYSTORE)
        ) {
            StrongBox.generate()?.let { return it }
        }
        return KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, ANDROID_KEYSTORE)
            .apply { init(spec().build()) }
            .generateKey()
    }

    /** Separate class so pre-P devices never resolve StrongBox-only types. */
    @RequiresApi(Build.VERSION_CODES.P)
    private object StrongBox {
        fun generate(): SecretKey? = try {
            KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, ANDROID_KEYSTORE)
                .apply { init(spec().setIsStrongBoxBacked(true).build()) }
                .generateKey()
        } catch (e: StrongBoxUnavailableException) {
            null // fall back to the TEE-backed keystore
        }
    }

    companion object {
        private const val ANDROID_KEYSTORE = "AndroidKeyStore"
        private const val ALIAS = "org.authcore.device-key-wrap"
        private const val TRANSFORMATION = "AES/GCM/NoPadding"
        private const val IV_LEN = 12
        private const val TAG_LEN = 16
        private const val DEVICE_KEY_LEN = 32

        private fun spec() = KeyGenParameterSpec.Builder(
            ALIAS,
            KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT,
        )
            .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
            .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
            .setKeySize(256)
            .setRandomizedEncryptionRequired(true)

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
