#!/bin/sh
# Gives the BTF of a Debian 12 Linux kernel of another architecture or version than this machine's,
# for building and checking the shipped BPF objects against it. Prints the BTF file's path on stdout.
#
#   sh scripts/kernel-btf.sh arm64    the arm64 kernel: bpf/Makefile turns it into vmlinux/arm64/vmlinux.h
#                                     for the arm64 objects (make -C bpf ARCH=arm64 BTF=...)
#   sh scripts/kernel-btf.sh amd64    the x86-64 6.1 kernel: test/unit/arm64-bpf.test.ts checks the x64
#                                     objects against it (an older kernel than the build machine's)
#
# Source: Debian's linux-image-*-{arm64,amd64}-unsigned package (Debian 12's 6.1 kernel,
# CONFIG_DEBUG_INFO_BTF=y), fetched with apt-get download (for arm64, dpkg must know the arm64
# architecture: scripts/setup.sh --with-arm64). The package has no System.map and no vmlinux:
#   arm64: /boot/vmlinuz is the raw Image (no ELF sections), so the .BTF section is found by its
#          header (magic 0xeB9F, version 1, 24-byte header; exactly one in the image) and cut out;
#   amd64: /boot/vmlinuz is a bzImage holding the xz-compressed vmlinux ELF: decompressed from the
#          xz magic on, its .BTF section copied out with objcopy.
# Pinned: the package and the sha256 of the BTF cut from it. When Debian's mirror has dropped that
# version, the newest linux-image-*-ARCH-unsigned is taken instead and the script says so (the pin
# then does not apply): the objects are CO-RE, any kernel's BTF builds them; the pin makes a rebuild
# reproducible. Cached under ${XDG_CACHE_HOME:-~/.cache}/ebpf-sensor/kernel-btf/.
set -eu
ARCH=${1:-arm64}
case "$ARCH" in
  arm64) PIN_PKG=linux-image-6.1.0-57-arm64-unsigned PIN_SHA256=32f2fac545fabaa1df015df0ac0fc6b0b7f5f23d1d75e30f6dc843d3ea67d699 ;;
  amd64) PIN_PKG=linux-image-6.1.0-57-amd64-unsigned PIN_SHA256=88df2a1481426049964b47419038b1bb3322fbe608dbb7e49300451fe5ac194d ;;
  *) echo "kernel-btf: usage: kernel-btf.sh arm64|amd64" >&2; exit 2 ;;
esac
PIN_VERSION=6.1.192-3
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/ebpf-sensor/kernel-btf
say() { printf 'kernel-btf: %s\n' "$*" >&2; }

mkdir -p "$CACHE"
OUT=$CACHE/$PIN_PKG-$PIN_VERSION.btf
if [ -f "$OUT" ]; then echo "$OUT"; exit 0; fi

if [ "$ARCH" = arm64 ] && ! dpkg --print-foreign-architectures | grep -qx arm64 && [ "$(dpkg --print-architecture)" != arm64 ]; then
  say "dpkg does not know arm64 (sh scripts/setup.sh --with-arm64)"; exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pkg=$PIN_PKG version=$PIN_VERSION
if ! (cd "$tmp" && apt-get download -q "$pkg:$ARCH=$version" >/dev/null 2>&1); then
  pkg=$(apt-cache search --names-only "^linux-image-[0-9.]+-[0-9]+-$ARCH-unsigned\$" | awk '{print $1}' | sort -V | tail -1)
  [ -n "$pkg" ] || { say "apt knows no linux-image-*-$ARCH-unsigned"; exit 1; }
  say "pinned $PIN_PKG $PIN_VERSION not available: using $pkg (the sha256 pin does not apply)"
  (cd "$tmp" && apt-get download -q "$pkg:$ARCH" >/dev/null 2>&1) || { say "apt-get download $pkg:$ARCH failed"; exit 1; }
  version=$(dpkg-deb -f "$tmp"/*.deb Version)
  OUT=$CACHE/$pkg-$version.btf
fi
dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$tmp" --wildcards './boot/vmlinuz-*'
IMG=$(ls "$tmp"/boot/vmlinuz-*)
if [ "$ARCH" = amd64 ]; then
  off=$(node -e 'const d = require("fs").readFileSync(process.argv[1]); const i = d.indexOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])); if (i < 0) process.exit(1); console.log(i + 1)' "$IMG") ||
    { say "no xz-compressed kernel in $IMG"; exit 1; }
  tail -c "+$off" "$IMG" | xz -dc 2>/dev/null > "$tmp/vmlinux" || true   # xz stops at the payload's end; trailing bytes are not an error here
  objcopy -O binary --only-section=.BTF "$tmp/vmlinux" "$OUT.tmp"
  [ -s "$OUT.tmp" ] || { say "no .BTF section in the decompressed kernel"; exit 1; }
else
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
if (found.length !== 1) { console.error(`kernel-btf: expected one vmlinux BTF blob in ${img}, found ${found.length}`); process.exit(1); }
fs.writeFileSync(out, d.subarray(found[0][0], found[0][1]));
' "$IMG" "$OUT.tmp"
fi
sum=$(sha256sum "$OUT.tmp" | cut -d' ' -f1)
if [ "$pkg" = "$PIN_PKG" ] && [ "$sum" != "$PIN_SHA256" ]; then
  rm -f "$OUT.tmp"; say "BTF of $pkg $version has sha256 $sum, pinned $PIN_SHA256"; exit 1
fi
mv "$OUT.tmp" "$OUT"
say "$pkg $version: $(wc -c < "$OUT") bytes of BTF, sha256 $sum"
echo "$OUT"
