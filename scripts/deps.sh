#!/usr/bin/env bash
# Installs the Debian packages openstrm needs to build, run and test, when they are missing.
# Usage: scripts/deps.sh [build|test]
set -euo pipefail
want=(meson ninja-build pkg-config gcc libfyaml-dev libzstd-dev libxxhash-dev libjansson-dev
      libpcre2-dev libsqlite3-dev libgnutls28-dev libpcap-dev)
if [ "${1:-build}" = test ]; then
    want+=(libcmocka-dev clang libclang-rt-14-dev python3 rsyslog rsyslog-gnutls gnutls-bin bsdutils
           util-linux procps iproute2 tcpdump tshark softflowd nfdump pmacct)
fi
missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
