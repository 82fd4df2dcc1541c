#!/usr/bin/env bash
# Xen's own stream tools, for the Xen tests: verify-stream-v2 and convert-legacy-stream with
# their xen.migration package. Debian's xen-utils-4.17 ships them as pure Python, so the
# package is only downloaded and unpacked (no hypervisor, nothing installed):
#   build/tools/xen-4.17/usr/lib/xen-4.17/{bin,lib/python}
# Usage: .ci/get-xen-tools.sh [DEST]   (default: build/tools/xen-4.17 of this repository)
set -euo pipefail
cd "$(dirname "$0")/.."
dest="${1:-build/tools/xen-4.17}"
bin="$dest/usr/lib/xen-4.17/bin"
if [ -x "$bin/verify-stream-v2" ] && [ -x "$bin/convert-legacy-stream" ]; then exit 0; fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"   # apt's _apt user downloads into it
download() { (cd "$work" && apt-get -o DPkg::Lock::Timeout=600 -q download xen-utils-4.17 >/dev/null 2>&1); }
if ! download; then
  apt-get -o DPkg::Lock::Timeout=600 -q update >/dev/null
  download
fi
mkdir -p "$dest"
dpkg -x "$work"/xen-utils-4.17_*.deb "$dest"
test -x "$bin/verify-stream-v2"
