#!/usr/bin/env bash
# fetch-src.sh - the source tarball of `make bench`'s developer step: the
# upstream source of Debian 12's busybox (2,768 files, 12 MiB), as a plain
# tar (no compression: the step measures the share, not gunzip). Taken
# with apt-get source through a private apt configuration (a deb-src line
# for the machine's own Debian mirror), so /etc/apt stays untouched.
# Idempotent: a cached tarball is reused. Prints its path.
#
#   tests/rig/fetch-src.sh [CACHE]   CACHE as for fetch.sh
set -euo pipefail
CACHE=${1:-${SAEVM_RIG_CACHE:-$HOME/.cache/saevm-rig}}
S=$CACHE/src
if [[ -f $S/source.tar ]]; then echo "$S/source.tar"; exit 0; fi
rm -rf "$S"; mkdir -p "$S/apt/lists/partial" "$S/apt/cache/archives/partial" "$S/dl"; chmod -R 755 "$S"
mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[[ -n $mirror ]] || mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)
printf 'deb-src %s bookworm main\n' "$mirror" > "$S/apt/sources.list"
APT=(apt-get -q -o Dir::Etc::SourceList="$S/apt/sources.list" -o Dir::Etc::SourceParts=/nonexistent
     -o Dir::State::Lists="$S/apt/lists" -o Dir::Cache="$S/apt/cache" -o DPkg::Lock::Timeout=900)
"${APT[@]}" update >&2
(cd "$S/dl" && "${APT[@]}" source --download-only busybox >&2)
bzip2 -dc "$S"/dl/busybox_*.orig.tar.bz2 > "$S/source.tar.part"
mv "$S/source.tar.part" "$S/source.tar"
rm -rf "$S/apt" "$S/dl"
echo "$S/source.tar"
