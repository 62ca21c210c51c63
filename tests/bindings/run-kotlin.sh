#!/usr/bin/env bash
# Kotlin binding tests on the JVM: generates the Kotlin bindings of authenticator-core
# from the debug cdylib, compiles them with tests/bindings/kotlin/*.kt (kotlinc + JNA +
# JUnit 5), runs them with the JUnit console launcher and prints
#   kotlin: N passed, N failed[, N skipped]
# Exits non-zero on any failure, or when no test ran.
#
# Env: BINDINGS_TOOLS (default /tmp/authcore-tools, see setup-toolchains.sh),
#      AUTHCORE_NO_BUILD=1 to use target/debug/libauthenticator_core.so as it is,
#      PI_URL (default http://127.0.0.1:5080) and AUTHCORE_SKIP_INTEROP=1 for the push test.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
cd "$REPO"
TOOLS="${BINDINGS_TOOLS:-/tmp/authcore-tools}"
KOTLIN_HOME="$TOOLS/kotlin/node_modules/kotlin-compiler"
KOTLINC="$KOTLIN_HOME/bin/kotlinc"
LIB="target/debug/libauthenticator_core.so"
OUT="${KOTLIN_BUILD_DIR:-$REPO/build/bindings/kotlin}"
JAVA_LIBS=/usr/share/java
say() { echo "[run-kotlin] $*" >&2; }

if [[ ! -x "$KOTLINC" || ! -f $JAVA_LIBS/jna.jar || ! -f $JAVA_LIBS/junit-platform-console-standalone.jar ]]; then
    "$HERE/setup-toolchains.sh" kotlin >/dev/null
fi

t0=$SECONDS
if [[ "${AUTHCORE_NO_BUILD:-0}" != 1 ]]; then
    say "cargo build -p authenticator-core"
    cargo build -q -p authenticator-core
fi
[[ -f "$LIB" ]] || { say "$LIB is missing (cargo build -p authenticator-core)"; exit 1; }

rm -rf "$OUT"; mkdir -p "$OUT/gen"
say "generating Kotlin bindings from $LIB"
cargo run -q -p uniffi-bindgen -- generate --no-format --library "$LIB" \
    --language kotlin --config uniffi.toml --out-dir "$OUT/gen"
t_gen=$((SECONDS - t0))

t1=$SECONDS
mapfile -t SOURCES < <(find "$OUT/gen" -name '*.kt' | sort; ls "$REPO"/android/core-bindings/src/main/kotlin/org/authcore/*.kt "$HERE"/kotlin/*.kt)
CP="$JAVA_LIBS/jna.jar:$JAVA_LIBS/junit-jupiter-api.jar:$JAVA_LIBS/apiguardian-api.jar:$JAVA_LIBS/opentest4j.jar"
say "kotlinc ${#SOURCES[@]} files"
set +e
"$KOTLINC" -nowarn -jvm-target 17 -cp "$CP" -d "$OUT/tests.jar" "${SOURCES[@]}" 2>&1 | grep -v '^warning: ' >&2
krc=${PIPESTATUS[0]}
set -e
if [[ $krc -ne 0 || ! -f "$OUT/tests.jar" ]]; then say "compilation failed"; echo "kotlin: 0 passed, 1 failed"; exit 1; fi
t_compile=$((SECONDS - t1))

t2=$SECONDS
set +e
java -Djna.library.path="$REPO/$(dirname "$LIB")" \
    -jar $JAVA_LIBS/junit-platform-console-standalone.jar \
    -cp "$OUT/tests.jar:$KOTLIN_HOME/lib/kotlin-stdlib.jar:$JAVA_LIBS/jna.jar" \
    --scan-classpath "$OUT/tests.jar" --include-package org.authcore.tests \
    --disable-banner --disable-ansi-colors --details=tree \
    --reports-dir "$OUT/reports" 2>&1 | tee "$OUT/junit.log"
rc=${PIPESTATUS[0]}
set -e
t_run=$((SECONDS - t2))

count() {  # the number on the summary line "[   N tests <what>   ]"
    sed -n "s/^\[ *\([0-9][0-9]*\) $1 *\]$/\1/p" "$OUT/junit.log" | tail -1
}
passed=$(count "tests successful"); failed=$(count "tests failed")
aborted=$(count "tests aborted"); skipped=$(count "tests skipped")
cfailed=$(count "containers failed")
passed=${passed:-0}; failed=$(( ${failed:-0} + ${cfailed:-0} )); skipped=$(( ${aborted:-0} + ${skipped:-0} ))

say "timings: build+generate ${t_gen}s, compile ${t_compile}s, run ${t_run}s"
line="kotlin: $passed passed, $failed failed"
[[ $skipped -gt 0 ]] && line+=", $skipped skipped"
echo "$line"
if [[ $failed -gt 0 || $rc -ne 0 ]]; then exit 1; fi
if [[ $passed -eq 0 ]]; then say "no test ran"; exit 1; fi
