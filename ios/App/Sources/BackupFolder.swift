// Automatic backups: the folder the user picked (kept as a bookmark) and the writer that stores the core's
// pending encrypted backup there with NSFileCoordinator, then reports it written to the core.
import AuthenticatorCore
import Foundation
import UIKit
import UniformTypeIdentifiers

/// The backup folder comes from `UIDocumentPickerViewController(forOpeningContentTypes: [.folder])`;
/// the app keeps a bookmark of it (`bookmarkData(options: [])`: on iOS a bookmark of a URL the
/// picker returned carries its security scope) in UserDefaults (not a secret: a folder
/// reference). The core decides whether a backup is due and encrypts it with the backup
/// password; this only writes the bytes and calls `backupWritten(generation:)` afterwards.
enum BackupFolder {
    private static let bookmarkKey = "org.authcore.backupFolderBookmark"
    /// One writer at a time: two changes in a row must not write the same generation twice.
    private static let queue = DispatchQueue(label: "org.authcore.backup", qos: .utility)

    enum Outcome {
        case written(String)
        case nothingDue
        case failed(String)
    }

    static var isSet: Bool { UserDefaults.standard.data(forKey: bookmarkKey) != nil }

    /// Stores the picked folder. `url` is security-scoped: access it while making the bookmark.
    static func set(_ url: URL) throws {
        let accessing = url.startAccessingSecurityScopedResource()
        defer { if accessing { url.stopAccessingSecurityScopedResource() } }
        let bookmark = try url.bookmarkData(options: [], includingResourceValuesForKeys: nil, relativeTo: nil)
        UserDefaults.standard.set(bookmark, forKey: bookmarkKey)
    }

    static func forget() {
        UserDefaults.standard.removeObject(forKey: bookmarkKey)
    }

    /// The folder's name for Settings, or nil when none is set (or it is gone).
    static func displayName() -> String? {
        guard let resolved = try? resolve(), let url = resolved else { return nil }
        return url.lastPathComponent
    }

    /// Resolves the bookmark; a stale one (folder moved or renamed) is renewed.
    private static func resolve() throws -> URL? {
        guard let data = UserDefaults.standard.data(forKey: bookmarkKey) else { return nil }
        var stale = false
        let url = try URL(resolvingBookmarkData: data, options: [], relativeTo: nil, bookmarkDataIsStale: &stale)
        if stale {
            let accessing = url.startAccessingSecurityScopedResource()
            defer { if accessing { url.stopAccessingSecurityScopedResource() } }
            if let renewed = try? url.bookmarkData(options: [], includingResourceValuesForKeys: nil, relativeTo: nil) {
                UserDefaults.standard.set(renewed, forKey: bookmarkKey)
            }
        }
        return url
    }

    /// Writes the backup the core has pending (if backups are on, one is due, a folder is set
    /// and the vault is unlocked) as `fileName` in the folder, then `backupWritten`. The
    /// completion runs on the main queue.
    static func writePending(_ core: @escaping () throws -> Authenticator, completion: @escaping (Outcome) -> Void) {
        let task = BackgroundTaskGuard(name: "org.authcore.backup")
        queue.async {
            let outcome = write(core)
            DispatchQueue.main.async {
                task.end()
                completion(outcome)
            }
        }
    }

    private static func write(_ core: () throws -> Authenticator) -> Outcome {
        guard isSet else { return .nothingDue }
        let authenticator: Authenticator
        let backup: BackupFile
        do {
            authenticator = try core()
            guard let pending = try authenticator.pendingBackup() else { return .nothingDue }
            backup = pending
        } catch let error as AuthenticatorError {
            if case .Locked = error { return .nothingDue } // still due: written after the unlock
            return .failed(describe(error))
        } catch {
            return .failed(describe(error))
        }
        do {
            guard let folder = try resolve() else { return .nothingDue }
            guard folder.startAccessingSecurityScopedResource() else {
                return .failed("The backup folder is no longer accessible. Choose it again.")
            }
            defer { folder.stopAccessingSecurityScopedResource() }
            let target = folder.appendingPathComponent(backup.fileName)
            var coordinationError: NSError?
            var writeError: Error?
            NSFileCoordinator(filePresenter: nil).coordinate(writingItemAt: target, options: .forReplacing, error: &coordinationError) { url in
                do {
                    try backup.data.write(to: url, options: .atomic)
                } catch {
                    writeError = error
                }
            }
            if let error = coordinationError ?? writeError { throw error }
            try authenticator.backupWritten(generation: backup.generation)
            NSLog("backup of generation %llu written (%u accounts)", backup.generation, backup.exported)
            return .written(backup.fileName)
        } catch {
            NSLog("backup not written: %@", error.localizedDescription)
            return .failed("The last automatic backup could not be written to the folder. Choose the folder again if this keeps happening.")
        }
    }
}

/// Presents the system folder picker (iOS 14: `forOpeningContentTypes: [.folder]`); the
/// delegate is kept alive while the picker is on screen.
final class FolderPicker: NSObject, UIDocumentPickerDelegate {
    private static var current: FolderPicker?
    private let completion: (URL?) -> Void

    private init(completion: @escaping (URL?) -> Void) {
        self.completion = completion
    }

    static func present(completion: @escaping (URL?) -> Void) {
        let picker = UIDocumentPickerViewController(forOpeningContentTypes: [.folder])
        picker.allowsMultipleSelection = false
        let delegate = FolderPicker(completion: completion)
        picker.delegate = delegate
        current = delegate
        RenamePrompt.topViewController()?.present(picker, animated: true)
    }

    func documentPicker(_ controller: UIDocumentPickerViewController, didPickDocumentsAt urls: [URL]) {
        completion(urls.first)
        FolderPicker.current = nil
    }

    func documentPickerWasCancelled(_ controller: UIDocumentPickerViewController) {
        completion(nil)
        FolderPicker.current = nil
    }
}
