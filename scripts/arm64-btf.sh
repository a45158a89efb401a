#!/bin/sh
# Gives the BTF of an arm64 Linux kernel, which bpf/Makefile turns into vmlinux/arm64/vmlinux.h for
# the arm64 BPF objects (make -C bpf ARCH=arm64 BTF=...). Prints the BTF file's path on stdout.
#
# Source: Debian's linux-image-*-arm64-unsigned package (Debian 12's 6.1 kernel, CONFIG_DEBUG_INFO_BTF=y),
# fetched with apt-get download (dpkg must know the arm64 architecture: scripts/setup.sh --with-arm64).
# Its /boot/vmlinuz is the raw arm64 Image (no ELF sections, no System.map in the package), so the
# .BTF section is found by its header (magic 0xeB9F, version 1, 24-byte header) and cut out whole.
# Pinned: the package below and the sha256 of the BTF cut from it. When Debian's mirror has dropped
# that version, the newest linux-image-*-arm64-unsigned is taken instead and the script says so: the
# objects are CO-RE, any arm64 kernel's BTF builds them; the pin makes a rebuild reproducible.
# Cached under ${XDG_CACHE_HOME:-~/.cache}/ebpf-sensor/arm64-btf/.
set -eu
PIN_PKG=linux-image-6.1.0-57-arm64-unsigned
PIN_VERSION=6.1.192-3
PIN_SHA256=32f2fac545fabaa1df015df0ac0fc6b0b7f5f23d1d75e30f6dc843d3ea67d699
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/ebpf-sensor/arm64-btf
say() { printf 'arm64-btf: %s\n' "$*" >&2; }

mkdir -p "$CACHE"
OUT=$CACHE/$PIN_PKG-$PIN_VERSION.btf
if [ -f "$OUT" ]; then echo "$OUT"; exit 0; fi

dpkg --print-foreign-architectures | grep -qx arm64 ||
  { say "dpkg does not know arm64 (sh scripts/setup.sh --with-arm64)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pkg=$PIN_PKG version=$PIN_VERSION
if ! (cd "$tmp" && apt-get download -q "$pkg:arm64=$version" >/dev/null 2>&1); then
  pkg=$(apt-cache search --names-only '^linux-image-[0-9.]+-[0-9]+-arm64-unsigned$' | awk '{print $1}' | sort -V | tail -1)
  [ -n "$pkg" ] || { say "apt knows no linux-image-*-arm64-unsigned"; exit 1; }
  say "pinned $PIN_PKG $PIN_VERSION not available: using $pkg (the sha256 pin will not match)"
  (cd "$tmp" && apt-get download -q "$pkg:arm64" >/dev/null 2>&1) || { say "apt-get download $pkg:arm64 failed"; exit 1; }
  version=$(dpkg-deb -f "$tmp"/*.deb Version)
  OUT=$CACHE/$pkg-$version.btf
fi
dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$tmp" --wildcards './boot/vmlinuz-*'
node -e '
const fs = require("fs");
const [img, out] = process.argv.slice(1);
const d = fs.readFileSync(img);
const magic = Buffer.from([0x9f, 0xeb, 0x01, 0x00, 0x18, 0x00, 0x00, 0x00]);
const found = [];
for (let i = d.indexOf(magic); i >= 0; i = d.indexOf(magic, i + 1)) {
  const typeOff = d.readUInt32LE(i + 8), typeLen = d.readUInt32LE(i + 12), strOff = d.readUInt32LE(i + 16), strLen = d.readUInt32LE(i + 20);
  const end = i + 24 + strOff + strLen;
  if (typeOff === 0 && strOff === typeLen && end <= d.length && typeLen > 1 << 20) found.push([i, end]);
}
if (found.length !== 1) { console.error(`arm64-btf: expected one vmlinux BTF blob in ${img}, found ${found.length}`); process.exit(1); }
fs.writeFileSync(out, d.subarray(found[0][0], found[0][1]));
' "$tmp"/boot/vmlinuz-* "$OUT.tmp"
sum=$(sha256sum "$OUT.tmp" | cut -d' ' -f1)
if [ "$pkg" = "$PIN_PKG" ] && [ "$sum" != "$PIN_SHA256" ]; then
  rm -f "$OUT.tmp"; say "BTF of $pkg $version has sha256 $sum, pinned $PIN_SHA256"; exit 1
fi
mv "$OUT.tmp" "$OUT"
say "$pkg $version: $(wc -c < "$OUT") bytes of BTF, sha256 $sum"
echo "$OUT"
