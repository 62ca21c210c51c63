#!/usr/bin/env bash
# Runs the OS-keystore test against a real Secret Service: a private D-Bus session with
# gnome-keyring unlocked by a throwaway password, under a temporary HOME.
set -euo pipefail
cd "$(dirname "$0")/.."
# rustup and cargo keep their homes; only the keyring sees the temporary HOME.
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
HOME="$home" dbus-run-session -- bash -c '
  echo -n throwaway-test-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  cargo test -q -p authenticator-core --test os_keystore -- --ignored
'
