// Adding an account: camera QR scan, a QR image from Photos, or a pasted link, all previewed by the core first.
import AuthenticatorCore
import AVFoundation
import PhotosUI
import SwiftUI
import UIKit

/// Add by camera QR, from an image (photo picker) or by pasting a link. The text or image
/// goes to the core unchanged (`preview`, then `add` after the user confirms).
struct AddView: View {
    @EnvironmentObject private var model: AppModel
    @State private var link = ""
    @State private var showPicker = false
    @State private var showScanner = false

    var body: some View {
        NavigationView {
            Form {
                Section {
                    NavigationLink(destination: scanner, isActive: $showScanner) {
                        Text("Scan QR code")
                    }
                    Button("Choose QR code image") { showPicker = true }
                }
                Section(header: Text("Or paste a link")) {
                    TextField("otpauth:// or pia://", text: $link)
                        .autocapitalization(.none)
                        .disableAutocorrection(true)
                    Button("Continue") {
                        model.startEnrollment(link: link.trimmingCharacters(in: .whitespacesAndNewlines))
                    }
                    .disabled(link.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
                }
            }
            .navigationTitle("Add account")
            .navigationBarTitleDisplayMode(.inline)
            .toolbar {
                ToolbarItem(placement: .cancellationAction) {
                    Button("Cancel") { model.sheet = nil }
                }
            }
            .sheet(isPresented: $showPicker) {
                ImagePicker { png in
                    showPicker = false
                    if let png = png { model.startImageEnrollment(png) }
                }
            }
        }
    }

    private var scanner: some View {
        QRScannerView { text in
            showScanner = false
            model.startEnrollment(link: text)
        }
        .edgesIgnoringSafeArea(.bottom)
        .navigationTitle("Scan QR code")
    }
}

/// Camera QR scanning with AVFoundation (AVCaptureMetadataOutput); reports one code.
struct QRScannerView: UIViewControllerRepresentable {
    let onCode: (String) -> Void

    func makeUIViewController(context: Context) -> ScannerViewController {
        let controller = ScannerViewController()
        controller.onCode = onCode
        return controller
    }

    func updateUIViewController(_ controller: ScannerViewController, context: Context) {}
}

final class ScannerViewController: UIViewController, AVCaptureMetadataOutputObjectsDelegate {
    var onCode: ((String) -> Void)?
    private let session = AVCaptureSession()
    private let sessionQueue = DispatchQueue(label: "org.authcore.camera")
    private var previewLayer: AVCaptureVideoPreviewLayer?
    private var delivered = false

    override func viewDidLoad() {
        super.viewDidLoad()
        view.backgroundColor = .black
        AVCaptureDevice.requestAccess(for: .video) { granted in
            DispatchQueue.main.async {
                if granted { self.configure() } else { self.showMessage("Allow camera access in Settings to scan QR codes.") }
            }
        }
    }

    private func configure() {
        guard let device = AVCaptureDevice.default(for: .video),
              let input = try? AVCaptureDeviceInput(device: device),
              session.canAddInput(input) else {
            showMessage("No camera available.")
            return
        }
        session.addInput(input)
        let output = AVCaptureMetadataOutput()
        guard session.canAddOutput(output) else {
            showMessage("Cannot scan with this camera.")
            return
        }
        session.addOutput(output)
        output.setMetadataObjectsDelegate(self, queue: .main)
        output.metadataObjectTypes = [.qr]

        let layer = AVCaptureVideoPreviewLayer(session: session)
        layer.videoGravity = .resizeAspectFill
        layer.frame = view.bounds
        view.layer.addSublayer(layer)
        previewLayer = layer
        sessionQueue.async { self.session.startRunning() }
    }

    override func viewDidLayoutSubviews() {
        super.viewDidLayoutSubviews()
        previewLayer?.frame = view.bounds
    }

    override func viewWillDisappear(_ animated: Bool) {
        super.viewWillDisappear(animated)
        sessionQueue.async { if self.session.isRunning { self.session.stopRunning() } }
    }

    func metadataOutput(
        _ output: AVCaptureMetadataOutput,
        didOutput metadataObjects: [AVMetadataObject],
        from connection: AVCaptureConnection
    ) {
        guard !delivered,
              let code = metadataObjects.first as? AVMetadataMachineReadableCodeObject,
              code.type == .qr,
              let text = code.stringValue else { return }
        delivered = true
        sessionQueue.async { self.session.stopRunning() }
        onCode?(text)
    }

    private func showMessage(_ text: String) {
        let label = UILabel()
        label.text = text
        label.textColor = .white
        label.numberOfLines = 0
        label.textAlignment = .center
        label.translatesAutoresizingMaskIntoConstraints = false
        view.addSubview(label)
        NSLayoutConstraint.activate([
            label.centerYAnchor.constraint(equalTo: view.centerYAnchor),
            label.leadingAnchor.constraint(equalTo: view.leadingAnchor, constant: 24),
            label.trailingAnchor.constraint(equalTo: view.trailingAnchor, constant: -24),
        ])
    }
}

/// PHPicker (iOS 14). The core decodes PNG/JPEG, so the picked image is re-encoded as PNG
/// (photos are often HEIC).
struct ImagePicker: UIViewControllerRepresentable {
    let onImage: (Data?) -> Void

    func makeUIViewController(context: Context) -> PHPickerViewController {
        var configuration = PHPickerConfiguration()
        configuration.filter = .images
        configuration.selectionLimit = 1
        let picker = PHPickerViewController(configuration: configuration)
        picker.delegate = context.coordinator
        return picker
    }

    func updateUIViewController(_ picker: PHPickerViewController, context: Context) {}

    func makeCoordinator() -> Coordinator { Coordinator(onImage: onImage) }

    final class Coordinator: NSObject, PHPickerViewControllerDelegate {
        let onImage: (Data?) -> Void

        init(onImage: @escaping (Data?) -> Void) {
            self.onImage = onImage
        }

        func picker(_ picker: PHPickerViewController, didFinishPicking results: [PHPickerResult]) {
            guard let provider = results.first?.itemProvider, provider.canLoadObject(ofClass: UIImage.self) else {
                onImage(nil)
                return
            }
            provider.loadObject(ofClass: UIImage.self) { object, _ in
                let png = (object as? UIImage)?.pngData()
                DispatchQueue.main.async { self.onImage(png) }
            }
        }
    }
}
