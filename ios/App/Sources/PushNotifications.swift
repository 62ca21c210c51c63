import AuthenticatorCore
import Foundation
import LocalAuthentication
import UIKit
import UserNotifications

/// Notification categories and local notifications for push challenges. Display only:
/// the payload goes to the core unchanged, which verifies it and says what to show.
enum PushNotifications {
    /// The category the server should put in `aps.category` for a challenge.
    static let challengeCategory = "PUSH_CHALLENGE"
    /// Local notification for a challenge that needs the app unlocked first.
    static let unlockCategory = "PUSH_CHALLENGE_UNLOCK"
    static let presenceCategoryPrefix = "PUSH_PRESENCE."

    static let approveAction = "APPROVE"
    static let declineAction = "DECLINE"
    static let openAction = "OPEN"
    static let presenceActionPrefix = "PRESENCE:"

    /// userInfo key of our own local notifications.
    static let challengeIdKey = "challenge_id"

    static func registerCategories() {
        UNUserNotificationCenter.current().setNotificationCategories(staticCategories())
    }

    private static func staticCategories() -> Set<UNNotificationCategory> {
        // .authenticationRequired: the device must be unlocked (the Keychain device key
        // is only readable then); the answer runs in the background without opening the app.
        let approve = UNNotificationAction(identifier: approveAction, title: "Approve", options: [.authenticationRequired])
        let decline = UNNotificationAction(identifier: declineAction, title: "Decline", options: [.authenticationRequired, .destructive])
        let open = UNNotificationAction(identifier: openAction, title: "Unlock to answer", options: [.foreground])
        return [
            UNNotificationCategory(identifier: challengeCategory, actions: [approve, decline], intentIdentifiers: [], options: []),
            UNNotificationCategory(identifier: unlockCategory, actions: [open], intentIdentifiers: [], options: []),
        ]
    }

    /// FCM/APNs userInfo -> the [String: String] map the core expects (top-level string
    /// keys; `aps` and other non-string values are left out, numbers become strings).
    static func stringMap(_ userInfo: [AnyHashable: Any]) -> [String: String] {
        var map: [String: String] = [:]
        for (key, value) in userInfo {
            guard let key = key as? String, key != "aps" else { continue }
            if let text = value as? String {
                map[key] = text
            } else if let number = value as? NSNumber {
                map[key] = number.stringValue
            }
        }
        return map
    }

    /// Posts a notification for a verified challenge: Approve/Decline, one action per
    /// presence option, or "Unlock to answer" when it needs the app unlocked and it is locked.
    static func post(_ challenge: PushChallenge, locked: Bool) {
        let content = UNMutableNotificationContent()
        content.title = challenge.title
        content.body = challenge.question
        content.sound = .default
        content.userInfo = [challengeIdKey: challenge.id]

        let needsUnlock = challenge.requiresUnlock && locked
        if needsUnlock {
            content.categoryIdentifier = unlockCategory
            add(content, id: challenge.id)
        } else if !challenge.presenceOptions.isEmpty {
            let identifier = presenceCategoryPrefix + challenge.id
            let actions = challenge.presenceOptions.map {
                UNNotificationAction(identifier: presenceActionPrefix + $0, title: $0, options: [.authenticationRequired])
            }
            let category = UNNotificationCategory(identifier: identifier, actions: actions, intentIdentifiers: [], options: [])
            // Categories must exist before the notification is shown; keep only this
            // challenge's presence category next to the static ones.
            UNUserNotificationCenter.current().setNotificationCategories(staticCategories().union([category]))
            content.categoryIdentifier = identifier
            add(content, id: challenge.id)
        } else {
            content.categoryIdentifier = challengeCategory
            add(content, id: challenge.id)
        }
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
            return "Enter \(code) at the sign-in." + (result.message.map { "\n\($0)" } ?? "")
        }
        return result.message ?? (approved ? "Approved." : "Declined.")
    }

    static func removeDelivered(challengeId: String) {
        UNUserNotificationCenter.current().removeDeliveredNotifications(withIdentifiers: [challengeId])
    }

    private static func add(_ content: UNNotificationContent, id: String) {
        let request = UNNotificationRequest(identifier: id, content: content, trigger: nil)
        UNUserNotificationCenter.current().add(request) { error in
            if let error = error { NSLog("notification: %@", error.localizedDescription) }
        }
    }
}

/// Handles notification taps and actions. The core verifies every payload
/// (`receivePush`) before anything is shown or answered.
enum PushResponder {
    /// A push that arrived while the app is in the foreground.
    static func received(userInfo: [AnyHashable: Any]) {
        let data = PushNotifications.stringMap(userInfo)
        let model = AppModel.shared
        model.perform({ core -> (PushChallenge, Bool) in
            let challenge = try core.receivePush(data: data)
            let locked = (try? core.lockState().locked) ?? true
            return (challenge, locked)
        }, onError: { error in
            NSLog("push dropped: %@", describe(error))
        }) { result in
            PushNotifications.post(result.0, locked: result.1)
            model.loadPending()
        }
    }

    static func respond(to response: UNNotificationResponse, completion: @escaping () -> Void) {
        let userInfo = response.notification.request.content.userInfo
        let action = response.actionIdentifier
        let model = AppModel.shared
        var task = UIBackgroundTaskIdentifier.invalid
        task = UIApplication.shared.beginBackgroundTask {
            UIApplication.shared.endBackgroundTask(task)
            task = .invalid
        }
        let finish = {
            completion()
            if task != .invalid {
                UIApplication.shared.endBackgroundTask(task)
                task = .invalid
            }
        }

        model.perform({ core -> (PushChallenge?, String?, Bool) in
            // Our local notifications carry the id; a remote one carries the payload.
            let challenge: PushChallenge?
            let challengeId: String
            if let id = userInfo[PushNotifications.challengeIdKey] as? String {
                challenge = try core.pendingChallenges().first { $0.id == id }
                challengeId = id
            } else {
                let received = try core.receivePush(data: PushNotifications.stringMap(userInfo))
                challenge = received
                challengeId = received.id
            }
            let locked = (try? core.lockState().locked) ?? true
            return (challenge, challengeId, locked)
        }, interceptLock: false, onError: { error in
            NSLog("push response: %@", describe(error))
            finish()
        }) { result in
            let (challenge, challengeId, locked) = result
            guard let id = challengeId else { return finish() }
            switch action {
            case PushNotifications.approveAction, PushNotifications.declineAction:
                answer(challenge, id: id, locked: locked, approve: action == PushNotifications.approveAction, presence: nil, finish: finish)
            case let presence where presence.hasPrefix(PushNotifications.presenceActionPrefix):
                let option = String(presence.dropFirst(PushNotifications.presenceActionPrefix.count))
                answer(challenge, id: id, locked: locked, approve: true, presence: option, finish: finish)
            default:
                // Tap on the notification or "Unlock to answer": the app is coming to the
                // foreground; the PIN screen shows first when locked.
                model.openPush(challengeId: id)
                finish()
            }
        }
    }

    private static func answer(
        _ challenge: PushChallenge?,
        id: String,
        locked: Bool,
        approve: Bool,
        presence: String?,
        finish: @escaping () -> Void
    ) {
        guard let challenge = challenge else {
            PushNotifications.postText(title: "Request not found", body: "It may have expired or been answered.", challengeId: id)
            return finish()
        }
        if approve && presence == nil && !challenge.presenceOptions.isEmpty {
            // A remote notification shown with the static category (no service extension)
            // cannot carry the options: re-post it with one action per option.
            PushNotifications.post(challenge, locked: locked)
            return finish()
        }
        if challenge.requiresUnlock && locked {
            PushNotifications.postText(
                title: challenge.title, body: "Unlock the app to answer: \(challenge.question)",
                challengeId: id, category: PushNotifications.unlockCategory)
            return finish()
        }
        AppModel.shared.perform({ core -> PushAnswerResult in
            if approve {
                return try core.approve(challengeId: id, presenceAnswer: presence)
            }
            return try core.decline(challengeId: id, reason: nil)
        }, interceptLock: false, onError: { error in
            if let coreError = error as? AuthenticatorError, case .Locked = coreError {
                PushNotifications.postText(title: challenge.title, body: "Unlock the app to answer.",
                                           challengeId: id, category: PushNotifications.unlockCategory)
            } else {
                PushNotifications.postText(title: "Could not answer", body: describe(error), challengeId: id)
            }
            finish()
        }) { result in
            PushNotifications.postText(
                title: result.accepted ? "Done" : "Not accepted",
                body: PushNotifications.resultText(result, approved: approve),
                challengeId: id)
            AppModel.shared.loadPending()
            finish()
        }
    }
}

/// One LocalAuthentication check (used before enabling biometric unlock).
enum BiometricGate {
    static func confirm(reason: String, completion: @escaping (Bool) -> Void) {
        let context = LAContext()
        var error: NSError?
        guard context.canEvaluatePolicy(.deviceOwnerAuthenticationWithBiometrics, error: &error) else {
            AppModel.shared.message = "Face ID / Touch ID is not available."
            return completion(false)
        }
        context.evaluatePolicy(.deviceOwnerAuthenticationWithBiometrics, localizedReason: reason) { ok, _ in
            DispatchQueue.main.async { completion(ok) }
        }
    }
}
