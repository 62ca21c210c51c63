// App entry point: the scene, its lifecycle (which locks the vault through the core), and the
// UIApplication / UNUserNotificationCenter delegate that receives pushes and notification actions.
import AuthenticatorCore
import SwiftUI
import UIKit
import UserNotifications

@main
struct AuthenticatorApp: App {
    @UIApplicationDelegateAdaptor(AppDelegate.self) private var appDelegate
    @StateObject private var model = AppModel.shared
    @Environment(\.scenePhase) private var scenePhase

    init() {
        // One log: the core's records go to the unified log with the app's.
        CoreLogger.install()
    }

    var body: some Scene {
        WindowGroup {
            ZStack {
                RootView()
                // Privacy cover: hides codes in the app switcher snapshot and while inactive.
                if scenePhase != .active {
                    PrivacyCover()
                }
            }
            .environmentObject(model)
            .onOpenURL { model.handle(url: $0) }
            .onChange(of: scenePhase) { phase in
                // ScenePhase: .background = the app left the screen, .active = it is back.
                // The core decides whether that locks (background grace, idle timeout).
                model.setSceneActive(phase == .active)
                switch phase {
                case .background:
                    model.appBackgrounded()
                case .active:
                    model.appForegrounded()
                default:
                    break
                }
            }
        }
    }
}

final class AppDelegate: NSObject, UIApplicationDelegate, UNUserNotificationCenterDelegate {
    /// The notification center's delegate must be set before this method returns, so that a
    /// tap or action that launched the app (cold start) reaches `didReceive`.
    func application(
        _ application: UIApplication,
        didFinishLaunchingWithOptions launchOptions: [UIApplication.LaunchOptionsKey: Any]? = nil
    ) -> Bool {
        // FirebaseApp.configure() only when the build has a GoogleService-Info.plist;
        // otherwise the app is poll-only ("Check for requests").
        let firebase = FirebasePush.configureIfPossible()
        let center = UNUserNotificationCenter.current()
        center.delegate = self
        PushNotifications.registerCategories()
        center.requestAuthorization(options: [.alert, .sound, .badge]) { _, error in
            if let error = error { NSLog("notification authorization: %@", error.localizedDescription) }
        }
        if firebase {
            // The APNs token only goes to Firebase Messaging (below), which maps it to the FCM
            // registration token that privacyIDEA's Firebase sender needs.
            application.registerForRemoteNotifications()
        }
        return true
    }

    func application(_ application: UIApplication, didRegisterForRemoteNotificationsWithDeviceToken deviceToken: Data) {
        // FirebaseAppDelegateProxyEnabled is NO (Info.plist): the APNs token is mapped by hand.
        FirebasePush.setAPNsToken(deviceToken)
    }

    func application(_ application: UIApplication, didFailToRegisterForRemoteNotificationsWithError error: Error) {
        NSLog("APNs registration failed: %@", error.localizedDescription)
    }

    /// A push with `content-available: 1` (privacyIDEA does not send one today; a server that
    /// does gets its challenge verified and stored while the app is in the background).
    func application(
        _ application: UIApplication,
        didReceiveRemoteNotification userInfo: [AnyHashable: Any],
        fetchCompletionHandler completionHandler: @escaping (UIBackgroundFetchResult) -> Void
    ) {
        PushResponder.receivedInBackground(userInfo: userInfo, completion: completionHandler)
    }

    /// In the foreground: a remote challenge is verified by the core and re-posted as a local
    /// notification with the actions the core offers; our own local notifications show as is.
    func userNotificationCenter(
        _ center: UNUserNotificationCenter,
        willPresent notification: UNNotification,
        withCompletionHandler completionHandler: @escaping (UNNotificationPresentationOptions) -> Void
    ) {
        if notification.request.trigger is UNPushNotificationTrigger {
            PushResponder.received(userInfo: notification.request.content.userInfo)
            completionHandler([])
        } else {
            completionHandler([.banner, .list, .sound])
        }
    }

    /// A tap or an action on a notification, in the foreground, in the background, or after a
    /// cold start. `completionHandler` is called exactly once by `PushResponder`.
    func userNotificationCenter(
        _ center: UNUserNotificationCenter,
        didReceive response: UNNotificationResponse,
        withCompletionHandler completionHandler: @escaping () -> Void
    ) {
        PushResponder.respond(to: response, completion: completionHandler)
    }
}
