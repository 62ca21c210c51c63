// Sends the core's log records (secret-free by design) to the unified log, beside the app's own.
import AuthenticatorCore
import os

/// The core's `Logger` foreign trait on Apple's unified logging (`os.Logger`, iOS 14+).
/// Messages are marked public: the core never logs a secret, PIN, code, key or
/// signature (a core test checks this at the most verbose level).
final class CoreLogger: AuthenticatorCore.Logger, @unchecked Sendable {
    private let log = os.Logger(subsystem: "org.authcore.app", category: "core")

    func log(level: LogLevel, target: String, message: String) {
        switch level {
        case .error: log.error("\(target, privacy: .public): \(message, privacy: .public)")
        case .warn: log.warning("\(target, privacy: .public): \(message, privacy: .public)")
        case .info: log.info("\(target, privacy: .public): \(message, privacy: .public)")
        case .debug, .trace: log.debug("\(target, privacy: .public): \(message, privacy: .public)")
        }
    }

    /// Installs it once, before the vault is opened.
    static func install() {
        setLogger(logger: CoreLogger(), maxLevel: .info)
    }
}
