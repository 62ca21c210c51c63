#!/usr/bin/env bash
# Builds the iOS static libraries of authenticator-core, generates the Swift bindings
# and packs ios/AuthenticatorCore/AuthenticatorCoreFFI.xcframework.
#
# Needs macOS with Xcode (xcodebuild, lipo, the iOS SDKs) and rustup:
#   xcode-select --install            # or a full Xcode
#   ios/build-xcframework.sh
#
# Output:
#   ios/AuthenticatorCore/AuthenticatorCoreFFI.xcframework
#       ios-arm64/                       libauthenticator_core.a (device)
#       ios-arm64_x86_64-simulator/      libauthenticator_core.a (lipo of both simulators)
#       each with Headers/AuthenticatorCoreFFI/{AuthenticatorCoreFFI.h,module.modulemap}
#   the generated AuthenticatorCore.swift copied into the package's Swift target
#   (an existing AuthenticatorCore.swift under ios/AuthenticatorCore, else
#   ios/AuthenticatorCore/Sources/AuthenticatorCore/AuthenticatorCore.swift)
set -euo pipefail

if [ "$(uname -s)" != "Darwin" ]; then
    echo "build-xcframework.sh needs macOS with Xcode (xcodebuild, lipo)." >&2
    exit 1
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PKG=ios/AuthenticatorCore
XCFRAMEWORK="$PKG/AuthenticatorCoreFFI.xcframework"
LIB=libauthenticator_core.a
DEVICE=aarch64-apple-ios
SIMS="aarch64-apple-ios-sim x86_64-apple-ios"
GEN=target/uniffi-swift
HEADERS=target/uniffi-swift-headers
SIM_FAT=target/ios-simulator-universal/mobile

export IPHONEOS_DEPLOYMENT_TARGET=14.0

rustup target add $DEVICE $SIMS

# 1. Static libraries with the workspace's `mobile` profile (Cargo.toml: opt-level "z", fat
#    LTO, one codegen unit, panic = unwind), the profile the Android build uses too, each
#    built alone (`--crate-type staticlib`): built with the rlib, LTO keeps every
#    Rust-public item.
PROFILE=mobile
for target in $DEVICE $SIMS; do
    cargo rustc -p authenticator-core --lib --crate-type staticlib --profile "$PROFILE" --target "$target"
done

# 2. Swift bindings in library mode, from the unstripped host build.
cargo build -p authenticator-core
rm -rf "$GEN" && mkdir -p "$GEN"
cargo run -q -p uniffi-bindgen -- generate --no-format \
    --library target/debug/libauthenticator_core.dylib --language swift --config uniffi.toml \
    --out-dir "$GEN"

# 3. Headers: the C header and the module map (renamed module.modulemap), in a
#    subdirectory so they cannot collide with other xcframeworks' module maps.
rm -rf "$HEADERS" && mkdir -p "$HEADERS/AuthenticatorCoreFFI"
cp "$GEN/AuthenticatorCoreFFI.h" "$HEADERS/AuthenticatorCoreFFI/"
cp "$GEN/AuthenticatorCoreFFI.modulemap" "$HEADERS/AuthenticatorCoreFFI/module.modulemap"

# 4. One simulator library for arm64 + x86_64.
mkdir -p "$SIM_FAT"
sim_libs=()
for target in $SIMS; do sim_libs+=("target/$target/$PROFILE/$LIB"); done
lipo -create "${sim_libs[@]}" -output "$SIM_FAT/$LIB"

# 5. The XCFramework.
mkdir -p "$PKG"
rm -rf "$XCFRAMEWORK"
xcodebuild -create-xcframework \
    -library "target/$DEVICE/$PROFILE/$LIB" -headers "$HEADERS" \
    -library "$SIM_FAT/$LIB" -headers "$HEADERS" \
    -output "$XCFRAMEWORK"

# 6. The generated Swift goes into the package's Swift target; the header also
#    refreshes any copy kept for the package's .systemLibrary target (Linux tests).
swift_dest="$(find "$PKG" -name AuthenticatorCore.swift -not -path '*/.build/*' -print | head -n 1)"
if [ -z "$swift_dest" ]; then
    swift_dest="$PKG/Sources/AuthenticatorCore/AuthenticatorCore.swift"
    mkdir -p "$(dirname "$swift_dest")"
fi
cp "$GEN/AuthenticatorCore.swift" "$swift_dest"
find "$PKG" -name AuthenticatorCoreFFI.h -not -path '*.xcframework/*' -not -path '*/.build/*' -print |
    while read -r header; do cp "$GEN/AuthenticatorCoreFFI.h" "$header"; done

echo "Built $XCFRAMEWORK"
echo "Swift bindings: $swift_dest"
