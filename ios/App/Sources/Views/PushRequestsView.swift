// The list of pending sign-in requests, answered in the app (Approve, the numbers, Decline with a reason).
import AuthenticatorCore
import Combine
import SwiftUI

/// Pending sign-in requests, with "Check for requests" (polls every push token's server);
/// pull-to-refresh as well on iOS 15+.
struct PushRequestsView: View {
    @EnvironmentObject private var model: AppModel
    @State private var now = Date()
    private let timer = Timer.publish(every: 1, on: .main, in: .common).autoconnect()

    private var visible: [PushChallenge] {
        let seconds = Int64(now.timeIntervalSince1970)
        return model.challenges.filter { $0.expiresAt > seconds }
    }

    var body: some View {
        NavigationView {
            List {
                if visible.isEmpty {
                    Text("No pending requests.").foregroundColor(.secondary)
                }
                ForEach(visible, id: \.id) { challenge in
                    ChallengeRow(
                        challenge: challenge,
                        secondsLeft: challenge.expiresAt - Int64(now.timeIntervalSince1970),
                        highlighted: challenge.id == model.highlightedChallenge
                    )
                }
            }
            .listStyle(InsetGroupedListStyle())
            .pullToRefresh(model)
            .navigationTitle("Sign-in requests")
            .navigationBarTitleDisplayMode(.inline)
            .toolbar {
                ToolbarItem(placement: .cancellationAction) {
                    Button("Close") { model.sheet = nil }
                }
                ToolbarItem(placement: .primaryAction) {
                    Button(model.refreshing ? "Checking…" : "Check for requests") { model.poll() }
                        .disabled(model.refreshing)
                }
            }
        }
        .onAppear { model.loadPending() }
        .onReceive(timer) { now = $0 }
    }
}

private struct ChallengeRow: View {
    @EnvironmentObject private var model: AppModel
    let challenge: PushChallenge
    let secondsLeft: Int64
    let highlighted: Bool

    var body: some View {
        VStack(alignment: .leading, spacing: 8) {
            Text(challenge.title).font(.headline)
            Text(challenge.question)
            Text("Expires in \(secondsLeft)s").font(.caption).foregroundColor(.secondary)
            if challenge.presenceOptions.isEmpty {
                Button("Approve") { model.answer(challenge, accept: true) }
                    .buttonStyle(BorderlessButtonStyle())
            } else {
                Text("Tap the option shown on the sign-in screen:").font(.caption)
                HStack(spacing: 16) {
                    ForEach(challenge.presenceOptions, id: \.self) { option in
                        Button(option) { model.answer(challenge, accept: true, presenceAnswer: option) }
                            .buttonStyle(BorderlessButtonStyle())
                            .font(.title3)
                    }
                }
            }
            Button("Decline") { model.answer(challenge, accept: false) }
                .buttonStyle(BorderlessButtonStyle())
                .foregroundColor(.red)
            ForEach(challenge.declineReasons, id: \.self) { reason in
                Button("Decline: \(Self.label(reason))") { model.answer(challenge, accept: false, declineReason: reason) }
                    .buttonStyle(BorderlessButtonStyle())
                    .font(.caption)
            }
        }
        .disabled(model.busy)
        .padding(.vertical, 4)
        .listRowBackground(highlighted ? Color.accentColor.opacity(0.15) : nil)
    }

    private static func label(_ reason: String) -> String {
        switch reason {
        case "unknown_trigger": return "I did not try to sign in"
        case "cancelled": return "I cancelled the sign-in"
        default: return reason
        }
    }
}

extension View {
    /// `.refreshable` is iOS 15+; on iOS 14 the toolbar button does the same.
    @ViewBuilder
    func pullToRefresh(_ model: AppModel) -> some View {
        if #available(iOS 15.0, *) {
            self.refreshable {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    DispatchQueue.main.async {
                        model.poll { continuation.resume() }
                    }
                }
            }
        } else {
            self
        }
    }
}
