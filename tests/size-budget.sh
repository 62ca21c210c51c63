#!/usr/bin/env bash
# Size budget of the phone library: builds the host cdylib of authenticator-core the way
# android/build-rust.sh builds the Android .so (the `mobile` profile, the cdylib alone:
# `cargo rustc --crate-type cdylib`), prints its stripped size and what takes the space,
# and fails past the budget (4.5 MiB).
#
#   tests/size-budget.sh                  # SIZE_BUDGET_BYTES=... to try another budget
#
# One release build of the core. It is linked unstripped, so the crate table can be made
# from its symbols (`nm --size-sort`: `cargo bloat` cannot analyse a cdylib built alone,
# it always builds every crate type of Cargo.toml, and that library is ~0.9 MiB larger),
# then stripped here with `strip`, which gives 1 KiB less than the profile's own
# `strip = true` (measured: 4,684,888 against 4,685,912 bytes for the same build).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "[size-budget] $*" >&2; }

BUDGET=${SIZE_BUDGET_BYTES:-4718592}
case "$(uname -s)" in
    Darwin) LIB=target/mobile/libauthenticator_core.dylib ;;
    *)      LIB=target/mobile/libauthenticator_core.so ;;
esac
stripped=$(mktemp)
trap 'rm -f "$stripped"' EXIT

say "building the host cdylib with the mobile profile"
CARGO_PROFILE_MOBILE_STRIP=false \
    cargo rustc -q -p authenticator-core --lib --profile mobile --crate-type cdylib
strip -o "$stripped" "$LIB"
size=$(wc -c <"$stripped" | tr -d ' ')

echo "what takes the space (code and data symbols of the unstripped library, by crate):"
nm -S --size-sort -C "$LIB" | python3 -c '
import re, sys, collections
sizes = collections.Counter()
for line in sys.stdin:
    parts = line.rstrip("\n").split(None, 3)
    if len(parts) < 4 or parts[2] not in "tTrRdD":
        continue
    name = parts[3]
    m = re.search(r"([a-z_][a-z0-9_]*)::", name)
    if name.startswith("ring_core"):
        crate = "ring (C, assembly)"
    elif name.startswith("UNIFFI_META"):
        crate = "uniffi (metadata)"
    elif name.startswith(("uniffi_", "ffi_")):
        crate = "uniffi (exported functions)"
    elif m:
        crate = m.group(1)
    elif "::" not in name and not name.startswith("_"):
        crate = "[C: SQLite, libc glue, ...]"
    else:
        crate = "[other]"
    sizes[crate] += int(parts[1], 16)
total = sum(sizes.values())
for crate, size in sizes.most_common(25):
    print(f"  {size / 1024:9.1f} KiB  {100 * size / total:5.1f}%  {crate}")
print(f"  {total / 1024:9.1f} KiB         in named symbols")
'
echo
echo "sections of the stripped library (bytes):"
size -A "$stripped" | awk 'NR > 2 && $2 > 65536 {printf "  %-20s %9d\n", $1, $2}'
mib() { awk -v b="$1" 'BEGIN {printf "%.2f MiB", b / 1048576}'; }
echo
if [[ $size -le $BUDGET ]]; then
    echo "size-budget: $size bytes ($(mib "$size")), budget $BUDGET bytes ($(mib "$BUDGET")): ok"
else
    echo "size-budget: $size bytes ($(mib "$size")) is over the budget of $BUDGET bytes ($(mib "$BUDGET")) by $((size - BUDGET))"
    exit 1
fi
