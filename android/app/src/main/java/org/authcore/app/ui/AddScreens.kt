// Adding accounts: camera QR scan, QR image from the photo picker, pasted link, and the confirm dialog (accounts, or a privacyIDEA container with its passphrase).
@file:OptIn(ExperimentalMaterial3Api::class)

package org.authcore.app.ui

import android.Manifest
import android.content.pm.PackageManager
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.PickVisualMediaRequest
import androidx.activity.result.contract.ActivityResultContracts
import androidx.camera.core.CameraSelector
import androidx.camera.core.ExperimentalGetImage
import androidx.camera.core.ImageAnalysis
import androidx.camera.core.Preview
import androidx.camera.lifecycle.ProcessCameraProvider
import androidx.camera.view.PreviewView
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.Button
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.material3.TopAppBar
import androidx.compose.runtime.Composable
import androidx.compose.runtime.DisposableEffect
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberUpdatedState
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.text.font.FontWeight
import androidx.compose.ui.unit.dp
import androidx.compose.ui.viewinterop.AndroidView
import androidx.core.content.ContextCompat
import androidx.lifecycle.compose.LocalLifecycleOwner
import com.google.mlkit.vision.barcode.BarcodeScannerOptions
import com.google.mlkit.vision.barcode.BarcodeScanning
import com.google.mlkit.vision.barcode.common.Barcode
import com.google.mlkit.vision.common.InputImage
import org.authcore.app.MainViewModel
import org.authcore.app.PendingEnrollment
import org.authcore.app.Screen
import java.util.concurrent.Executors
import java.util.concurrent.atomic.AtomicBoolean

/** Add by camera QR, from an image (photo picker) or by pasting a link. */
@Composable
fun AddScreen(vm: MainViewModel) {
    var link by remember { mutableStateOf("") }
    val picker = rememberLauncherForActivityResult(ActivityResultContracts.PickVisualMedia()) { uri ->
        if (uri != null) vm.startImageEnrollment(uri)
    }
    Scaffold(
        topBar = {
            TopAppBar(
                title = { Text("Add account") },
                navigationIcon = { TextButton(onClick = { vm.screen = Screen.ACCOUNTS }) { Text("Back") } },
            )
        },
    ) { padding ->
        Column(
            Modifier.padding(padding).padding(16.dp).fillMaxWidth(),
            verticalArrangement = Arrangement.spacedBy(12.dp),
        ) {
            Button(onClick = { vm.screen = Screen.SCAN }, modifier = Modifier.fillMaxWidth()) {
                Text("Scan QR code")
            }
            OutlinedButton(
                onClick = { picker.launch(PickVisualMediaRequest(ActivityResultContracts.PickVisualMedia.ImageOnly)) },
                modifier = Modifier.fillMaxWidth(),
            ) { Text("Choose QR code image") }
            OutlinedTextField(
                value = link,
                onValueChange = { link = it },
                label = { Text("otpauth:// or pia:// link") },
                modifier = Modifier.fillMaxWidth(),
            )
            OutlinedButton(
                enabled = link.isNotBlank(),
                onClick = { vm.startEnrollment(link.trim()) },
                modifier = Modifier.fillMaxWidth(),
            ) { Text("Continue") }
        }
    }
}

@Composable
fun ScanScreen(vm: MainViewModel) {
    val context = LocalContext.current
    var granted by remember {
        mutableStateOf(
            ContextCompat.checkSelfPermission(context, Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED,
        )
    }
    val permission = rememberLauncherForActivityResult(ActivityResultContracts.RequestPermission()) { granted = it }
    LaunchedEffect(Unit) {
        if (!granted) permission.launch(Manifest.permission.CAMERA)
    }
    Scaffold(
        topBar = {
            TopAppBar(
                title = { Text("Scan QR code") },
                navigationIcon = { TextButton(onClick = { vm.screen = Screen.ADD }) { Text("Back") } },
            )
        },
    ) { padding ->
        Box(Modifier.padding(padding).fillMaxSize(), contentAlignment = Alignment.Center) {
            if (granted) {
                QrScanner { raw ->
                    vm.screen = Screen.ADD
                    vm.startEnrollment(raw) // the raw text goes to the core unchanged
                }
            } else {
                Text("Camera permission is needed to scan QR codes.", Modifier.padding(24.dp))
            }
        }
    }
}

/** CameraX preview + ML Kit QR analysis; reports the first QR code's raw text once. */
@androidx.annotation.OptIn(ExperimentalGetImage::class)
@Composable
private fun QrScanner(onResult: (String) -> Unit) {
    val context = LocalContext.current
    val lifecycleOwner = LocalLifecycleOwner.current
    val currentOnResult by rememberUpdatedState(onResult)
    val previewView = remember { PreviewView(context) }

    DisposableEffect(lifecycleOwner) {
        val providerFuture = ProcessCameraProvider.getInstance(context)
        val scanner = BarcodeScanning.getClient(
            BarcodeScannerOptions.Builder().setBarcodeFormats(Barcode.FORMAT_QR_CODE).build(),
        )
        val analysisExecutor = Executors.newSingleThreadExecutor()
        val delivered = AtomicBoolean(false)
        val mainExecutor = ContextCompat.getMainExecutor(context)

        providerFuture.addListener({
            val provider = providerFuture.get()
            val preview = Preview.Builder().build().also { it.setSurfaceProvider(previewView.surfaceProvider) }
            val analysis = ImageAnalysis.Builder()
                .setBackpressureStrategy(ImageAnalysis.STRATEGY_KEEP_ONLY_LATEST)
                .build()
            analysis.setAnalyzer(analysisExecutor) { proxy ->
                val media = proxy.image
                if (media == null || delivered.get()) {
                    proxy.close()
                    return@setAnalyzer
                }
                val input = InputImage.fromMediaImage(media, proxy.imageInfo.rotationDegrees)
                scanner.process(input)
                    .addOnSuccessListener(mainExecutor) { barcodes ->
                        val raw = barcodes.firstNotNullOfOrNull { it.rawValue }
                        if (raw != null && delivered.compareAndSet(false, true)) currentOnResult(raw)
                    }
                    .addOnCompleteListener(mainExecutor) { proxy.close() }
            }
            provider.unbindAll()
            provider.bindToLifecycle(lifecycleOwner, CameraSelector.DEFAULT_BACK_CAMERA, preview, analysis)
        }, mainExecutor)

        onDispose {
            if (providerFuture.isDone) runCatching { providerFuture.get().unbindAll() }
            scanner.close()
            analysisExecutor.shutdown()
        }
    }

    AndroidView(factory = { previewView }, modifier = Modifier.fillMaxSize())
}

/** The core's preview of what a link/image would add; nothing is stored until "Add". */
@Composable
fun EnrollmentDialog(vm: MainViewModel, pending: PendingEnrollment) {
    val preview = pending.preview
    val container = preview.container
    val needsPin = preview.requiresPin && vm.lockState?.hasPin != true
    var pin by remember { mutableStateOf("") }
    var repeat by remember { mutableStateOf("") }
    var passphrase by remember { mutableStateOf("") }
    val askPassphrase = container != null && (container.needsPassphrase || container.passphrasePrompt != null)
    val canAdd = !vm.busy &&
        (if (container != null) !container.needsPassphrase || passphrase.isNotEmpty() else preview.accounts.any { !it.alreadyEnrolled }) &&
        (!needsPin || (pin.isNotEmpty() && pin == repeat))

    AlertDialog(
        onDismissRequest = { if (!vm.busy) vm.cancelEnrollment() },
        title = {
            Text(
                when {
                    container != null -> "Register this container?"
                    preview.accounts.size == 1 -> "Add this account?"
                    else -> "Add ${preview.accounts.size} accounts?"
                },
            )
        },
        text = {
            FilterObscuredTouches()
            Column(Modifier.verticalScroll(rememberScrollState()), verticalArrangement = Arrangement.spacedBy(8.dp)) {
                if (container != null) {
                    Text(container.serial, fontWeight = FontWeight.Bold)
                    Text("Server: ${container.serverUrl}", style = MaterialTheme.typography.bodySmall)
                    if (!container.tlsVerify) {
                        Text(
                            "TLS certificate checks are off for this server (ssl_verify=False): anyone on the " +
                                "network path could read and change what the server sends.",
                            color = MaterialTheme.colorScheme.error,
                        )
                    }
                    container.expiresAt?.let {
                        Text("This QR code is valid until ${dateTimeText(it)}.", style = MaterialTheme.typography.bodySmall)
                    }
                    Text(
                        "The server will add, renew and remove the accounts of this container on this phone.",
                        style = MaterialTheme.typography.bodySmall,
                    )
                    if (askPassphrase) {
                        // The server's own prompt is the label (for example "Your user store password").
                        PasswordField(passphrase, { passphrase = it }, container.passphrasePrompt ?: "Passphrase")
                    }
                }
                preview.batch?.let { Text("QR code ${it.index + 1u} of ${it.size}") }
                preview.accounts.forEach { a ->
                    Column {
                        Text(listOf(a.issuer, a.name).filter { it.isNotEmpty() }.joinToString(": "), fontWeight = FontWeight.Bold)
                        Text(
                            "${a.kind.name} · ${a.algorithm.name} · ${a.digits} digits" +
                                if (a.kind.name == "TOTP") " · ${a.period}s" else "",
                            style = MaterialTheme.typography.bodySmall,
                        )
                        a.currentCode?.let { Text("Current code: ${it.value}", style = MaterialTheme.typography.bodySmall) }
                        if (a.alreadyEnrolled) Text("Already added", color = MaterialTheme.colorScheme.error)
                        if (a.weakSecret) Text("Weak secret", color = MaterialTheme.colorScheme.error)
                        if (!a.tlsVerify) Text("TLS certificate checks are off for this server", color = MaterialTheme.colorScheme.error)
                    }
                }
                preview.warnings.forEach { Text("⚠ $it", style = MaterialTheme.typography.bodySmall) }
                if (needsPin) {
                    Text("This server requires an app PIN. Choose one:")
                    PinField(pin, { pin = it }, "New PIN")
                    PinField(repeat, { repeat = it }, "Repeat PIN")
                }
                if (vm.busy) LinearProgressIndicator(modifier = Modifier.fillMaxWidth())
            }
        },
        confirmButton = {
            Button(
                enabled = canAdd,
                onClick = { vm.confirmEnrollment(if (needsPin) pin else null, if (askPassphrase) passphrase else null) },
            ) { Text(if (container != null) "Register" else "Add") }
        },
        dismissButton = {
            TextButton(enabled = !vm.busy, onClick = { vm.cancelEnrollment() }) { Text("Cancel") }
        },
    )
}
