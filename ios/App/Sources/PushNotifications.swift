// Push sign-in requests on iOS: notification categories, local notifications, and answers started
// from a notification. The core verifies every payload and says which actions a challenge offers.
// A push for a container token also asks for that container's sync (AppModel.syncDueContainers).
import AuthenticatorCore
import Foundation
import UIKit
import UserNotifications

/// Categories and local notifications. Display only: payloads go to the core unchanged, and the
/// actions come from the core's `notificationActions(challenge:maxActions:vaultLocked:)`.
enum PushNotifications {
    /// The category privacyIDEA's Firebase sender puts in `apns.payload.aps.category`
    /// (privacyidea/lib/smsprovider/FirebaseProvider.py). It replaces the app's former
    /// `PUSH_CHALLENGE`, which no server ever sent.
    static let serverCategory = "PUSH_AUTHENTICATION"
    /// Local notification that can only open the app (answer needs the app PIN, or the
    /// iPhone was locked when an action ran).
    static let unlockCategory = "PUSH_CHALLENGE_UNLOCK"
    /// Per-challenge categories built from the core's actions: prefix + expiry + "." + id.
    static let challengeCategoryPrefix = "PUSH_AUTHENTICATION."

    static let approveAction = "APPROVE"
    static let declineAction = "DECLINE"
    static let openAction = "OPEN"
    static let presenceActionPrefix = "PRESENCE:"

    /// Actions one notification may carry. iOS shows every action of an expanded notification
    /// (up to ten) but only two in a banner; four fits privacyIDEA's three numbers plus Decline.
    static let maxActions: UInt32 = 4

    /// userInfo key of our own local notifications.
    static let challengeIdKey = "challenge_id"
    /// The challenge id (privacyIDEA's nonce) in a remote notification's userInfo.
    static let nonceKey = "nonce"

    private static let categoryQueue = DispatchQueue(label: "org.authcore.notification-categories")
    private static let flagsLock = NSLock()
    /// Whether Approve / Decline on a server notification must open the app (the answer needs the
    /// app PIN first). Set from the core's answer in `refreshServerCategory`; opens by default.
    private static var serverActionsOpenApp = (approve: true, decline: true)

    // MARK: - Categories

    static func registerCategories() {
        register(nil)
    }

    /// Asks the core what Approve and Decline on a not-yet-seen challenge would need (a template
    /// challenge: no presence options, `requiresUnlock` when a PIN is set) and re-registers the
    /// server's category with `.foreground` on the actions that open the app, so a locked vault
    /// opens the app on the first tap instead of posting a second notification.
    static func refreshServerCategory(vaultLocked: Bool, pinSet: Bool) {
        let template = PushChallenge(
            id: "", accountId: "", serial: "", title: "", question: "",
            presenceOptions: [], declineReasons: [],
            expiresAt: Int64(Date().timeIntervalSince1970) + 120,
            receivedVia: .push, tlsVerify: true, requiresUnlock: pinSet)
        let offered = offeredActions(for: template, vaultLocked: vaultLocked)
        let approve = offered.first(where: { $0.kind == .approve })?.opensApp ?? true
        let decline = offered.first(where: { $0.kind == .decline })?.opensApp ?? true
        flagsLock.lock()
        let changed = serverActionsOpenApp.approve != approve || serverActionsOpenApp.decline != decline
        serverActionsOpenApp = (approve: approve, decline: decline)
        flagsLock.unlock()
        if changed { register(nil) }
    }

    /// The core's actions for a challenge, in display order (the core's rules: Approve and every
    /// number need an unlocked device, numbers only when all fit, `opensApp` when the app PIN
    /// is needed first).
    static func offeredActions(for challenge: PushChallenge, vaultLocked: Bool) -> [NotificationAction] {
        notificationActions(challenge: challenge, maxActions: maxActions, vaultLocked: vaultLocked)
    }

    private static func staticCategories() -> Set<UNNotificationCategory> {
        flagsLock.lock()
        let opens = serverActionsOpenApp
        flagsLock.unlock()
        // UNNotificationActionOptions.authenticationRequired: Approve needs the iPhone unlocked.
        // Decline may run on the lock screen (unless the core says it needs the app PIN).
        var approveOptions: UNNotificationActionOptions = [.authenticationRequired]
        if opens.approve { approveOptions.insert(.foreground) }
        var declineOptions: UNNotificationActionOptions = [.destructive]
        if opens.decline { declineOptions.insert(.foreground) }
        let approve = UNNotificationAction(identifier: approveAction, title: "Approve", options: approveOptions)
        let decline = UNNotificationAction(identifier: declineAction, title: "Decline", options: declineOptions)
        let open = UNNotificationAction(identifier: openAction, title: "Open to answer", options: [.foreground])
        return [
            UNNotificationCategory(identifier: serverCategory, actions: [approve, decline], intentIdentifiers: [], options: []),
            UNNotificationCategory(identifier: unlockCategory, actions: [open], intentIdentifiers: [], options: []),
        ]
    }

    /// Registers the static categories, the still-live per-challenge ones and `extra`, then runs
    /// `done` (a category must be registered before a notification using it is added).
    /// Serialized, so two posts never drop each other's category.
    private static func register(_ extra: UNNotificationCategory?, then done: (() -> Void)? = nil) {
        categoryQueue.async {
            let center = UNUserNotificationCenter.current()
            let fetched = DispatchSemaphore(value: 0)
            var existing = Set<UNNotificationCategory>()
            center.getNotificationCategories { categories in
                existing = categories
                fetched.signal()
            }
            fetched.wait()
            let now = Int64(Date().timeIntervalSince1970)
            var categories = staticCategories()
            for category in existing
            where isLiveChallengeCategory(category.identifier, now: now) && category.identifier != extra?.identifier {
                categories.insert(category)
            }
            if let extra = extra { categories.insert(extra) }
            center.setNotificationCategories(categories)
            done?()
        }
    }

    private static func isLiveChallengeCategory(_ identifier: String, now: Int64) -> Bool {
        guard identifier.hasPrefix(challengeCategoryPrefix) else { return false }
        let rest = identifier.dropFirst(challengeCategoryPrefix.count)
        guard let expiry = rest.split(separator: ".", maxSplits: 1).first.flatMap({ Int64($0) }) else { return false }
        return expiry + 60 >= now
    }

    // MARK: - Payloads

    /// FCM/APNs userInfo -> the [String: String] map the core expects: top-level string keys
    /// with string values (FCM data values are strings); `aps` and other non-strings are skipped.
    static func stringMap(_ userInfo: [AnyHashable: Any]) -> [String: String] {
        var map: [String: String] = [:]
        for (key, value) in userInfo {
            guard let key = key as? String, let text = value as? String else { continue }
            map[key] = text
        }
        return map
    }

    /// The challenge id a notification refers to (ours or the server's), if any.
    static func challengeId(in userInfo: [AnyHashable: Any]) -> String? {
        (userInfo[challengeIdKey] as? String) ?? (userInfo[nonceKey] as? String)
    }

    // MARK: - Local notifications

    /// Posts a verified challenge with the actions the core offers for it (one per number and
    /// Decline when they fit; only Decline otherwise, and the tap opens the app on it).
    static func post(_ challenge: PushChallenge, vaultLocked: Bool) {
        let offered = offeredActions(for: challenge, vaultLocked: vaultLocked)
        let content = UNMutableNotificationContent()
        content.title = challenge.title
        var body = challenge.question
        if offered.contains(where: { $0.opensApp }) {
            body += "\nUnlock Authenticator to answer."
        } else if !challenge.presenceOptions.isEmpty && !offered.contains(where: { $0.kind == .approve }) {
            body += "\nOpen the app to pick the number shown at the sign-in."
        }
        content.body = body
        content.sound = .default
        content.userInfo = [challengeIdKey: challenge.id]
        let identifier = challengeCategoryPrefix + "\(challenge.expiresAt)." + challenge.id
        let category = UNNotificationCategory(
            identifier: identifier, actions: offered.map(notificationAction), intentIdentifiers: [], options: [])
        content.categoryIdentifier = identifier
        register(category) { add(content, id: challenge.id) }
    }

    private static func notificationAction(_ action: NotificationAction) -> UNNotificationAction {
        var options: UNNotificationActionOptions = []
        if action.requiresUnlockedDevice { options.insert(.authenticationRequired) }
        if action.opensApp { options.insert(.foreground) }
        switch action.kind {
        case .approve:
            if let answer = action.presenceAnswer {
                return UNNotificationAction(identifier: presenceActionPrefix + answer, title: answer, options: options)
            }
            return UNNotificationAction(identifier: approveAction, title: "Approve", options: options)
        case .decline:
            options.insert(.destructive)
            return UNNotificationAction(identifier: declineAction, title: "Decline", options: options)
        }
    }

    /// The offered action a notification action identifier stands for, if the core offers it.
    static func match(_ identifier: String, in offered: [NotificationAction]) -> NotificationAction? {
        if identifier == approveAction {
            return offered.first { $0.kind == .approve && $0.presenceAnswer == nil }
        }
        if identifier.hasPrefix(presenceActionPrefix) {
            let option = String(identifier.dropFirst(presenceActionPrefix.count))
            return offered.first { $0.kind == .approve && $0.presenceAnswer == option }
        }
        if identifier == declineAction {
            return offered.first { $0.kind == .decline }
        }
        return nil
    }

    static func postText(title: String, body: String, challengeId: String, category: String? = nil) {
        let content = UNMutableNotificationContent()
        content.title = title
        content.body = body
        content.userInfo = [challengeIdKey: challengeId]
        if let category = category { content.categoryIdentifier = category }
        add(content, id: challengeId)
    }

    static func resultText(_ result: PushAnswerResult, approved: Bool) -> String {
        if !result.accepted { return result.message ?? "The server did not accept the answer." }
        if let code = result.displayCode {
            return "Enter \(code.value) at the sign-in." + (result.message.map { "\n\($0)" } ?? "")
        }
        return result.message ?? (approved ? "Approved." : "Declined.")
    }

    /// After a challenge was answered in the app. A remote notification's identifier is the APNs
    /// collapse id (privacyIDEA sends "privacyidea.pushtoken"), not the challenge: delivered
    /// notifications are matched by their userInfo `nonce` (ours by `challenge_id`).
    static func removeNotifications(challengeId: String) {
        let center = UNUserNotificationCenter.current()
        center.getDeliveredNotifications { delivered in
            let ids = delivered
                .filter { self.challengeId(in: $0.request.content.userInfo) == challengeId }
                .map { $0.request.identifier }
            if !ids.isEmpty { center.removeDeliveredNotifications(withIdentifiers: ids) }
        }
        center.getPendingNotificationRequests { pending in
            let ids = pending
                .filter { $0.identifier == challengeId || self.challengeId(in: $0.content.userInfo) == challengeId }
                .map { $0.identifier }
            if !ids.isEmpty { center.removePendingNotificationRequests(withIdentifiers: ids) }
        }
    }

    private static func add(_ content: UNNotificationContent, id: String) {
        let request = UNNotificationRequest(identifier: id, content: content, trigger: nil)
        UNUserNotificationCenter.current().add(request) { error in
            if let error = error { NSLog("notification: %@", error.localizedDescription) }
        }
    }
}

/// One UIKit background task that ends exactly once (UIApplication.beginBackgroundTask(withName:
/// expirationHandler:)): by `end()` when the work is done, or by the expiration handler when iOS
/// takes the time back. `onEnd` runs exactly once, whichever comes first.
final class BackgroundTaskGuard {
    private let lock = NSLock()
    private var ended = false
    private var identifier = UIBackgroundTaskIdentifier.invalid
    private var onEnd: (() -> Void)?

    init(name: String, onEnd: (() -> Void)? = nil) {
        self.onEnd = onEnd
        let id = UIApplication.shared.beginBackgroundTask(withName: name) { [self] in
            self.end()
        }
        lock.lock()
        let alreadyEnded = ended
        if !alreadyEnded { identifier = id }
        lock.unlock()
        if alreadyEnded && id != .invalid { UIApplication.shared.endBackgroundTask(id) }
    }

    func end() {
        lock.lock()
        if ended {
            lock.unlock()
            return
        }
        ended = true
        let id = identifier
        identifier = .invalid
        let callback = onEnd
        onEnd = nil
        lock.unlock()
        callback?()
        if id != .invalid { UIApplication.shared.endBackgroundTask(id) }
    }
}

/// Handles pushes and notification responses. The core verifies every payload (`receivePush`)
/// and decides which answers a notification may give (`notificationActions`).
enum PushResponder {
    /// A remote push while the app is in the foreground (`willPresent`).
    static func received(userInfo: [AnyHashable: Any]) {
        let data = PushNotifications.stringMap(userInfo)
        let model = AppModel.shared
        model.perform({ core -> (PushChallenge, Bool) in
            let challenge = try core.receivePush(data: data)
            let locked = try core.lockState().locked
            return (challenge, locked)
        }, interceptLock: false, onError: { error in
            NSLog("push dropped: %@", describe(error))
        }) { result in
            PushNotifications.post(result.0, vaultLocked: result.1)
            model.loadPending()
            // The core marked the container of this token (if any) for a sync; it decides what is due.
            if !result.1 { model.syncDueContainers() }
        }
    }

    /// `content-available` push (foreground or background). An alert push is shown by iOS (or
    /// by `received` in the foreground); a silent one gets our own notification.
    static func receivedInBackground(userInfo: [AnyHashable: Any], completion: @escaping (UIBackgroundFetchResult) -> Void) {
        let data = PushNotifications.stringMap(userInfo)
        let hasAlert = (userInfo["aps"] as? [String: Any])?["alert"] != nil
        let model = AppModel.shared
        model.perform({ core -> (PushChallenge, Bool) in
            let challenge = try core.receivePush(data: data)
            let locked = try core.lockState().locked
            return (challenge, locked)
        }, interceptLock: false, onError: { error in
            NSLog("background push: %@", describe(error))
            completion(.failed)
        }) { result in
            if !hasAlert { PushNotifications.post(result.0, vaultLocked: result.1) }
            model.loadPending()
            // Runs in its own background task; the fetch completes now.
            if !result.1 { model.syncDueContainers() }
            completion(.newData)
        }
    }

    /// When the app comes back: a challenge that arrived in the background is still in the
    /// Notification Center (no extension runs at arrival); hand it to the core.
    static func ingestDelivered() {
        UNUserNotificationCenter.current().getDeliveredNotifications { delivered in
            let payloads = delivered
                .filter { $0.request.trigger is UNPushNotificationTrigger }
                .map { PushNotifications.stringMap($0.request.content.userInfo) }
            guard !payloads.isEmpty else { return }
            let model = AppModel.shared
            model.perform({ core -> Void in
                for data in payloads { _ = try? core.receivePush(data: data) }
            }, interceptLock: false, onError: { _ in }) { _ in
                model.loadPending()
                if model.lockState?.locked == false { model.syncDueContainers() }
            }
        }
    }

    /// A tap or action, in the foreground, in the background or after a cold start. The response
    /// is completed exactly once: after the answer, or by the background task's expiry.
    static func respond(to response: UNNotificationResponse, completion: @escaping () -> Void) {
        let finish = BackgroundTaskGuard(name: "org.authcore.push-answer", onEnd: completion)
        let userInfo = response.notification.request.content.userInfo
        let action = response.actionIdentifier
        // Read on the main thread, where the delegate is called.
        let deviceUnlocked = UIApplication.shared.isProtectedDataAvailable
        let inForeground = UIApplication.shared.applicationState != .background
        let model = AppModel.shared

        model.perform({ core -> (PushChallenge, Bool) in
            let challenge: PushChallenge
            if let id = userInfo[PushNotifications.challengeIdKey] as? String {
                // Our local notification: the challenge is already stored.
                guard let found = try core.pendingChallenges().first(where: { $0.id == id }) else {
                    throw AuthenticatorError.NotFound(what: "sign-in request (expired or answered)")
                }
                challenge = found
            } else {
                // The server's notification (background or cold start): verify and store it now.
                challenge = try core.receivePush(data: PushNotifications.stringMap(userInfo))
            }
            let locked = try core.lockState().locked
            return (challenge, locked)
        }, interceptLock: false, onError: { error in
            report(error, challengeId: PushNotifications.challengeId(in: userInfo), inForeground: inForeground)
            finish.end()
        }) { result in
            let (challenge, vaultLocked) = result
            // A push for a container token asks for that container's sync (the core decides).
            if !vaultLocked { model.syncDueContainers() }
            handle(action, challenge: challenge, vaultLocked: vaultLocked,
                   deviceUnlocked: deviceUnlocked, inForeground: inForeground, finish: finish)
        }
    }

    private static func handle(
        _ action: String,
        challenge: PushChallenge,
        vaultLocked: Bool,
        deviceUnlocked: Bool,
        inForeground: Bool,
        finish: BackgroundTaskGuard
    ) {
        let model = AppModel.shared
        switch action {
        case UNNotificationDefaultActionIdentifier, PushNotifications.openAction:
            // Tap: the app comes to the foreground on this challenge (PIN screen first if locked).
            model.openPush(challengeId: challenge.id)
            finish.end()
        case UNNotificationDismissActionIdentifier:
            finish.end()
        default:
            let offered = PushNotifications.offeredActions(for: challenge, vaultLocked: vaultLocked)
            guard let chosen = PushNotifications.match(action, in: offered) else {
                // E.g. Approve on the server's notification of a number-matching challenge:
                // it cannot be answered without the number. Offer the numbers (when they fit)
                // or open the app on it.
                if inForeground {
                    model.openPush(challengeId: challenge.id)
                } else {
                    PushNotifications.post(challenge, vaultLocked: vaultLocked)
                }
                return finish.end()
            }
            if chosen.opensApp || (chosen.requiresUnlockedDevice && !deviceUnlocked) {
                // The answer needs the app PIN first (or, defensively, an unlocked iPhone).
                if inForeground {
                    model.openPush(challengeId: challenge.id)
                } else {
                    PushNotifications.postText(
                        title: challenge.title, body: "Open Authenticator to answer: \(challenge.question)",
                        challengeId: challenge.id, category: PushNotifications.unlockCategory)
                }
                return finish.end()
            }
            answer(challenge, with: chosen, finish: finish)
        }
    }

    /// The network answer runs inside the background task; if iOS ends the task first, the
    /// expiration handler has already completed the response.
    private static func answer(_ challenge: PushChallenge, with action: NotificationAction, finish: BackgroundTaskGuard) {
        let approve = action.kind == .approve
        AppModel.shared.perform({ core -> PushAnswerResult in
            if approve {
                return try core.approve(challengeId: challenge.id, presenceAnswer: action.presenceAnswer)
            }
            return try core.decline(challengeId: challenge.id, reason: nil)
        }, interceptLock: false, onError: { error in
            if let coreError = error as? AuthenticatorError, case .Locked = coreError {
                PushNotifications.postText(title: challenge.title, body: "Open Authenticator to answer.",
                                           challengeId: challenge.id, category: PushNotifications.unlockCategory)
            } else if let coreError = error as? AuthenticatorError, case .AlreadyAnswered = coreError {
                PushNotifications.removeNotifications(challengeId: challenge.id)
            } else {
                PushNotifications.postText(title: "Could not answer", body: describe(error), challengeId: challenge.id)
            }
            AppModel.shared.loadPending()
            finish.end()
        }) { result in
            PushNotifications.postText(
                title: result.accepted ? "Done" : "Not accepted",
                body: PushNotifications.resultText(result, approved: approve),
                challengeId: challenge.id)
            AppModel.shared.loadPending()
            finish.end()
        }
    }

    private static func report(_ error: Error, challengeId: String?, inForeground: Bool) {
        NSLog("push response: %@", describe(error))
        let id = challengeId ?? "org.authcore.push-error"
        let coreError = error as? AuthenticatorError
        if case .AlreadyAnswered? = coreError {
            PushNotifications.removeNotifications(challengeId: id)
            return
        }
        var unlockFirst = false
        if case .Keystore? = coreError { unlockFirst = true }
        if case .Storage? = coreError { unlockFirst = true }
        if error is KeystoreError { unlockFirst = true }
        if inForeground {
            AppModel.shared.message = describe(error)
        } else if unlockFirst {
            // The device key (Keychain, when-unlocked) or the vault was not readable: the iPhone
            // is locked and the app was not running.
            PushNotifications.postText(title: "Sign-in request", body: "Unlock your iPhone, then open Authenticator to answer.",
                                       challengeId: id, category: PushNotifications.unlockCategory)
        } else {
            PushNotifications.postText(title: "Sign-in request", body: describe(error), challengeId: id)
        }
    }
}
