#!/usr/bin/env bash
# Browser test prerequisites on a fresh Debian machine (CI included), idempotent:
#  - Debian's chromium, which Playwright launches by executable path (no browser download);
#  - axe-core, fetched from the npm registry at a pinned version into .cache/axe-core
#    (npm checks the tarball's integrity; the MPL-2.0 file stays out of the repository).
# Prints nothing on success but the two paths, as KEY=VALUE lines.
set -euo pipefail
cd "$(dirname "$0")/.."
AXE_VERSION=4.14.1
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >&2
fi
AXE_DIR=.cache/axe-core/$AXE_VERSION
if [ ! -f "$AXE_DIR/axe.min.js" ]; then
  mkdir -p "$AXE_DIR"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "axe-core@$AXE_VERSION" >/dev/null)
  tar -xzf "$tmp"/axe-core-*.tgz -C "$tmp"
  cp "$tmp/package/axe.min.js" "$tmp/package/LICENSE" "$AXE_DIR/"
  rm -rf "$tmp"
fi
echo "THEMECODER_TEST_CHROMIUM=$(command -v chromium)"
echo "THEMECODER_TEST_AXE=$PWD/$AXE_DIR/axe.min.js"
