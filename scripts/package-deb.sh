#!/usr/bin/env bash
# Build the Debian package: target/debian/khidmat_<version>_<arch>.deb
#
#   scripts/package-deb.sh                      # a release build of this checkout
#   scripts/package-deb.sh --binary PATH        # package a binary already built
#   scripts/package-deb.sh --version 0.1.0-2    # another package version
#   scripts/package-deb.sh --fast               # light compression (the tests' packages)
#
# The package holds the binary (/usr/bin/khidmat), the systemd unit, the configuration
# (/etc/khidmat/khidmat.toml, a conffile: an upgrade keeps your edits), the operator's
# documents, and the maintainer scripts in deploy/debian/ (a `khidmat` system user, the data
# directory /var/lib/khidmat, a backup before every upgrade, data kept until purge). It needs
# only dpkg-deb: no cargo-deb, nothing from the network.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=""
version=""
compress=(-Zxz)
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="$2"; shift 2 ;;
    --version) version="$2"; shift 2 ;;
    --fast) compress=(-Zgzip -z1); shift ;;
    *) echo "unknown option $1 (see the head of $0)" >&2; exit 2 ;;
  esac
done
if [ -z "$version" ]; then
  version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
fi
if [ -z "$binary" ]; then
  echo "== cargo build --release"
  cargo build --release --locked --bin khidmat
  binary=target/release/khidmat
fi
[ -x "$binary" ] || { echo "$binary is not an executable" >&2; exit 1; }
arch=$(dpkg --print-architecture)
name="khidmat_${version}_${arch}"
stage="target/debian/$name"
rm -rf "$stage"
mkdir -p "$stage/DEBIAN"

install -D -m 0755 "$binary" "$stage/usr/bin/khidmat"
install -D -m 0644 deploy/systemd/khidmat.service "$stage/lib/systemd/system/khidmat.service"
install -D -m 0640 deploy/khidmat.toml "$stage/etc/khidmat/khidmat.toml"
install -D -m 0644 README.md "$stage/usr/share/doc/khidmat/README.md"
for doc in docs/*.md; do
  install -D -m 0644 "$doc" "$stage/usr/share/doc/khidmat/$(basename "$doc")"
done
cat >"$stage/usr/share/doc/khidmat/copyright" <<COPY
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: khidmat

Files: *
License: AGPL-3.0-or-later
COPY
for script in preinst postinst prerm postrm; do
  install -m 0755 "deploy/debian/$script" "$stage/DEBIAN/$script"
done
echo "/etc/khidmat/khidmat.toml" >"$stage/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat >"$stage/DEBIAN/control" <<CONTROL
Package: khidmat
Version: $version
Architecture: $arch
Maintainer: Khidmat maintainers <maintainers@khidmat.invalid>
Installed-Size: $size
Depends: libc6, adduser, passwd
Recommends: postgresql-client
Suggests: nginx | caddy
Section: web
Priority: optional
Description: civic services platform for Khyber Pakhtunkhwa
 One program for a province's public services: citizens' reports (Open311), a
 directory of public places (HSDS), applications, grants and their payments,
 cases across departments, open data (the CKAN API and DCAT), and the
 programme's impact figures; by web, SMS, USSD and voice, in Urdu, Pashto and
 English. Embedded SQLite serves a province; PostgreSQL takes it further.
CONTROL
mkdir -p target/debian
dpkg-deb --root-owner-group "${compress[@]}" --build "$stage" "target/debian/$name.deb" >/dev/null
echo "target/debian/$name.deb"
