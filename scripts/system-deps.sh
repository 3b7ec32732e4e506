#!/usr/bin/env bash
# Debian packages the tests use: a real OSC client and receiver (liblo-tools), headless Chromium and its
# driver for the browser tests, socat. Installs only what is missing.
set -euo pipefail
need=()
# liblo-tools: oscsend (OSC in) and oscdump (feedback out)
{ command -v oscsend && command -v oscdump; } >/dev/null 2>&1 || need+=(liblo-tools)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
command -v socat >/dev/null 2>&1 || need+=(socat)
[ ${#need[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing Debian packages: ${need[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-upgrade --no-install-recommends "${need[@]}"
