#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, if they are missing:
#   chromium   headless browser tests, and its SwiftShader Vulkan driver for WebGPU in Node
#   libvulkan1 the Vulkan loader Dawn (the `webgpu` npm package) opens
# Needs root (or sudo) the first time; afterwards it only checks.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1' || missing+=(libvulkan1)
if [ ${#missing[@]} -eq 0 ]; then
  echo "ensure-system: chromium and libvulkan1 present"
  exit 0
fi
echo "ensure-system: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "ensure-system: done"
