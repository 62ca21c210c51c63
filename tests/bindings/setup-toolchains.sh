#!/usr/bin/env bash
# Installs what the binding tests need on a Debian 12 machine (idempotent):
#   * JVM side: a JDK, JNA and JUnit 5 from apt, kotlinc from npm (kotlin-compiler)
#     into $BINDINGS_TOOLS/kotlin;
#   * Swift side: a Debian trixie chroot at $BINDINGS_TOOLS/trixie with swiftlang
#     (Debian 12 has no Swift, trixie's needs a newer libc than bookworm's).
#
#   BINDINGS_TOOLS=/tmp/authcore-tools tests/bindings/setup-toolchains.sh [kotlin|swift|all]
#
# Prints the tool locations at the end. Safe to re-run: finished steps are skipped.
set -euo pipefail

TOOLS="${BINDINGS_TOOLS:-/tmp/authcore-tools}"
KOTLIN_VERSION="${KOTLIN_COMPILER_VERSION:-2.4.20}"
ROOT="$TOOLS/trixie"
WHAT="${1:-all}"
say() { echo "[setup-toolchains] $*" >&2; }

mkdir -p "$TOOLS"

apt_updated=0
apt_install() {  # installs the given packages if any is missing
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    if [[ $apt_updated -eq 0 ]]; then apt-get update -qq; apt_updated=1; fi
    say "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ------------------------------------------------------------------ Kotlin / JVM
setup_kotlin() {
    command -v java >/dev/null || apt_install openjdk-17-jre-headless
    command -v npm >/dev/null || apt_install npm
    apt_install libjna-java junit5
    local kdir="$TOOLS/kotlin"
    local kotlinc="$kdir/node_modules/kotlin-compiler/bin/kotlinc"
    if [[ -x "$kotlinc" ]] && grep -q "\"version\": \"$KOTLIN_VERSION\"" "$kdir/node_modules/kotlin-compiler/package.json" 2>/dev/null; then
        say "kotlinc $KOTLIN_VERSION already in $kdir"
    else
        local t0=$SECONDS
        say "npm install kotlin-compiler@$KOTLIN_VERSION into $kdir"
        mkdir -p "$kdir"
        [[ -f "$kdir/package.json" ]] || echo '{"name":"authcore-binding-tools","private":true}' > "$kdir/package.json"
        npm install --prefix "$kdir" --no-audit --no-fund --loglevel=error "kotlin-compiler@$KOTLIN_VERSION" >&2
        chmod +x "$kdir"/node_modules/kotlin-compiler/bin/* 2>/dev/null || true
        say "kotlinc installed in $((SECONDS - t0)) s"
    fi
    echo "kotlinc: $kotlinc"
}

# ------------------------------------------------------------------ Swift chroot
mirror() {  # first URIs: entry of the machine's deb822 sources (or a one-line sources.list)
    local m=""
    if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
        m="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)"
    fi
    if [[ -z "$m" && -f /etc/apt/sources.list ]]; then
        m="$(awk '$1=="deb" && $2 !~ /^\[/ {print $2; exit}' /etc/apt/sources.list)"
    fi
    echo "${m:-http://deb.debian.org/debian}"
}

MOUNTED=()
cleanup_mounts() {
    local i
    for ((i=${#MOUNTED[@]}-1; i>=0; i--)); do
        umount "${MOUNTED[$i]}" 2>/dev/null || umount -l "${MOUNTED[$i]}" 2>/dev/null || true
    done
    MOUNTED=()
}

setup_swift() {
    apt_install debootstrap debian-archive-keyring
    local m; m="$(mirror)"
    if [[ -x "$ROOT/usr/libexec/swift/bin/swift" && -f "$ROOT/.authcore-swift-ready" ]]; then
        say "swift chroot ready at $ROOT (swiftlang $(chroot "$ROOT" dpkg-query -W -f="\${Version}" swiftlang 2>/dev/null))"
    else
        local t0=$SECONDS
        if [[ ! -f "$ROOT/.authcore-debootstrap-done" ]]; then
            # a half-made chroot from an interrupted run: make sure nothing is mounted, start again
            for d in src dev sys proc; do mountpoint -q "$ROOT/$d" 2>/dev/null && umount -l "$ROOT/$d"; done
            rm -rf "$ROOT"
            say "debootstrap trixie from $m into $ROOT"
            debootstrap --variant=minbase trixie "$ROOT" "$m" >"$TOOLS/debootstrap.log" 2>&1 \
                || { tail -20 "$TOOLS/debootstrap.log" >&2; exit 1; }
            touch "$ROOT/.authcore-debootstrap-done"
            say "debootstrap took $((SECONDS - t0)) s"
        fi
        echo "deb $m trixie main" > "$ROOT/etc/apt/sources.list"
        rm -f "$ROOT/etc/apt/sources.list.d/debian.sources"
        cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
        trap cleanup_mounts EXIT
        for d in proc sys dev; do
            mount --bind "/$d" "$ROOT/$d"; MOUNTED+=("$ROOT/$d")
        done
        local t1=$SECONDS
        say "installing swiftlang in the chroot"
        chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
            sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends swiftlang libc6-dev ca-certificates >/dev/null && apt-get clean' \
            >"$TOOLS/swift-install.log" 2>&1 || { tail -20 "$TOOLS/swift-install.log" >&2; exit 1; }
        cleanup_mounts
        trap - EXIT
        touch "$ROOT/.authcore-swift-ready"
        say "swiftlang installed in $((SECONDS - t1)) s (swiftlang $(chroot "$ROOT" dpkg-query -W -f="\${Version}" swiftlang 2>/dev/null))"
    fi
    mkdir -p "$ROOT/src"
    echo "swift chroot: $ROOT"
}

case "$WHAT" in
    kotlin) setup_kotlin ;;
    swift)  setup_swift ;;
    all)    setup_kotlin; setup_swift ;;
    *) echo "usage: $0 [kotlin|swift|all]" >&2; exit 2 ;;
esac
