#!/usr/bin/env bash
# Installs the Debian packages Coffer needs and that are missing: the engines and their backup
# tools (pgBackRest, mariadb-backup, zstd), HAProxy (the writer address of replica sets: each node
# runs its own), and for tests Trove's own clients and OpenStack Swift (an S3-compatible server
# through its s3api middleware, which test/helpers/swift.ts starts).
# Needs root or sudo; does nothing when everything is there.
#   scripts/install-system-deps.sh          engines only (make build / make up)
#   scripts/install-system-deps.sh --test   engines and the clients the tests drive
set -euo pipefail

packages=(postgresql-15 mariadb-server redis-server acl pgbackrest mariadb-backup zstd haproxy)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(python3-troveclient python3-openstackclient swift swift-proxy swift-account swift-container swift-object)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "installing ${missing[*]} needs root: run as root or install sudo" >&2; exit 1; }
  sudo="sudo"
fi
echo "installing Debian packages: ${missing[*]}" >&2
# Debian's packages would start their own servers on the default ports; Coffer runs its own
# engine processes and needs none of them, so service starts are refused during the install.
policy=/usr/sbin/policy-rc.d
added_policy=""
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee $policy >/dev/null && $sudo chmod +x $policy && added_policy=1
fi
trap '[[ -n "$added_policy" ]] && $sudo rm -f $policy' EXIT
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
