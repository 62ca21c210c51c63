// Firebase Cloud Messaging glue: privacyIDEA sends pushes through FCM, so the core needs the FCM
// registration token (not the raw APNs token). Without GoogleService-Info.plist the app stays poll-only.
import FirebaseCore
import FirebaseMessaging
import Foundation

/// Follows Firebase's "Set up a Firebase Cloud Messaging client app on Apple platforms" with
/// method swizzling disabled (`FirebaseAppDelegateProxyEnabled` = NO in Info.plist): the APNs
/// token is handed to `Messaging.messaging().apnsToken` by the app delegate, and
/// `MessagingDelegate.messaging(_:didReceiveRegistrationToken:)` reports the FCM token at every
/// start and on every refresh. The token goes to the core, which queues the server updates.
final class FirebasePush: NSObject, MessagingDelegate {
    private static let shared = FirebasePush()
    /// `Messaging.delegate` is weak: `shared` keeps the delegate alive.
    private(set) static var isConfigured = false

    /// Calls `FirebaseApp.configure()` when the app bundle has a GoogleService-Info.plist
    /// (from the same Firebase project as the privacyIDEA server's Firebase service account).
    /// Call once, from `application(_:didFinishLaunchingWithOptions:)`.
    @discardableResult
    static func configureIfPossible() -> Bool {
        if isConfigured { return true }
        guard Bundle.main.path(forResource: "GoogleService-Info", ofType: "plist") != nil else {
            NSLog("No GoogleService-Info.plist: push notifications are off, requests arrive by polling only.")
            return false
        }
        FirebaseApp.configure()
        Messaging.messaging().delegate = shared
        isConfigured = true
        return true
    }

    /// From `application(_:didRegisterForRemoteNotificationsWithDeviceToken:)`.
    static func setAPNsToken(_ deviceToken: Data) {
        guard isConfigured else { return }
        Messaging.messaging().apnsToken = deviceToken
    }

    // MARK: - MessagingDelegate

    func messaging(_ messaging: Messaging, didReceiveRegistrationToken fcmToken: String?) {
        guard let token = fcmToken, !token.isEmpty else { return }
        AppModel.shared.pushTokenReceived(token)
    }
}
