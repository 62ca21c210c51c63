// Automatic backups: writes the core's pending encrypted backup into the folder the user picked (SAF tree), then reports it written.
package org.authcore.app

import android.content.Context
import android.content.Intent
import android.net.Uri
import android.provider.DocumentsContract
import android.util.Log
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import org.authcore.Authenticator
import org.authcore.AuthenticatorException
import java.io.IOException

/**
 * The backup folder is a Storage Access Framework tree (ACTION_OPEN_DOCUMENT_TREE) whose
 * read/write grant is persisted with `takePersistableUriPermission`; only its URI is kept
 * (SharedPreferences: not a secret). The core decides what to back up and when one is due
 * (`pendingBackup()` is null otherwise) and encrypts it with the backup password; this
 * file only stores the bytes and calls `backupWritten(generation)` once they are stored.
 */
object AutoBackup {
    private const val TAG = "AutoBackup"
    private const val PREFS = "auto_backup"
    private const val KEY_TREE = "tree_uri"
    private const val MIME = "application/json"
    private const val GRANT =
        Intent.FLAG_GRANT_READ_URI_PERMISSION or Intent.FLAG_GRANT_WRITE_URI_PERMISSION

    /** One writer at a time: two changes in a row must not write the same generation twice. */
    private val writing = Mutex()

    private val problemFlow = MutableStateFlow<String?>(null)

    /** Why the last automatic backup could not be written (null after a good one). */
    val problem: StateFlow<String?> = problemFlow.asStateFlow()

    /** The picked folder, while its persisted grant is still held. */
    fun folder(context: Context): Uri? {
        val stored = context.getSharedPreferences(PREFS, Context.MODE_PRIVATE).getString(KEY_TREE, null)
            ?: return null
        val uri = Uri.parse(stored)
        val granted = context.contentResolver.persistedUriPermissions.any {
            it.uri == uri && it.isReadPermission && it.isWritePermission
        }
        return if (granted) uri else null
    }

    /** The folder's name for the settings screen, or null when it cannot be read. */
    fun folderName(context: Context, tree: Uri): String? = runCatching {
        val doc = DocumentsContract.buildDocumentUriUsingTree(tree, DocumentsContract.getTreeDocumentId(tree))
        context.contentResolver.query(doc, arrayOf(DocumentsContract.Document.COLUMN_DISPLAY_NAME), null, null, null)
            ?.use { c -> if (c.moveToFirst()) c.getString(0) else null }
    }.getOrNull()

    /**
     * Keeps access to [tree] (the ACTION_OPEN_DOCUMENT_TREE result) across restarts and
     * gives up the grant of the folder it replaces.
     */
    fun setFolder(context: Context, tree: Uri) {
        val resolver = context.contentResolver
        resolver.takePersistableUriPermission(tree, GRANT)
        val prefs = context.getSharedPreferences(PREFS, Context.MODE_PRIVATE)
        prefs.getString(KEY_TREE, null)?.let(Uri::parse)?.takeIf { it != tree }?.let { old ->
            runCatching { resolver.releasePersistableUriPermission(old, GRANT) }
        }
        prefs.edit().putString(KEY_TREE, tree.toString()).apply()
        problemFlow.value = null
    }

    /** Forgets the folder (backups stay on in the core until the password is removed). */
    fun clearFolder(context: Context) {
        val prefs = context.getSharedPreferences(PREFS, Context.MODE_PRIVATE)
        prefs.getString(KEY_TREE, null)?.let(Uri::parse)?.let { old ->
            runCatching { context.contentResolver.releasePersistableUriPermission(old, GRANT) }
        }
        prefs.edit().remove(KEY_TREE).apply()
        problemFlow.value = null
    }

    /**
     * Writes the backup the core has pending, if any, as a new file in the folder, then
     * tells the core (`backupWritten`). Blocking (file I/O and the core): call on
     * Dispatchers.IO. Returns the file name written, or null when nothing was due, no
     * folder is set or the vault is locked (the backup stays due and is written next time).
     */
    suspend fun writePending(context: Context, core: Authenticator): String? = writing.withLock {
        val tree = folder(context) ?: return@withLock null
        val backup = try {
            core.pendingBackup() ?: return@withLock null
        } catch (e: AuthenticatorException.Locked) {
            return@withLock null
        }
        val resolver = context.contentResolver
        var created: Uri? = null
        try {
            val parent = DocumentsContract.buildDocumentUriUsingTree(tree, DocumentsContract.getTreeDocumentId(tree))
            val doc = DocumentsContract.createDocument(resolver, parent, MIME, backup.fileName)
                ?: throw IOException("the folder did not create a file")
            created = doc
            val out = resolver.openOutputStream(doc, "w") ?: throw IOException("cannot open the new file")
            out.use { it.write(backup.data) }
            created = null // stored: keep it
            core.backupWritten(backup.generation)
            problemFlow.value = null
            Log.i(TAG, "backup of generation ${backup.generation} written (${backup.exported} accounts)")
            backup.fileName
        } catch (e: Exception) {
            // SecurityException: the grant was revoked (folder deleted, app data of the
            // provider cleared); IOException: full, offline cloud folder, ...
            Log.w(TAG, "backup not written: ${e.javaClass.simpleName}")
            problemFlow.value = "The last automatic backup could not be written to the folder. " +
                "Choose the folder again if this keeps happening."
            created?.let { runCatching { DocumentsContract.deleteDocument(resolver, it) } }
            null
        } finally {
            backup.data.fill(0)
        }
    }
}
