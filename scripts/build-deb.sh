#!/bin/sh
# Builds the Debian package with dpkg-deb, from what npm pack ships plus the production npm
# dependencies:
#   /usr/lib/ebpf-sensor/          the package (dist, bin, rules, schemas, CO-RE objects, prebuilt addon, node_modules)
#   /usr/bin/ebpf-sensor           -> ../lib/ebpf-sensor/bin/ebpf-sensor.js
#   /lib/systemd/system/ebpf-sensor.service   hardened unit (packaging/systemd)
#   /usr/lib/tmpfiles.d/ebpf-sensor.conf      /var/lib/ebpf-sensor, /var/log/ebpf-sensor (0750 root)
#   /etc/ebpf-sensor/config.yaml   conffile, root:root 0640; /etc/ebpf-sensor/rules.d/ for site rules
#   /usr/share/doc/ebpf-sensor/    README, CHANGELOG, copyright
# No logrotate entry: the sensor rotates its output files itself (output.maxFileBytes/keepFiles)
# and logs to stderr, i.e. the systemd journal.
#
#   sh scripts/build-deb.sh [OUTDIR]     (default OUTDIR: dist/deb) — prints the .deb's path
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUTDIR=${1:-dist/deb}
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
say() { printf 'build-deb: %s\n' "$*" >&2; }

VERSION=$(node -p 'require("./package.json").version')
ARCH=$(dpkg --print-architecture)
WORK=$(mktemp -d /tmp/ebpf-sensor-deb.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
STAGE=$WORK/root
LIB=$STAGE/usr/lib/ebpf-sensor

# What npm ships (prepack builds the objects, the prebuilt addon and dist).
say "npm pack"
TARBALL=$(npm pack --silent --pack-destination "$WORK" | tail -1)
mkdir -p "$LIB"
tar xzf "$WORK/$TARBALL" -C "$LIB" --strip-components=1
rm -rf "$LIB/native/src" "$LIB/native/binding.gyp"
# A .deb is for one architecture: only its BPF objects and addon (the npm tarball carries x64 and arm64).
NODE_ARCH=$(node -p 'process.arch')
for d in "$LIB"/bpf/.output/*/; do [ "$(basename "$d")" = "$NODE_ARCH" ] || rm -rf "$d"; done
for d in "$LIB"/native/prebuilds/*/; do [ "$(basename "$d")" = "linux-$NODE_ARCH" ] || rm -rf "$d"; done
# Production dependencies only, exactly as locked; nothing is compiled (--ignore-scripts).
cp package-lock.json "$LIB/"
say "npm ci --omit=dev"
(cd "$LIB" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error >&2)
rm -f "$LIB/package-lock.json" "$LIB/node_modules/.package-lock.json"

install -d "$STAGE/usr/bin"
ln -s ../lib/ebpf-sensor/bin/ebpf-sensor.js "$STAGE/usr/bin/ebpf-sensor"
install -D -m 0644 packaging/systemd/ebpf-sensor.service "$STAGE/lib/systemd/system/ebpf-sensor.service"
install -D -m 0644 packaging/etc/tmpfiles.conf "$STAGE/usr/lib/tmpfiles.d/ebpf-sensor.conf"
install -D -m 0640 packaging/etc/config.yaml "$STAGE/etc/ebpf-sensor/config.yaml"
install -d -m 0755 "$STAGE/etc/ebpf-sensor/rules.d"
install -D -m 0644 README.md "$STAGE/usr/share/doc/ebpf-sensor/README.md"
gzip -9n < CHANGELOG.md > "$WORK/changelog.gz"
install -m 0644 "$WORK/changelog.gz" "$STAGE/usr/share/doc/ebpf-sensor/changelog.gz"
printf 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: ebpf-sensor\n\nFiles: *\nLicense: Apache-2.0\n\nFiles: bpf/*\nLicense: GPL-2.0-only\n\nFiles: usr/lib/ebpf-sensor/native/prebuilds/*\nComment: statically links libbpf (LGPL-2.1 OR BSD-2-Clause)\n' \
  > "$STAGE/usr/share/doc/ebpf-sensor/copyright"

# Modes: directories 0755, files 0644 unless executable; the config stays 0640.
find "$STAGE" -type d -exec chmod 0755 {} +
find "$STAGE" -type f -perm /111 -exec chmod 0755 {} +
find "$STAGE" -type f ! -perm /111 -exec chmod 0644 {} +
chmod 0640 "$STAGE/etc/ebpf-sensor/config.yaml"

install -d "$STAGE/DEBIAN"
SIZE=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@SIZE@/$SIZE/" packaging/deb/control.in > "$STAGE/DEBIAN/control"
echo /etc/ebpf-sensor/config.yaml > "$STAGE/DEBIAN/conffiles"
for s in postinst prerm postrm; do install -m 0755 "packaging/deb/$s" "$STAGE/DEBIAN/$s"; done
(cd "$STAGE" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | sort | xargs -d '\n' md5sum) > "$STAGE/DEBIAN/md5sums"
chmod 0644 "$STAGE/DEBIAN/control" "$STAGE/DEBIAN/conffiles" "$STAGE/DEBIAN/md5sums"

DEB="$OUTDIR/ebpf-sensor_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zgzip --build "$STAGE" "$DEB" >&2
say "built $DEB"
echo "$DEB"
