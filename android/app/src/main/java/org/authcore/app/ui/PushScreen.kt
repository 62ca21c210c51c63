// The sign-in requests screen: every pending challenge, every number option, Decline and decline reasons.
@file:OptIn(ExperimentalMaterial3Api::class)

package org.authcore.app.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.CardDefaults
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.material3.TopAppBar
import androidx.compose.material3.pulltorefresh.PullToRefreshBox
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableLongStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.lifecycle.Lifecycle
import androidx.lifecycle.compose.LocalLifecycleOwner
import androidx.lifecycle.repeatOnLifecycle
import kotlinx.coroutines.delay
import org.authcore.PushChallenge
import org.authcore.app.MainViewModel
import org.authcore.app.Screen

/** Pending sign-in requests; pull down (or "Check") to poll the servers. */
@Composable
fun PushScreen(vm: MainViewModel) {
    var now by remember { mutableLongStateOf(System.currentTimeMillis() / 1000) }
    LaunchedEffect(Unit) { vm.loadPending() }
    // The countdown only runs while the activity is at least STARTED.
    val lifecycleOwner = LocalLifecycleOwner.current
    LaunchedEffect(lifecycleOwner) {
        lifecycleOwner.repeatOnLifecycle(Lifecycle.State.STARTED) {
            while (true) {
                now = System.currentTimeMillis() / 1000
                delay(1000)
            }
        }
    }
    Scaffold(
        topBar = {
            TopAppBar(
                title = { Text("Sign-in requests") },
                navigationIcon = { TextButton(onClick = { vm.screen = Screen.ACCOUNTS }) { Text("Back") } },
                actions = { TextButton(enabled = !vm.refreshing, onClick = { vm.poll() }) { Text("Check") } },
            )
        },
    ) { padding ->
        PullToRefreshBox(
            isRefreshing = vm.refreshing,
            onRefresh = { vm.poll() },
            modifier = Modifier.padding(padding).fillMaxSize(),
        ) {
            LazyColumn(
                Modifier.fillMaxSize(),
                verticalArrangement = Arrangement.spacedBy(12.dp),
            ) {
                val visible = vm.challenges.filter { it.expiresAt > now }
                if (visible.isEmpty()) {
                    item {
                        Text("No pending requests. Pull down to check for requests.", Modifier.padding(24.dp))
                    }
                }
                items(visible, key = { it.id }) { challenge ->
                    ChallengeCard(
                        challenge = challenge,
                        secondsLeft = challenge.expiresAt - now,
                        highlighted = challenge.id == vm.highlightedChallenge,
                        enabled = !vm.busy,
                        onApprove = { presence -> vm.answer(challenge, accept = true, presenceAnswer = presence) },
                        onDecline = { reason -> vm.answer(challenge, accept = false, declineReason = reason) },
                    )
                }
            }
        }
    }
}

@Composable
private fun ChallengeCard(
    challenge: PushChallenge,
    secondsLeft: Long,
    highlighted: Boolean,
    enabled: Boolean,
    onApprove: (String?) -> Unit,
    onDecline: (String?) -> Unit,
) {
    val colors = if (highlighted) {
        CardDefaults.cardColors(containerColor = MaterialTheme.colorScheme.primaryContainer)
    } else {
        CardDefaults.cardColors()
    }
    Card(Modifier.fillMaxWidth().padding(horizontal = 16.dp), colors = colors) {
        Column(Modifier.padding(16.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
            Text(challenge.title, style = MaterialTheme.typography.titleMedium)
            Text(challenge.question, style = MaterialTheme.typography.bodyLarge)
            Text("Expires in ${secondsLeft}s", style = MaterialTheme.typography.bodySmall)
            if (challenge.presenceOptions.isNotEmpty()) {
                // Number matching: every option, however many (a notification shows at most three).
                Text("Tap the option shown on the sign-in screen:", style = MaterialTheme.typography.bodySmall)
                challenge.presenceOptions.forEach { option ->
                    Button(enabled = enabled, onClick = { onApprove(option) }, modifier = Modifier.fillMaxWidth()) {
                        Text(option)
                    }
                }
            } else {
                Button(enabled = enabled, onClick = { onApprove(null) }, modifier = Modifier.fillMaxWidth()) {
                    Text("Approve")
                }
            }
            OutlinedButton(enabled = enabled, onClick = { onDecline(null) }, modifier = Modifier.fillMaxWidth()) {
                Text("Decline")
            }
            challenge.declineReasons.forEach { reason ->
                TextButton(enabled = enabled, onClick = { onDecline(reason) }) { Text("Decline: ${reasonLabel(reason)}") }
            }
        }
    }
}

private fun reasonLabel(reason: String): String = when (reason) {
    "unknown_trigger" -> "I did not try to sign in"
    "cancelled" -> "I cancelled the sign-in"
    else -> reason
}
