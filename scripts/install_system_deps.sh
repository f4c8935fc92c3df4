#!/usr/bin/env bash
# Debian packages the test suite and the offline Android build need. Idempotent: apt runs
# only when something is missing. Needs root (CI and our dev machines run as root).
set -euo pipefail
PACKAGES=(
  junit4 aapt zipalign apksigner adb        # offline APK build + host JUnit tests (android_demo)
  g++-aarch64-linux-gnu qemu-user           # arm64 ternary kernel, cross-built and run under qemu
  clang libclang-rt-14-dev                  # libFuzzer + sanitizers for the ternary blob parser
  chromium                                  # headless check of `dynaedge report --html` pages
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install_system_deps: missing Debian packages: ${missing[*]}; run as root: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "install_system_deps: installing ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
