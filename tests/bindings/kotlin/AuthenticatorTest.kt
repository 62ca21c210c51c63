// Binding tests of authenticator-core on the JVM: the generated Kotlin bindings
// (org.authcore) used the way the Android app uses them, against the real cdylib.
// Run by tests/bindings/run-kotlin.sh.
package org.authcore.tests

import org.authcore.*
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.*
import org.junit.jupiter.api.Assumptions
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import java.net.URI
import java.net.URLEncoder
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.nio.file.Path
import java.security.SecureRandom
import javax.crypto.KeyGenerator
import javax.crypto.Mac
import javax.crypto.SecretKey
import java.time.Duration
import java.util.concurrent.atomic.AtomicInteger

/**
 * In-memory stand-in for the Android Keystore: an HMAC-SHA256 key (javax.crypto) that
 * computes the core's PRF inside and is never handed out, like the Keystore key of
 * AndroidKeystore.kt. `legacy` is an old-format raw device key (the upgrade test).
 */
class MemoryKeystore(@Volatile private var legacy: ByteArray? = null) : Keystore {
    private var key: SecretKey? = null
    val deletions = AtomicInteger(0)
    val prfCalls = AtomicInteger(0)
    val hasKey: Boolean @Synchronized get() = key != null
    val hasLegacyKey: Boolean get() = legacy != null

    @Synchronized
    private fun key(): SecretKey = key ?: KeyGenerator.getInstance("HmacSHA256").generateKey().also { key = it }

    @Synchronized
    override fun deviceKeyInfo(): DeviceKeyInfo {
        key()
        return DeviceKeyInfo(DeviceKeyKind.HMAC_SHA256, KeyProtection.TEE)
    }

    @Synchronized
    override fun prf(input: ByteArray): ByteArray {
        prfCalls.incrementAndGet()
        return Mac.getInstance("HmacSHA256").apply { init(key()) }.doFinal(input)
    }

    @Synchronized
    override fun deleteDeviceKey() {
        key = null
        deletions.incrementAndGet()
    }

    override fun legacyDeviceKey(): ByteArray? = legacy?.copyOf()

    override fun deleteLegacyDeviceKey() {
        legacy = null
    }
}

/** A clock the test moves by hand: wall time for TOTP, monotonic time for the idle lock. */
class ManualClock(@Volatile var unixSeconds: Long, @Volatile var monotonicMs: Long = 1_000_000L) : Clock {
    override fun nowUnixSeconds(): Long = unixSeconds
    override fun monotonicMillis(): ULong = monotonicMs.toULong()
    fun advanceSeconds(s: Long) {
        unixSeconds += s
        monotonicMs += s * 1000
    }
}

/** assertThrows with a Kotlin lambda (Debian's JUnit jars lack the Kotlin extensions). */
inline fun <reified T : Throwable> expectThrows(crossinline block: () -> Any?): T =
    assertThrows(T::class.java) { block() }

const val TOTP_LINK = "otpauth://totp/Example:alice@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Example"
const val RFC6238_LINK =
    "otpauth://totp/RFC6238:sha1?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA1&digits=8&period=30&issuer=RFC6238"
const val HOTP_LINK = "otpauth://hotp/RFC4226:counter?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=0&issuer=RFC4226"
/** RFC 4226 appendix D: HOTP values of the secret "12345678901234567890" for counters 0..9. */
val RFC4226_CODES = listOf("755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489")
const val Y2020: Long = 1577836800 // 2020-01-01T00:00:00Z

class AuthenticatorTest {
    private lateinit var dir: Path
    private val opened = mutableListOf<Authenticator>()

    @BeforeEach
    fun setUp() {
        dir = Files.createTempDirectory("authcore-kt")
    }

    @AfterEach
    fun tearDown() {
        opened.forEach { runCatching { it.close() } }
        dir.toFile().deleteRecursively()
    }

    private fun dbPath(name: String = "vault.db") = dir.resolve(name).toString()

    private fun open(keystore: Keystore = MemoryKeystore(), name: String = "vault.db"): Authenticator =
        Authenticator.open(dbPath(name), keystore).also { opened += it }

    private fun openWithClock(keystore: Keystore, clock: Clock): Authenticator =
        Authenticator.openWithClock(dbPath(), keystore, clock).also { opened += it }

    // ------------------------------------------------------------------ enrollment and codes

    @Test
    fun totpCodesMatchReferenceValues() {
        val app = open()
        val preview = app.preview(TOTP_LINK)
        assertEquals(1, preview.accounts.size)
        val p = preview.accounts[0]
        assertEquals(AccountKind.TOTP, p.kind)
        assertEquals("Example", p.issuer)
        assertEquals("alice@example.com", p.name)
        assertFalse(p.alreadyEnrolled)
        assertNotNull(p.currentCode, "a TOTP preview shows the current code")
        assertTrue(p.weakSecret, "an 80-bit secret is flagged as weak")

        val added = app.add(TOTP_LINK)
        assertEquals(1, added.accounts.size)
        val acct = added.accounts[0]
        assertEquals(AccountKind.TOTP, acct.kind)
        assertEquals(Algorithm.SHA1, acct.algorithm)
        assertEquals(6.toUByte(), acct.digits)
        assertEquals(30u, acct.period)

        val code = app.codeAt(acct.id, Y2020)
        assertEquals("646738", code.code.value)
        assertFalse(code.toString().contains("646738"), "toString never shows the code: $code")
        assertEquals(acct.id, code.accountId)
        assertEquals(Y2020 + 30, code.validUntil)
        assertEquals(30u, code.period)
        assertTrue(app.preview(TOTP_LINK).accounts[0].alreadyEnrolled)

        val rfc = app.add(RFC6238_LINK).accounts[0]
        assertEquals(8.toUByte(), rfc.digits)
        val c59 = app.codeAt(rfc.id, 59)
        assertEquals("94287082", c59.code.value)
        assertEquals(60L, c59.validUntil)
        assertEquals("07081804", app.codeAt(rfc.id, 1111111109).code.value) // RFC 6238 appendix B
        assertEquals(2, app.listAccounts().size)
    }

    @Test
    fun hotpCodesFollowTheCounter() {
        val app = open()
        val acct = app.add(HOTP_LINK).accounts[0]
        assertEquals(AccountKind.HOTP, acct.kind)
        val first = app.code(acct.id)
        val second = app.code(acct.id)
        val i = RFC4226_CODES.indexOf(first.code.value)
        assertTrue(i >= 0, "first HOTP code ${first.code.value} is one of RFC 4226's")
        assertEquals(RFC4226_CODES[i + 1], second.code.value, "each code() moves the counter by one")
        assertNull(first.validUntil)
        assertNotNull(first.counter)
        assertEquals(first.counter!! + 1u, second.counter)
    }

    @Test
    fun listRenameDeleteAndPersistence() {
        val keystore = MemoryKeystore()
        val app = open(keystore)
        val a = app.add(TOTP_LINK).accounts[0]
        val b = app.add(RFC6238_LINK).accounts[0]
        assertEquals(setOf(a.id, b.id), app.listAccounts().map { it.id }.toSet())

        app.renameAccount(a.id, "Work mail")
        assertEquals("Work mail", app.listAccounts().single { it.id == a.id }.name)

        app.reorderAccounts(listOf(b.id, a.id))
        assertEquals(listOf(b.id, a.id), app.listAccounts().map { it.id })

        app.deleteAccount(b.id)
        assertEquals(listOf(a.id), app.listAccounts().map { it.id })
        expectThrows<AuthenticatorException.NotFound> { app.codeAt(b.id, Y2020) }
        expectThrows<AuthenticatorException.NotFound> { app.renameAccount("no-such-id", "x") }
        app.close()
        opened.remove(app)

        // An app restart: the same file and the same keystore key give the same vault.
        val again = open(keystore)
        val accounts = again.listAccounts()
        assertEquals(1, accounts.size)
        assertEquals("Work mail", accounts[0].name)
        assertEquals("646738", again.codeAt(a.id, Y2020).code.value)
    }

    @Test
    fun duplicateEnrollmentIsRefused() {
        val app = open()
        app.add(TOTP_LINK)
        expectThrows<AuthenticatorException.AlreadyEnrolled> { app.add(TOTP_LINK) }
        assertEquals(1, app.listAccounts().size)
    }

    @Test
    fun badLinksThrowAndTheJvmSurvives() {
        val app = open()
        val bad = listOf(
            "",
            "not a link",
            "https://example.com/?secret=JBSWY3DPEHPK3PXP",
            "otpauth://totp/NoSecret:bob",
            "otpauth://totp/BadSecret:bob?secret=not*base32!",
            "otpauth://totp/BadDigits:bob?secret=JBSWY3DPEHPK3PXP&digits=42",
            "otpauth://totp/BadAlgo:bob?secret=JBSWY3DPEHPK3PXP&algorithm=MD5",
            "otpauth://unknown/x:y?secret=JBSWY3DPEHPK3PXP",
        )
        for (link in bad) {
            val e = expectThrows<AuthenticatorException> { app.add(link) }
            assertTrue(
                e is AuthenticatorException.InvalidEnrollment || e is AuthenticatorException.NotSupported,
                "'$link' gave $e",
            )
        }
        expectThrows<AuthenticatorException.InvalidEnrollment> { app.preview("otpauth://totp/x?secret=") }
        expectThrows<AuthenticatorException.InvalidEnrollment> { app.add("not a link") }
        // still alive and usable after all those errors crossed the FFI
        assertEquals(0, app.listAccounts().size)
        val acct = app.add(TOTP_LINK).accounts[0]
        assertEquals("646738", app.codeAt(acct.id, Y2020).code.value)
    }

    // ------------------------------------------------------------------ PIN lock

    @Test
    fun pinLockAndUnlock() {
        val app = open()
        val acct = app.add(TOTP_LINK).accounts[0]
        assertFalse(app.lockState().hasPin)

        app.setPin("1234")
        val state = app.lockState()
        assertTrue(state.hasPin)
        assertFalse(state.locked)
        assertEquals("646738", app.codeAt(acct.id, Y2020).code.value)

        app.lock()
        assertTrue(app.lockState().locked)
        expectThrows<AuthenticatorException.Locked> { app.codeAt(acct.id, Y2020) }

        val full = app.lockState().attemptsLeft
        val e1 = expectThrows<AuthenticatorException.WrongPin> { app.unlock("0000") }
        val e2 = expectThrows<AuthenticatorException.WrongPin> { app.unlock("0000") }
        assertEquals(full - 1u, e1.attemptsLeft)
        assertEquals(e1.attemptsLeft - 1u, e2.attemptsLeft)
        assertEquals(e2.attemptsLeft, app.lockState().attemptsLeft)
        assertTrue(app.lockState().locked)

        app.unlock("1234")
        assertFalse(app.lockState().locked)
        assertEquals(full, app.lockState().attemptsLeft, "a correct PIN resets the counter")
        assertEquals("646738", app.codeAt(acct.id, Y2020).code.value)

        app.changePin("1234", "5678")
        app.lock()
        expectThrows<AuthenticatorException.WrongPin> { app.unlock("1234") }
        app.unlock("5678")
        assertEquals("646738", app.codeAt(acct.id, Y2020).code.value)
    }

    @Test
    fun everyPinCheckGoesThroughTheKeystorePrfAndTheProtectionIsReported() {
        val keystore = MemoryKeystore()
        val app = open(keystore)
        val acct = app.add(TOTP_LINK).accounts[0]
        app.setPin("5791")
        assertEquals(KeyProtection.TEE, app.lockState().protection)
        app.lock()
        val before = keystore.prfCalls.get()
        expectThrows<AuthenticatorException.WrongPin> { app.unlock("1111") }
        assertEquals(before + 1, keystore.prfCalls.get(), "a wrong PIN needs the keystore too")
        app.unlock("5791")
        assertEquals(before + 2, keystore.prfCalls.get())
        assertEquals("646738", app.codeAt(acct.id, Y2020).code.value)
    }

    @Test
    fun aVaultOfTheOldFormatIsRekeyedAtItsFirstCorrectPin() {
        // Written by the released schema-5 code with the raw device key i * 7 + 3 (core/tests/hwpin.rs).
        val fixture = Path.of("core/tests/fixtures/v5-pin.sqlite3")
        Files.copy(fixture, dir.resolve("old.db"))
        val keystore = MemoryKeystore(ByteArray(32) { (it * 7 + 3).toByte() })
        val app = open(keystore, "old.db")
        assertEquals(KeyProtection.SOFTWARE, app.lockState().protection, "not re-keyed yet")
        app.unlock("246810")
        assertEquals(KeyProtection.TEE, app.lockState().protection)
        assertFalse(keystore.hasLegacyKey, "the old raw key is deleted after the re-key")
        val id = app.listAccounts()[0].id
        assertEquals("324550", app.codeAt(id, 1_700_000_000L).code.value)
        app.close()
        opened.remove(app)
        val again = open(keystore, "old.db")
        again.unlock("246810")
        assertEquals("324550", again.codeAt(id, 1_700_000_000L).code.value)
    }

    @Test
    fun tooManyWrongPinsWipeTheVault() {
        val keystore = MemoryKeystore()
        val app = open(keystore)
        app.add(TOTP_LINK)
        app.setPin("1234")
        app.setAppPolicy(
            LockPolicy(requirePin = false, wipeAfterAttempts = 3u, idleTimeoutSeconds = null, minPinLength = 4.toUByte()),
        )
        assertEquals(3u, app.lockState().policy.wipeAfterAttempts)
        assertTrue(keystore.hasKey)
        app.lock()

        assertEquals(2u, expectThrows<AuthenticatorException.WrongPin> { app.unlock("0000") }.attemptsLeft)
        assertEquals(1u, expectThrows<AuthenticatorException.WrongPin> { app.unlock("1111") }.attemptsLeft)
        expectThrows<AuthenticatorException.Wiped> { app.unlock("2222") }

        assertFalse(keystore.hasKey, "the device key is deleted from the keystore")
        assertTrue(keystore.deletions.get() >= 1)
        assertTrue(app.lockState().wiped)
        expectThrows<AuthenticatorException.Wiped> { app.unlock("1234") }

        app.startOver()
        val fresh = app.lockState()
        assertFalse(fresh.wiped)
        assertFalse(fresh.hasPin)
        assertEquals(0, app.listAccounts().size)
        val acct = app.add(TOTP_LINK).accounts[0]
        assertEquals("646738", app.codeAt(acct.id, Y2020).code.value)
    }

    @Test
    fun idleTimeoutLocksWithATestClock() {
        val clock = ManualClock(Y2020)
        val app = openWithClock(MemoryKeystore(), clock)
        val acct = app.add(TOTP_LINK).accounts[0]
        assertEquals("646738", app.code(acct.id).code.value, "code() uses the Clock's wall time")

        app.setPin("1234")
        app.setAppPolicy(LockPolicy(requirePin = true, wipeAfterAttempts = 10u, idleTimeoutSeconds = 60u, minPinLength = 4.toUByte()))
        assertEquals(60uL, app.lockState().policy.idleTimeoutSeconds)
        app.reportActivity()
        assertEquals(60uL, app.lockState().secondsUntilAutoLock)

        clock.advanceSeconds(59)
        assertEquals(1uL, app.lockState().secondsUntilAutoLock)
        assertEquals("646738", app.codeAt(acct.id, Y2020).code.value)
        app.reportActivity()

        clock.advanceSeconds(61)
        expectThrows<AuthenticatorException.Locked> { app.codeAt(acct.id, Y2020) }
        assertTrue(app.lockState().locked)
        app.unlock("1234")
        assertEquals("646738", app.codeAt(acct.id, Y2020).code.value)
    }

    // ------------------------------------------------------------------ the app's lifecycle

    @Test
    fun leavingTheScreenLocksAndTheGraceCountsSleep() {
        val clock = ManualClock(Y2020)
        val app = openWithClock(MemoryKeystore(), clock)
        val acct = app.add(TOTP_LINK).accounts[0]
        app.setPin("1234")
        assertEquals(0uL, app.appPolicy().backgroundGraceSeconds, "default: lock at once")
        // ProcessLifecycleOwner ON_STOP / scenePhase .background
        app.appBackgrounded()
        expectThrows<AuthenticatorException.Locked> { app.codeAt(acct.id, Y2020) }
        assertTrue(app.appForegrounded().locked, "back on screen: the PIN screen")
        app.unlock("1234")

        // The settings screen grants a one-minute grace.
        app.setAppPolicy(app.appPolicy().copy(backgroundGraceSeconds = 60uL))
        app.appBackgrounded()
        clock.advanceSeconds(30)
        assertFalse(app.appForegrounded().locked)
        assertEquals("646738", app.codeAt(acct.id, Y2020).code.value)

        // Away again; the phone sleeps ten minutes and a clock that stops in suspend
        // does not move: the wall clock still counts.
        app.appBackgrounded()
        clock.unixSeconds += 600
        assertTrue(app.appForegrounded().locked)

        // Changes need the unlocked vault; reading for the lock screen does not.
        assertEquals(1, app.listAccounts().size)
        expectThrows<AuthenticatorException.Locked> { app.renameAccount(acct.id, "x") }
        expectThrows<AuthenticatorException.Locked> { app.reorderAccounts(listOf(acct.id)) }
        expectThrows<AuthenticatorException.Locked> { app.disableBiometricUnlock() }
    }

    @Test
    fun notificationActionsNeedAnUnlockedPhoneToApprove() {
        fun challenge(options: List<String>, requiresUnlock: Boolean) = PushChallenge(
            id = "N", accountId = "A", serial = "PIPU1", title = "t", question = "q",
            presenceOptions = options, declineReasons = emptyList(), expiresAt = Y2020,
            receivedVia = ChallengeSource.PUSH, tlsVerify = true, requiresUnlock = requiresUnlock,
        )
        val plain = notificationActions(challenge(emptyList(), false), 3u, false)
        assertEquals(listOf(PushActionKind.APPROVE, PushActionKind.DECLINE), plain.map { it.kind })
        assertTrue(plain[0].requiresUnlockedDevice)
        assertFalse(plain[1].requiresUnlockedDevice)
        // privacyIDEA's three numbers and Decline do not fit Android's three actions:
        // only Decline; the numbers are picked in the app.
        val three = notificationActions(challenge(listOf("12", "34", "56"), false), 3u, false)
        assertEquals(listOf(PushActionKind.DECLINE), three.map { it.kind })
        val two = notificationActions(challenge(listOf("12", "34"), false), 3u, false)
        assertEquals(listOf("12", "34", null), two.map { it.presenceAnswer })
        assertTrue(notificationActions(challenge(emptyList(), true), 3u, true).all { it.opensApp })
    }

    // ------------------------------------------------------------------ import and export

    /** The codes of every TOTP account of [app] at [t], by "issuer:name". */
    private fun totpCodes(app: Authenticator, t: Long): Map<String, String> =
        app.listAccounts().filter { it.kind == AccountKind.TOTP }
            .associate { "${it.issuer}:${it.name}" to app.codeAt(it.id, t).code.value }

    @Test
    fun uriListExportImportsIntoASecondVaultWithEqualCodes() {
        val app = open()
        app.add(TOTP_LINK)
        app.add(RFC6238_LINK)
        val hotp = app.add(HOTP_LINK).accounts[0]
        app.code(hotp.id) // the counter moves to 1: the export carries the next one

        val out = app.exportAccounts(ExportFormat.URI_LIST, null, "")
        assertEquals(ExportFormat.URI_LIST, out.format)
        assertEquals(3u, out.exported)
        assertTrue(out.skipped.isEmpty() && out.leftOut.isEmpty(), "$out")
        assertFalse(out.toString().contains("JBSWY3DPEHPK3PXP"), "toString hides the file: $out")
        val text = out.data.toString(Charsets.UTF_8)
        assertEquals(3, text.lines().count { it.startsWith("otpauth://") }, "one link a line")

        val other = open(name = "other.db")
        val preview = other.previewImport(out.data, null, null)
        assertEquals(ImportFormat.URI_LIST, preview.format)
        assertEquals("uri-list", importFormatName(preview.format))
        assertEquals(setOf("Example", "RFC6238", "RFC4226"), preview.accounts.map { it.issuer }.toSet())
        assertEquals(1uL, preview.accounts.single { it.kind == AccountKind.HOTP }.counter)
        assertTrue(other.listAccounts().isEmpty(), "a preview stores nothing")

        val done = other.importFile(out.data, ImportFormat.URI_LIST, null)
        assertEquals(3, done.imported.size)
        assertTrue(done.skipped.isEmpty() && done.refused.isEmpty(), "$done")
        for (t in listOf(59L, Y2020, 1111111109L)) assertEquals(totpCodes(app, t), totpCodes(other, t))
        val otherHotp = other.listAccounts().single { it.kind == AccountKind.HOTP }
        assertEquals(app.code(hotp.id).code.value, other.code(otherHotp.id).code.value, "HOTP goes on at the same counter")

        // The same file again: every entry is already there.
        val again = other.previewImport(out.data, null, null)
        assertTrue(again.accounts.isEmpty())
        assertEquals(3, again.skipped.size)
    }

    @Test
    fun aegisExportNeedsItsPasswordToImport() {
        val app = open()
        app.setPin("1234")
        app.add(TOTP_LINK)
        app.add(RFC6238_LINK)
        expectThrows<AuthenticatorException.InvalidArgument> { app.exportAccounts(ExportFormat.AEGIS, null, "1234") }
        expectThrows<AuthenticatorException.InvalidArgument> { app.exportAccounts(ExportFormat.URI_LIST, "pw", "1234") }

        val out = app.exportAccounts(ExportFormat.AEGIS, "correct horse", "1234")
        assertEquals(ExportFormat.AEGIS, out.format)
        assertEquals(2u, out.exported)
        assertFalse(out.data.toString(Charsets.UTF_8).contains("JBSWY3DPEHPK3PXP"), "the secrets are encrypted")

        val other = open(name = "other.db")
        expectThrows<AuthenticatorException.PasswordRequired> { other.previewImport(out.data, null, null) }
        expectThrows<AuthenticatorException.WrongPassword> { other.previewImport(out.data, null, "battery staple") }
        expectThrows<AuthenticatorException.WrongPassword> { other.importFile(out.data, ImportFormat.AEGIS, "battery staple") }
        assertTrue(other.listAccounts().isEmpty())
        val preview = other.previewImport(out.data, null, "correct horse")
        assertEquals(ImportFormat.AEGIS, preview.format)
        assertEquals(2, preview.accounts.size)
        val done = other.importFile(out.data, null, "correct horse")
        assertEquals(2, done.imported.size)
        assertEquals(totpCodes(app, Y2020), totpCodes(other, Y2020))

        expectThrows<AuthenticatorException.InvalidFile> { other.previewImport("{\"not\": \"an export\"}".toByteArray(), ImportFormat.AEGIS, null) }
    }

    @Test
    fun exportWithAWrongPinThrowsWrongPin() {
        val app = open()
        app.add(TOTP_LINK)
        app.setPin("1234")
        val full = app.lockState().attemptsLeft
        val e = expectThrows<AuthenticatorException.WrongPin> { app.exportAccounts(ExportFormat.URI_LIST, null, "0000") }
        assertEquals(full - 1u, e.attemptsLeft, "a wrong PIN at export counts as an attempt")
        expectThrows<AuthenticatorException.WrongPin> { app.exportAccounts(ExportFormat.AEGIS, "pw", "0000") }
        expectThrows<AuthenticatorException.WrongPin> { app.setBackupPassword("pw", "0000") }
        assertEquals(1u, app.exportAccounts(ExportFormat.GOOGLE, null, "1234").exported)
        assertEquals(full, app.lockState().attemptsLeft, "the right PIN resets the counter")
        app.lock()
        expectThrows<AuthenticatorException.Locked> { app.exportAccounts(ExportFormat.URI_LIST, null, "1234") }
    }

    @Test
    fun googleExportGivesMigrationLinks() {
        val app = open()
        app.add(TOTP_LINK)
        app.add(HOTP_LINK)
        val out = app.exportAccounts(ExportFormat.GOOGLE, null, "")
        assertEquals(2u, out.exported)
        assertTrue(out.links.isNotEmpty())
        assertTrue(out.links.all { it.startsWith("otpauth-migration://offline?data=") }, "${out.links.size} links")
        val other = open(name = "other.db")
        val done = other.importFile(out.links.joinToString("\n").toByteArray(), null, null)
        assertEquals(2, done.imported.size)
        assertEquals(totpCodes(app, Y2020), totpCodes(other, Y2020))
    }

    @Test
    fun automaticBackupRoundTrip() {
        val app = open()
        val totp = app.add(TOTP_LINK).accounts[0]
        app.setPin("1234")
        assertFalse(app.backupStatus().enabled)
        assertNull(app.pendingBackup(), "backups are off")

        app.setBackupPassword("backup password", "1234")
        val status = app.backupStatus()
        assertTrue(status.enabled)
        assertTrue(status.due, "nothing written yet")
        val backup = app.pendingBackup()
        assertNotNull(backup)
        backup!!
        assertEquals(status.generation, backup.generation)
        assertEquals(1u, backup.exported)
        assertTrue(backup.fileName.matches(Regex("authenticator-backup-[0-9A-Za-z]+\\.json")), backup.fileName)
        assertFalse(backup.toString().contains("backup password"))

        // What the shell writes to the folder restores into another vault with the password.
        val other = open(name = "other.db")
        expectThrows<AuthenticatorException.PasswordRequired> { other.previewImport(backup.data, null, null) }
        val restored = other.importFile(backup.data, null, "backup password")
        assertEquals(ImportFormat.AEGIS, restored.format)
        assertEquals("646738", other.codeAt(restored.imported.single().id, Y2020).code.value)

        app.backupWritten(backup.generation)
        assertNull(app.pendingBackup(), "written: nothing due")
        assertFalse(app.backupStatus().due)

        // Every change makes one due again: add, rename, HOTP code, delete.
        val hotp = app.add(HOTP_LINK).accounts[0]
        assertTrue(app.backupStatus().due)
        val next = app.pendingBackup()!!
        assertTrue(next.generation > backup.generation)
        assertEquals(2u, next.exported)
        app.backupWritten(next.generation)
        assertNull(app.pendingBackup())

        app.code(hotp.id)
        val afterCode = app.pendingBackup()
        assertNotNull(afterCode, "an HOTP code moves the counter: a backup is due")
        app.backupWritten(afterCode!!.generation)
        app.renameAccount(totp.id, "Work")
        assertNotNull(app.pendingBackup(), "a rename")
        app.backupWritten(app.backupStatus().generation)
        app.deleteAccount(hotp.id)
        assertEquals(1u, app.pendingBackup()!!.exported, "a delete")

        // A backup of an older generation does not clear a newer change.
        val stale = app.pendingBackup()!!.generation
        app.add(RFC6238_LINK)
        app.backupWritten(stale)
        assertTrue(app.backupStatus().due)

        // Off again (with the PIN): nothing pending.
        expectThrows<AuthenticatorException.WrongPin> { app.setBackupPassword(null, "0000") }
        app.setBackupPassword(null, "1234")
        assertFalse(app.backupStatus().enabled)
        assertNull(app.pendingBackup())
    }

    // ------------------------------------------------------------------ push against privacyIDEA

    @Test
    fun pushRoundTripWithPrivacyIdea() {
        val pi = PrivacyIdea.fromEnvOrSkip()
        val app = open()
        val pin = "kt" + (100000 + SecureRandom().nextInt(900000))
        val token = pi.enrollPush("alice", pin)
        try {
            val preview = app.preview(token.link)
            assertEquals(AccountKind.PUSH, preview.accounts.single().kind)
            val result = if (preview.requiresPin && !app.lockState().hasPin) app.addWithPin(token.link, "1234") else app.add(token.link)
            val acct = result.accounts.single()
            assertEquals(AccountKind.PUSH, acct.kind)
            assertEquals(token.serial, acct.serial)
            assertTrue(app.listAccounts().any { it.id == acct.id })

            // a login: approve it
            val tx1 = pi.triggerLogin("alice", pin)
            val ch1 = pollFor(app, token.serial)
            assertEquals(acct.id, ch1.accountId)
            assertTrue(ch1.question.isNotEmpty())
            assertEquals(ChallengeSource.POLL, ch1.receivedVia)
            if (ch1.requiresUnlock && app.lockState().locked) app.unlock("1234")
            val ok = app.approve(ch1.id, null)
            assertTrue(ok.accepted, "server accepted the approval: $ok")
            assertEquals(true to "accept", pi.pollTransaction(tx1), "login is approved")
            assertTrue(app.pendingChallenges().none { it.id == ch1.id })
            expectThrows<AuthenticatorException> { app.approve(ch1.id, null) }

            // a second login: decline it
            val tx2 = pi.triggerLogin("alice", pin)
            val ch2 = pollFor(app, token.serial)
            assertNotEquals(ch1.id, ch2.id)
            val no = app.decline(ch2.id, null)
            assertTrue(no.accepted, "server took the decline: $no")
            assertEquals(false to "declined", pi.pollTransaction(tx2), "login is declined")

            // FCM rotates the token while the vault is locked (onNewToken): the core
            // queues it in the vault and delivers it after the unlock.
            if (!app.lockState().hasPin) app.setPin("1234")
            app.lock()
            val queued = app.updatePushServiceToken("kt-rotated-fcm-token")
            assertTrue(queued.single().pending && !queued.single().ok, "$queued")
            assertEquals(token.serial, app.pendingPushTokenUpdates().single().serial)
            expectThrows<AuthenticatorException.Locked> { app.retryPushTokenUpdates() }
            app.unlock("1234")
            val sent = app.retryPushTokenUpdates()
            assertTrue(sent.single().ok, "privacyIDEA took the new token: $sent")
            assertTrue(app.pendingPushTokenUpdates().isEmpty())
        } finally {
            pi.deleteToken(token.serial)
        }
    }

    // ------------------------------------------------------------------ containers against privacyIDEA

    @Test
    fun containerRegisterSyncAndUnregisterWithPrivacyIdea() {
        val pi = PrivacyIdea.fromEnvOrSkip()
        val app = open()
        val policy = "kt-container-url"
        pi.setPolicy(policy, "container", "privacyIDEA_server_url=${pi.base}/")
        val container = pi.initContainer("alice")
        val pin = "kc" + (100000 + SecureRandom().nextInt(900000))
        val hotp = pi.initOtp("hotp", "alice", pin)
        val totp = pi.initOtp("totp", "alice", pin + "t")
        try {
            pi.containerAdd(container, hotp)
            val link = pi.containerRegisterLink(container)
            val preview = app.preview(link)
            assertEquals(container, preview.container!!.serial)
            assertFalse(preview.container!!.needsPassphrase)

            // registration runs the first synchronization
            val r = app.addContainer(link, null, null)
            assertEquals(container, r.containerSerial)
            assertTrue(r.adoptableAccountIds.isEmpty())
            val acct = r.accounts.single()
            assertEquals(hotp, acct.serial)
            assertEquals(container, acct.containerSerial)
            val listed = app.listContainers().single()
            assertEquals(ContainerState.REGISTERED, listed.state)
            assertEquals(listOf(acct.id), listed.accountIds)
            assertNotNull(listed.lastSyncAt)
            assertTrue(pi.validateCheck("alice", pin + app.code(acct.id).code.value), "the synced HOTP logs in")

            // the server adds a token: the next synchronization brings it
            pi.containerAdd(container, totp)
            val s = app.syncContainer(container)
            assertEquals(1, s.added.size, "$s")
            assertEquals(listOf(acct.id), s.updated)
            val added = app.listAccounts().single { it.id == s.added.single() }
            assertEquals(totp, added.serial)
            assertTrue(pi.validateCheck("alice", pin + "t" + app.code(added.id).code.value), "the synced TOTP logs in")
            assertTrue(app.syncDueContainers().isEmpty(), "just synchronized: nothing due")

            // unregistering removes its accounts
            val removed = app.unregisterContainer(container)
            assertEquals(setOf(acct.id, added.id), removed.toSet())
            assertTrue(app.listContainers().isEmpty())
            assertTrue(app.listAccounts().isEmpty())
        } finally {
            pi.deleteContainer(container)
            pi.deleteToken(hotp)
            pi.deleteToken(totp)
            pi.deletePolicy(policy)
        }
    }

    private fun pollFor(app: Authenticator, serial: String): PushChallenge {
        repeat(10) {
            app.pollChallenges().firstOrNull { it.serial == serial }?.let { return it }
            Thread.sleep(500)
        }
        fail<Unit>("no challenge for $serial after polling")
        throw IllegalStateException()
    }
}

// ---------------------------------------------------------------------- privacyIDEA admin side

class PrivacyIdea(val base: String) {
    private val realm = System.getenv("PI_REALM") ?: "defrealm"
    data class PushToken(val serial: String, val link: String)

    private val http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()
    private val adminJwt: String by lazy {
        val user = System.getenv("PI_ADMIN_USER") ?: "admin"
        val pass = System.getenv("PI_ADMIN_PASS") ?: "admin-secret"
        str(post("/auth", mapOf("username" to user, "password" to pass), auth = false), "result", "value", "token")
    }

    companion object {
        /** The server at $PI_URL (default http://127.0.0.1:5080); fails the test when it does not
         *  answer, unless AUTHCORE_SKIP_INTEROP=1, which skips it. */
        fun fromEnvOrSkip(): PrivacyIdea {
            val url = (System.getenv("PI_URL")?.takeIf { it.isNotBlank() } ?: "http://127.0.0.1:5080").trimEnd('/')
            val answers = runCatching {
                HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build()
                    .send(HttpRequest.newBuilder(URI("$url/")).timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.discarding())
                true
            }.getOrDefault(false)
            if (!answers) {
                val msg = "privacyIDEA at $url does not answer (start tests/privacyidea/start.sh, or set AUTHCORE_SKIP_INTEROP=1 to skip)"
                if (System.getenv("AUTHCORE_SKIP_INTEROP") == "1") Assumptions.abort<Unit>(msg)
                fail<Unit>(msg)
            }
            return PrivacyIdea(url)
        }
    }

    fun enrollPush(user: String, pin: String): PushToken {
        val r = post("/token/init", mapOf("type" to "push", "genkey" to "1", "user" to user, "realm" to realm, "pin" to pin))
        return PushToken(str(r, "detail", "serial"), str(r, "detail", "pushurl", "value"))
    }

    fun triggerLogin(user: String, pass: String): String {
        val r = post("/validate/check", mapOf("user" to user, "pass" to pass), auth = false)
        val detail = Json.path(r, "detail") as Map<*, *>
        assertTrue(detail["transaction_id"] is String, "validate/check started a challenge: $r")
        return detail["transaction_id"] as String
    }

    /** /validate/polltransaction: result.value (true once the login was approved) and
     *  detail.challenge_status (pending, accept, declined, cancelled). */
    fun pollTransaction(txId: String): Pair<Boolean, String?> {
        val r = get("/validate/polltransaction?transaction_id=" + enc(txId), auth = false)
        return (Json.path(r, "result", "value") as Boolean) to (Json.path(r, "detail", "challenge_status") as? String)
    }

    fun initOtp(kind: String, user: String, pin: String): String =
        str(post("/token/init", mapOf("type" to kind, "genkey" to "1", "user" to user, "realm" to realm, "pin" to pin)), "detail", "serial")

    fun initContainer(user: String): String =
        str(post("/container/init", mapOf("type" to "smartphone", "user" to user, "realm" to realm)), "result", "value", "container_serial")

    fun containerAdd(container: String, token: String) {
        post("/container/${enc(container)}/add", mapOf("serial" to token))
    }

    fun containerRegisterLink(container: String): String =
        str(post("/container/register/initialize", mapOf("container_serial" to container)), "result", "value", "container_url", "value")

    fun deleteContainer(container: String) {
        runCatching { request(HttpRequest.newBuilder(URI("$base/container/${enc(container)}")).DELETE(), auth = true) }
    }

    fun setPolicy(name: String, scope: String, action: String) {
        post("/policy/${enc(name)}", mapOf("scope" to scope, "action" to action, "active" to "true"))
    }

    fun deletePolicy(name: String) {
        runCatching { request(HttpRequest.newBuilder(URI("$base/policy/${enc(name)}")).DELETE(), auth = true) }
    }

    /** /validate/check: true when the login is accepted. */
    fun validateCheck(user: String, pass: String): Boolean =
        Json.path(post("/validate/check", mapOf("user" to user, "pass" to pass), auth = false), "result", "value") == true

    fun deleteToken(serial: String) {
        runCatching { request(HttpRequest.newBuilder(URI("$base/token/${enc(serial)}")).DELETE(), auth = true) }
    }

    private fun enc(s: String) = URLEncoder.encode(s, Charsets.UTF_8)

    private fun post(path: String, form: Map<String, String>, auth: Boolean = true): Any? {
        val body = form.entries.joinToString("&") { enc(it.key) + "=" + enc(it.value) }
        return request(
            HttpRequest.newBuilder(URI(base + path)).header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(body)),
            auth,
        )
    }

    private fun get(path: String, auth: Boolean): Any? = request(HttpRequest.newBuilder(URI(base + path)).GET(), auth)

    private fun request(b: HttpRequest.Builder, auth: Boolean): Any? {
        if (auth) b.header("Authorization", adminJwt)
        val req = b.timeout(Duration.ofSeconds(30)).build()
        val resp = http.send(req, HttpResponse.BodyHandlers.ofString())
        assertEquals(200, resp.statusCode(), "${req.method()} ${req.uri()}: ${resp.body()}")
        return Json.parse(resp.body())
    }

    private fun str(json: Any?, vararg keys: String): String =
        Json.path(json, *keys) as? String ?: fail("no string at ${keys.joinToString(".")} in $json")
}

/** A minimal JSON reader (objects, arrays, strings, numbers, booleans, null). */
object Json {
    fun path(json: Any?, vararg keys: String): Any? = keys.fold(json) { cur, k -> (cur as? Map<*, *>)?.get(k) }

    fun parse(s: String): Any? {
        val p = Parser(s)
        val v = p.value()
        p.ws()
        require(p.i == s.length) { "trailing data in JSON at ${p.i}" }
        return v
    }

    private class Parser(val s: String) {
        var i = 0
        fun ws() { while (i < s.length && s[i].isWhitespace()) i++ }
        fun value(): Any? {
            ws()
            require(i < s.length) { "unexpected end of JSON" }
            return when (s[i]) {
                '{' -> obj()
                '[' -> arr()
                '"' -> str()
                't' -> lit("true", true)
                'f' -> lit("false", false)
                'n' -> lit("null", null)
                else -> num()
            }
        }
        fun lit(word: String, v: Any?): Any? {
            require(s.startsWith(word, i)) { "bad literal at $i" }
            i += word.length
            return v
        }
        fun num(): Any {
            val start = i
            while (i < s.length && (s[i].isDigit() || s[i] in "+-.eE")) i++
            val t = s.substring(start, i)
            return t.toLongOrNull() ?: t.toDouble()
        }
        fun obj(): Map<String, Any?> {
            val m = LinkedHashMap<String, Any?>()
            i++; ws()
            if (s[i] == '}') { i++; return m }
            while (true) {
                ws(); val k = str(); ws()
                require(s[i] == ':') { "expected : at $i" }; i++
                m[k] = value(); ws()
                when (s[i++]) { ',' -> continue; '}' -> return m; else -> error("expected , or } at ${i - 1}") }
            }
        }
        fun arr(): List<Any?> {
            val l = ArrayList<Any?>()
            i++; ws()
            if (s[i] == ']') { i++; return l }
            while (true) {
                l += value(); ws()
                when (s[i++]) { ',' -> continue; ']' -> return l; else -> error("expected , or ] at ${i - 1}") }
            }
        }
        fun str(): String {
            require(s[i] == '"') { "expected string at $i" }
            i++
            val sb = StringBuilder()
            while (true) {
                val c = s[i++]
                when (c) {
                    '"' -> return sb.toString()
                    '\\' -> when (val e = s[i++]) {
                        'n' -> sb.append('\n'); 't' -> sb.append('\t'); 'r' -> sb.append('\r')
                        'b' -> sb.append('\b'); 'f' -> sb.append('\u000c')
                        'u' -> { sb.append(s.substring(i, i + 4).toInt(16).toChar()); i += 4 }
                        else -> sb.append(e)
                    }
                    else -> sb.append(c)
                }
            }
        }
    }
}
