#!/usr/bin/env bash
# Builds authenticator-core for Android and generates its Kotlin bindings.
#
#   android/build-rust.sh            # .so for arm64-v8a, armeabi-v7a, x86_64 (profile "mobile")
#   PROFILE=debug android/build-rust.sh
#
# The shipped libraries use the workspace's `mobile` profile (Cargo.toml: opt-level "z",
# fat LTO, one codegen unit, stripped, panic = unwind); tests/size-budget.sh checks its size.
#
# Needs: rustup + cargo, cargo-ndk (`cargo install cargo-ndk`), the Android NDK
# (r27 or newer; set ANDROID_NDK_HOME, or ANDROID_HOME with an ndk/<version> inside).
# Output:
#   android/core-bindings/src/main/jniLibs/<abi>/libauthenticator_core.so  (stripped)
#   android/core-bindings/src/main/kotlin/org/authcore/authenticator_core.kt
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PROFILE="${PROFILE:-mobile}"
MIN_API=26
ABIS=(arm64-v8a armeabi-v7a x86_64)
RUST_TARGETS=(aarch64-linux-android armv7-linux-androideabi x86_64-linux-android)
JNI_DIR=android/core-bindings/src/main/jniLibs
KOTLIN_DIR=android/core-bindings/src/main/kotlin

if ! cargo ndk --version >/dev/null 2>&1; then
    echo "cargo-ndk is missing: cargo install cargo-ndk" >&2
    exit 1
fi
if command -v rustup >/dev/null 2>&1; then
    rustup target add "${RUST_TARGETS[@]}"
fi

# 1. Kotlin bindings, in library mode, from an unstripped host build
#    (a stripped library has no UniFFI metadata).
cargo build -p authenticator-core
case "$(uname -s)" in
    Darwin) HOST_LIB=target/debug/libauthenticator_core.dylib ;;
    *)      HOST_LIB=target/debug/libauthenticator_core.so ;;
esac
# Only the generated file: OtpCode.kt beside it is hand-written (the OtpCode custom type).
rm -f "$KOTLIN_DIR/org/authcore/authenticator_core.kt"
mkdir -p "$KOTLIN_DIR"
cargo run -q -p uniffi-bindgen -- generate --no-format \
    --library "$HOST_LIB" --language kotlin --config uniffi.toml \
    --out-dir "$KOTLIN_DIR"

# 2. One shared library per ABI. 16 KiB page alignment for the 64-bit ABIs
#    (required by Google Play for apps targeting Android 15+; the NDK r28+ default).
export CARGO_TARGET_AARCH64_LINUX_ANDROID_RUSTFLAGS="${CARGO_TARGET_AARCH64_LINUX_ANDROID_RUSTFLAGS:-} -C link-arg=-Wl,-z,max-page-size=16384"
export CARGO_TARGET_X86_64_LINUX_ANDROID_RUSTFLAGS="${CARGO_TARGET_X86_64_LINUX_ANDROID_RUSTFLAGS:-} -C link-arg=-Wl,-z,max-page-size=16384"

ndk_args=()
for abi in "${ABIS[@]}"; do ndk_args+=(-t "$abi"); done
profile_args=()
if [ "$PROFILE" != "debug" ]; then profile_args+=(--profile "$PROFILE"); fi

find "$JNI_DIR" -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
mkdir -p "$JNI_DIR"
# `cargo rustc --crate-type cdylib` builds the shared library alone: built together with
# the rlib and staticlib of Cargo.toml's crate-type list, LTO must keep every Rust-public
# item, and the .so is ~0.9 MiB larger (tests/size-budget.sh measures this same build).
# The mobile profile strips; cargo-ndk strips the copied libraries too (unless --no-strip).
cargo ndk "${ndk_args[@]}" --platform "$MIN_API" -o "$JNI_DIR" \
    rustc -p authenticator-core --lib --crate-type cdylib ${profile_args[@]+"${profile_args[@]}"}

echo "Kotlin bindings: $KOTLIN_DIR/org/authcore"
for abi in "${ABIS[@]}"; do ls -l "$JNI_DIR/$abi/libauthenticator_core.so"; done
