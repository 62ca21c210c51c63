#!/usr/bin/env bash
# Runs every test of the project (the README's test command):
#   1. starts a real privacyIDEA 3.14 on 127.0.0.1 (tests/privacyidea/start.sh) and a real
#      eduMFA 2.9 on 127.0.0.1:5081 (tests/edumfa/start.sh), stops both at the end;
#   2. cargo test for the whole workspace (unit, integration, interop with PI_REQUIRED=1 and
#      EDUMFA_REQUIRED=1, CLI);
#   3. the OS-keystore test against a real Secret Service (private D-Bus session);
#   3b. the size budget of the phone library (tests/size-budget.sh: one mobile-profile build);
#   4. the Kotlin binding tests on the JVM and the Swift binding tests (XCTest in a Debian
#      trixie chroot);
#   5. every cargo-fuzz target for FUZZ_SECONDS (default 20) each (tests/run-fuzz.sh).
# Set SKIP_SWIFT=1 / SKIP_KOTLIN=1 / SKIP_FUZZ=1 to leave a suite out on a machine without it.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "[run-all] $*" >&2; }
export PI_BASE="${PI_BASE:-/tmp/privacyidea-local}"
export PI_URL="${PI_URL:-http://127.0.0.1:${PI_PORT:-5080}}"
export EDUMFA_BASE="${EDUMFA_BASE:-/tmp/edumfa-local}"
export EDUMFA_URL="${EDUMFA_URL:-http://127.0.0.1:${EDUMFA_PORT:-5081}}"

# What this run needs, checked before anything starts: a missing tool stops the run at
# once with one line naming it and the one command that installs it.
missing=0
need() {  # need TOOL "install command"
    if ! command -v "$1" >/dev/null 2>&1 && [[ ! -e "$1" && ! -L "$1" ]]; then
        echo "[run-all] missing: $1 -- install it with: $2" >&2
        missing=1
    fi
}
APT="apt-get update && apt-get install -y --no-install-recommends"
need cargo "the Rust toolchain (rustup)"
need python3 "$APT python3 python3-venv"
python3 -c 'import venv, ensurepip' 2>/dev/null || { echo "[run-all] missing: python3-venv -- install it with: $APT python3-venv" >&2; missing=1; }
need oathtool "$APT oathtool"
need dbus-run-session "$APT dbus"
need gnome-keyring-daemon "$APT gnome-keyring"
TOOLS="${BINDINGS_TOOLS:-/tmp/authcore-tools}"
if [[ "${SKIP_KOTLIN:-0}" != 1 ]]; then
    need java "tests/bindings/setup-toolchains.sh kotlin"
    need "$TOOLS/kotlin/node_modules/kotlin-compiler/bin/kotlinc" "tests/bindings/setup-toolchains.sh kotlin"
    [[ -f /usr/share/java/jna.jar ]] || { echo "[run-all] missing: JNA -- install it with: tests/bindings/setup-toolchains.sh kotlin" >&2; missing=1; }
fi
if [[ "${SKIP_SWIFT:-0}" != 1 ]]; then
    need "$TOOLS/trixie/usr/bin/swift" "tests/bindings/setup-toolchains.sh swift"
fi
if [[ $missing -ne 0 ]]; then
    echo "[run-all] stopping before any test: install the above (or run .ci/run, which installs everything), or set SKIP_KOTLIN=1 / SKIP_SWIFT=1" >&2
    exit 2
fi

cleanup() {
    tests/privacyidea/stop.sh >/dev/null 2>&1 || true
    tests/edumfa/stop.sh >/dev/null 2>&1 || true
}
trap cleanup EXIT

t0=$SECONDS
say "building the workspace"
cargo build -q --workspace --all-targets

say "starting privacyIDEA"
tests/privacyidea/start.sh >/dev/null
say "starting eduMFA"
tests/edumfa/start.sh >/dev/null

say "cargo test (workspace, interop required)"
PI_REQUIRED=1 EDUMFA_REQUIRED=1 cargo test --workspace 2>&1 | tee /tmp/authcore-cargo-test.log | grep -E '^(test result|running|error|failures|---- )|panicked' || true
status=${PIPESTATUS[0]}
[[ $status -eq 0 ]] || { say "cargo test failed"; tail -60 /tmp/authcore-cargo-test.log; exit 1; }

say "OS keystore (Secret Service)"
tests/run-os-keystore.sh

failed=0
say "size budget (tests/size-budget.sh)"
size_passed=0 size_failed=0
if tests/size-budget.sh | tee /tmp/authcore-size.log; then size_passed=1; else size_failed=1; fi

summary=/tmp/authcore-bindings.log
: > "$summary"
if [[ "${SKIP_KOTLIN:-0}" != 1 ]]; then
    say "Kotlin binding tests"
    AUTHCORE_NO_BUILD=1 tests/bindings/run-kotlin.sh | tee -a "$summary" || failed=1
fi
if [[ "${SKIP_SWIFT:-0}" != 1 ]]; then
    say "Swift binding tests"
    AUTHCORE_NO_BUILD=1 tests/bindings/run-swift.sh | tee -a "$summary" || failed=1
fi
if [[ "${SKIP_FUZZ:-0}" != 1 ]]; then
    say "fuzz targets, ${FUZZ_SECONDS:-20} s each"
    tests/run-fuzz.sh "${FUZZ_SECONDS:-20}" | tee -a "$summary" || failed=1
fi
count() {  # sums the N before "passed" (or "failed") over the test-result lines given on stdin
    awk -v word="$1" '{for (i = 2; i <= NF; i++) {w = $i; gsub(/[;,]/, "", w); if (w == word) s += $(i - 1)}} END {print s + 0}'
}
rust_passed=$(grep -E '^test result' /tmp/authcore-cargo-test.log | count passed)
rust_failed=$(grep -E '^test result' /tmp/authcore-cargo-test.log | count failed)
bind_passed=$(grep -E '^(kotlin|swift|fuzz): [0-9]+ passed' "$summary" | count passed)
bind_failed=$(grep -E '^(kotlin|swift|fuzz): [0-9]+ passed' "$summary" | count failed)
# The OS-keystore test is one more that passed (set -e stops the script if it fails); the
# size budget is one more that passed or failed.
say "done in $((SECONDS - t0)) s"
echo "total: $((rust_passed + bind_passed + 1 + size_passed)) passed, $((rust_failed + bind_failed + failed + size_failed)) failed"
exit $((failed | size_failed))
