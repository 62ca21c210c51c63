#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a short fixed time (CI's fuzz step):
#   tests/run-fuzz.sh [SECONDS]     (default 20 s per target)
# Installs cargo-fuzz if missing, builds all targets once (libFuzzer + AddressSanitizer,
# debug assertions and overflow checks on), then runs each one seeded from
# fuzz/seeds/<target>/ into the (ignored) corpus fuzz/corpus/<target>/, FUZZ_JOBS targets
# at a time (default: one per core). Any crash, panic, timeout (-timeout, default 10 s per
# input) or over-limit allocation fails that target; libFuzzer leaves the input in
# fuzz/artifacts/<target>/. The last line is `fuzz: N passed, N failed`, one per target.
# Environment: FUZZ_TARGETS="a b" runs only those; FUZZ_TIMEOUT changes -timeout;
# FUZZ_QR_MALLOC_MB caps one allocation of qr_image; FUZZ_TARGET_DIR is where the
# instrumented build is kept between runs (outside the checkout, so that a fresh clone
# on the same machine, as CI's is, rebuilds only the core and the targets).
set -uo pipefail
cd "$(dirname "$0")/.."
say() { echo "[run-fuzz] $*" >&2; }
secs="${1:-20}"
[[ "$secs" =~ ^[0-9]+$ ]] || { echo "usage: tests/run-fuzz.sh [SECONDS]" >&2; exit 2; }
jobs="${FUZZ_JOBS:-$(nproc)}"
target_dir="${FUZZ_TARGET_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/authcore-fuzz-target}"

# cargo fuzz passes nightly-only flags (-Zsanitizer=address, ...); the machine has one
# stable toolchain, whose rustc accepts them with RUSTC_BOOTSTRAP=1.
export RUSTC_BOOTSTRAP=1
t0=$SECONDS
if ! cargo fuzz --version >/dev/null 2>&1; then
    say "installing cargo-fuzz"
    if ! cargo install cargo-fuzz --locked -q; then
        say "could not install cargo-fuzz"
        echo "fuzz: 0 passed, 1 failed"
        exit 1
    fi
    say "installed in $((SECONDS - t0)) s"
fi

cd fuzz
t1=$SECONDS
say "building every target (ASAN) in $target_dir"
if ! cargo fuzz build --target-dir "$target_dir" >/tmp/authcore-fuzz-build.log 2>&1; then
    tail -40 /tmp/authcore-fuzz-build.log >&2
    say "cargo fuzz build failed"
    echo "fuzz: 0 passed, 1 failed"
    exit 1
fi
say "built in $((SECONDS - t1)) s"

run_target() {  # one target for $secs; its exit code and a summary go to files
    local t=$1 limits=""
    # Images stay small: a bomb needs only a few hundred bytes, and big inputs are slow.
    # One allocation past FUZZ_QR_MALLOC_MB fails it; the image crate's own default
    # limit is 512 MiB, so the default here is libFuzzer's 2048 until decoding is bounded
    # tighter (then set 256, the issue's peak for a decompression bomb).
    [[ "$t" == qr_image ]] && limits="-max_len=4096 -malloc_limit_mb=${FUZZ_QR_MALLOC_MB:-2048}"
    mkdir -p "corpus/$t"
    local log="/tmp/authcore-fuzz-$t.log" start=$SECONDS
    # shellcheck disable=SC2086  # limits is a list of flags or nothing
    cargo fuzz run --target-dir "$target_dir" "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$secs" -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb=2048 \
        -print_final_stats=1 $limits >"$log" 2>&1
    local rc=$?
    local runs
    runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo "?")
    echo "$rc" >"$log.rc"
    if [[ $rc -eq 0 ]]; then
        say "$t: ok, $runs inputs in $((SECONDS - start)) s"
    else
        say "$t: FAILED after $((SECONDS - start)) s (log $log); the input is in fuzz/artifacts/$t/:"
        grep -E 'ERROR|panicked|Test unit written|SUMMARY|Reproduce|Minimize' "$log" | head -20 >&2
    fi
}

targets="${FUZZ_TARGETS:-$(cargo fuzz list)}"
t2=$SECONDS
for t in $targets; do
    rm -f "/tmp/authcore-fuzz-$t.log.rc"
    while [[ $(jobs -rp | wc -l) -ge $jobs ]]; do wait -n; done
    run_target "$t" &
done
wait
passed=0
failed=0
for t in $targets; do
    if [[ "$(cat "/tmp/authcore-fuzz-$t.log.rc" 2>/dev/null)" == 0 ]]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
done
say "ran for $((SECONDS - t2)) s, $jobs at a time; $((SECONDS - t0)) s in all"
echo "fuzz: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
