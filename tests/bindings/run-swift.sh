#!/usr/bin/env bash
# Swift binding tests on Linux: generates the Swift bindings of authenticator-core from
# the debug cdylib into the SwiftPM package ios/AuthenticatorCore, then runs its XCTest
# tests with `swift test` inside the Debian trixie chroot made by setup-toolchains.sh
# (the repository is bind-mounted at /src; every mount is undone on exit, also on failure).
# Prints
#   swift: N passed, N failed[, N skipped]
# and exits non-zero on any failure, or when no test ran.
#
# Env: BINDINGS_TOOLS (default /tmp/authcore-tools), SWIFT_SCRATCH (SwiftPM's build
#      dir inside the chroot, default /var/tmp/authcore-swiftpm), AUTHCORE_NO_BUILD=1 to use
#      target/debug/libauthenticator_core.so as it is, PI_URL (default
#      http://127.0.0.1:5080) and AUTHCORE_SKIP_INTEROP=1 for the push test.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
cd "$REPO"
TOOLS="${BINDINGS_TOOLS:-/tmp/authcore-tools}"
ROOT="$TOOLS/trixie"
PKG="ios/AuthenticatorCore"
LIB="target/debug/libauthenticator_core.so"
OUT="${SWIFT_BUILD_DIR:-$REPO/build/bindings/swift}"
# SwiftPM's build dir, inside the chroot (kept for incremental builds); SWIFT_SCRATCH
# gives another one, so two checkouts on one machine do not share (and clobber) it.
SCRATCH="${SWIFT_SCRATCH:-/var/tmp/authcore-swiftpm}"
say() { echo "[run-swift] $*" >&2; }

if [[ ! -f "$ROOT/.authcore-swift-ready" ]]; then
    "$HERE/setup-toolchains.sh" swift >/dev/null
fi

t0=$SECONDS
if [[ "${AUTHCORE_NO_BUILD:-0}" != 1 ]]; then
    say "cargo build -p authenticator-core"
    cargo build -q -p authenticator-core
fi
[[ -f "$LIB" ]] || { say "$LIB is missing (cargo build -p authenticator-core)"; exit 1; }

rm -rf "$OUT"; mkdir -p "$OUT/gen"
say "generating Swift bindings from $LIB"
cargo run -q -p uniffi-bindgen -- generate --no-format --library "$LIB" \
    --language swift --config uniffi.toml --out-dir "$OUT/gen"
cp "$OUT/gen/AuthenticatorCore.swift" "$PKG/Sources/AuthenticatorCore/AuthenticatorCore.swift"
cp "$OUT/gen/AuthenticatorCoreFFI.h" "$PKG/Sources/AuthenticatorCoreFFI/AuthenticatorCoreFFI.h"
cp "$OUT/gen/AuthenticatorCoreFFI.modulemap" "$PKG/Sources/AuthenticatorCoreFFI/module.modulemap"
t_gen=$((SECONDS - t0))

# ------------------------------------------------------------------ chroot mounts
exec 9>"$TOOLS/run-swift.lock"
flock 9   # one run at a time uses the chroot's mounts
MOUNTED=()
cleanup() {
    local i
    for ((i=${#MOUNTED[@]}-1; i>=0; i--)); do
        umount "${MOUNTED[$i]}" 2>/dev/null || umount -l "${MOUNTED[$i]}" 2>/dev/null \
            || say "could not unmount ${MOUNTED[$i]}"
    done
    MOUNTED=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
bind() {  # bind <host dir> <dir in chroot>
    mkdir -p "$ROOT$2"
    if mountpoint -q "$ROOT$2"; then umount "$ROOT$2" || umount -l "$ROOT$2"; fi  # left by a killed run
    mount --bind "$1" "$ROOT$2"
    MOUNTED+=("$ROOT$2")
}
for d in proc sys dev; do bind "/$d" "/$d"; done
bind "$REPO" /src
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true

# ------------------------------------------------------------------ swift test
t1=$SECONDS
LIBDIR="/src/$(dirname "$LIB")"
set +e
chroot "$ROOT" /usr/bin/env -i \
    PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 \
    PI_URL="${PI_URL:-}" AUTHCORE_SKIP_INTEROP="${AUTHCORE_SKIP_INTEROP:-}" \
    PI_ADMIN_USER="${PI_ADMIN_USER:-admin}" PI_ADMIN_PASS="${PI_ADMIN_PASS:-admin-secret}" PI_REALM="${PI_REALM:-defrealm}" \
    LD_LIBRARY_PATH="$LIBDIR" \
    sh -c "cd /src/$PKG && swift test --scratch-path $SCRATCH -Xlinker -L$LIBDIR --disable-swift-testing" \
    2>&1 | tee "$OUT/swift-test.log"
rc=${PIPESTATUS[0]}
set -e
t_run=$((SECONDS - t1))

passed=$(grep -cE "^Test Case '.*' passed \(" "$OUT/swift-test.log" || true)
failed=$(grep -cE "^Test Case '.*' failed \(" "$OUT/swift-test.log" || true)
skipped=$(grep -cE "^Test Case '.*' skipped \(" "$OUT/swift-test.log" || true)
if [[ $rc -ne 0 && $failed -eq 0 ]]; then failed=1; fi   # build error or crash: no per-test line

say "timings: build+generate ${t_gen}s, swift build+test ${t_run}s"
line="swift: $passed passed, $failed failed"
[[ $skipped -gt 0 ]] && line+=", $skipped skipped"
echo "$line"
if [[ $failed -gt 0 || $rc -ne 0 ]]; then exit 1; fi
if [[ $passed -eq 0 ]]; then say "no test ran"; exit 1; fi
