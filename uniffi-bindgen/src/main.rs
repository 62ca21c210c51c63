//! The `uniffi-bindgen` binary: generates Kotlin and Swift bindings from the built core library.
fn main() {
    uniffi::uniffi_bindgen_main()
}
