#!/usr/bin/env bash
# slirp.sh ARCH SYSROOT OUT - a static libslirp.a for ARCH (arm64, s390x),
# built from Debian's own libslirp source package: Debian ships no
# libslirp.a, and saevm's cross builds are fully static. Uses a private apt
# configuration with a deb-src line for the machine's own Debian mirror, so
# /etc/apt stays untouched. Idempotent.
set -euo pipefail
arch=$1; sysroot=$(realpath "$2"); out=$(realpath -m "$3")
# Optimised as Debian builds its own libslirp (dpkg-buildflags: -O2 -g);
# meson's default buildtype is -O0. The stamp names the build's options, so
# a library built with other ones is rebuilt.
buildtype=debugoptimized
[[ -f $out/lib/libslirp.a && $(cat "$out/.buildtype" 2>/dev/null) == "$buildtype" ]] && exit 0
case $arch in
  arm64) triple=aarch64-linux-gnu cpu=aarch64 endian=little;;
  s390x) triple=s390x-linux-gnu cpu=s390x endian=big;;
  *) echo "slirp.sh: unknown arch $arch" >&2; exit 2;;
esac
work=$(realpath -m "$out/../slirp-src"); mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial"
chmod -R 755 "$work"
mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[[ -n $mirror ]] || mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)
printf 'deb-src %s bookworm main\n' "$mirror" > "$work/apt/sources.list"
APT=(apt-get -q -o Dir::Etc::SourceList="$work/apt/sources.list" -o Dir::Etc::SourceParts=/nonexistent
     -o Dir::State::Lists="$work/apt/lists" -o Dir::Cache="$work/apt/cache" -o DPkg::Lock::Timeout=900)
if ! ls -d "$work"/libslirp-*/ >/dev/null 2>&1; then
  "${APT[@]}" update >&2
  (cd "$work" && "${APT[@]}" source libslirp >&2)
fi
src=$(ls -d "$work"/libslirp-*/ | head -1)
cat > "$work/cross-$arch.ini" <<INI
[binaries]
c = '$triple-gcc'
ar = '$triple-ar'
strip = '$triple-strip'
pkgconfig = 'pkg-config'
[properties]
pkg_config_libdir = '$sysroot/usr/lib/$triple/pkgconfig'
sys_root = '$sysroot'
[host_machine]
system = 'linux'
cpu_family = '$cpu'
cpu = '$cpu'
endian = '$endian'
INI
rm -rf "$work/build-$arch"
PKG_CONFIG_SYSROOT_DIR=$sysroot PKG_CONFIG_LIBDIR=$sysroot/usr/lib/$triple/pkgconfig \
  meson setup "$work/build-$arch" "$src" --cross-file "$work/cross-$arch.ini" \
  -Ddefault_library=static --buildtype=$buildtype --prefix="$out" --libdir=lib >&2
ninja -C "$work/build-$arch" install >&2
echo "$buildtype" > "$out/.buildtype"
