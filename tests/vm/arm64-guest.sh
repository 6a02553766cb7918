#!/bin/bash
# The arm64 guest's own programs, for make vmtest-arm64 / bench-vm-arm64.
#
#   tests/vm/arm64-guest.sh [DIR]      (default: $KBUILD_DIR/arm64-guest)
#
# The arm64 guest boots with the host's root shared read-only over 9p, like
# the x86 one: the project's cross-built binaries (build-arm64/) and their
# :arm64 shared libraries (Debian multiarch, scripts/deps.sh --arch arm64)
# are found there. The host's own programs are amd64, though, and what the
# tests run (sh and bash for scripts, ip, ping, ethtool, dnsmasq, busybox's
# udhcpc) must be arm64 in the guest: this script unpacks Debian's arm64
# packages of them into DIR (dpkg-deb -x; they cannot be installed next to
# the amd64 ones) and lists in DIR/binds which host path each one covers.
# The guest's init (kernel-patches/vmtest.sh with KARCH=arm64) starts from
# DIR/bin/busybox and bind-mounts them over the amd64 programs, in the
# guest's mount namespace only. DIR/bin holds busybox's applets and comes
# first in the guest's PATH, so plain grep, sed, cat and the like are arm64
# too. Their libraries are installed as :arm64 packages by scripts/deps.sh.
#
# Prints DIR on the last line of stdout. Rebuilt only when the list changes.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
KBUILD_DIR=${KBUILD_DIR:-$REPO/kbuild}
DIR=${1:-$KBUILD_DIR/arm64-guest}

# package  path in the package  host path it covers in the guest
# (Debian 12: /bin is /usr/bin, /sbin is /usr/sbin; /bin/sh -> dash)
# Busybox's applets of these names are left out of DIR/bin. /bin/sh must be
# dash, not busybox: busybox's sh runs its own applets before PATH (Debian
# builds it with FEATURE_PREFER_APPLETS), so system("ip netns add ...") in
# test_progs or the reproducer got busybox's cut-down ip instead of
# iproute2's. python3 (/usr/bin/python3 -> python3.11) runs the sockets
# tests' servers and scapy; its standard library's :arm64 half comes from
# scripts/deps.sh.
BINDS="
busybox-static bin/busybox          /usr/bin/busybox
dash           bin/dash             /usr/bin/dash
bash           bin/bash             /usr/bin/bash
python3.11-minimal usr/bin/python3.11 /usr/bin/python3.11
iproute2       bin/ip               /usr/bin/ip
iproute2       sbin/tc              /usr/sbin/tc
iputils-ping   bin/ping             /usr/bin/ping
ethtool        sbin/ethtool         /usr/sbin/ethtool
dnsmasq-base   usr/sbin/dnsmasq     /usr/sbin/dnsmasq
bpftool        usr/sbin/bpftool     /usr/sbin/bpftool
"
packages=$(echo "$BINDS" | awk 'NF { print $1 }' | sort -u)
stamp=$( { cat "${BASH_SOURCE[0]}"; for p in $packages; do apt-cache policy "$p:arm64" 2>/dev/null | sed -n 's/^  Candidate: //p'; done; } |
	 sha256sum | cut -c1-16)
if [ "$(cat "$DIR/.stamp" 2>/dev/null)" = "$stamp" ] && [ -x "$DIR/bin/busybox" ]; then
	echo "$DIR"
	exit 0
fi

dpkg --print-foreign-architectures | grep -qx arm64 ||
	{ echo "arm64-guest.sh: dpkg has no arm64 architecture: run scripts/deps.sh --arch arm64" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/arm64-guest.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"	# apt-get download as root fetches as _apt
echo "==> downloading the arm64 packages: $(echo $packages)" >&2
(cd "$tmp" && for p in $packages; do apt-get download -q "$p:arm64" >&2; done)
rm -rf "$DIR.new"
mkdir -p "$DIR.new/pkg" "$DIR.new/bin"
for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$DIR.new/pkg"; done
: > "$DIR.new/binds"
echo "$BINDS" | while read -r pkg path target; do
	[ -n "$pkg" ] || continue
	# usr-merged packages ship usr/bin, older ones bin: take whichever exists
	src=
	for c in "$path" "usr/$path" "${path#usr/}"; do
		[ -f "$DIR.new/pkg/$c" ] && { src=$c; break; }
	done
	[ -n "$src" ] || { echo "arm64-guest.sh: $pkg has no $path" >&2; exit 1; }
	file -b "$DIR.new/pkg/$src" | grep -q 'ARM aarch64' ||
		{ echo "arm64-guest.sh: $src is not an arm64 program" >&2; exit 1; }
	echo "$DIR/pkg/$src $target" >> "$DIR.new/binds"
done
cp "$DIR.new/pkg/bin/busybox" "$DIR.new/bin/busybox"
# Busybox's applets, but for the programs bound over the host's (its ip,
# ping, ... are smaller: the real ones must win in PATH).
# sh too: a script or test that runs "sh" through PATH gets /usr/bin/sh, dash.
bound=" sh $(awk '{ n = split($2, p, "/"); printf "%s ", p[n] }' "$DIR.new/binds")"
for a in $(qemu-aarch64-static "$DIR.new/bin/busybox" --list); do
	case "$bound" in *" $a "*) continue;; esac
	[ "$a" = busybox ] || ln -s busybox "$DIR.new/bin/$a"
done
# The libraries each program needs must be on the host (as :arm64 packages).
missing=
for f in $(awk '{ print $1 }' "$DIR.new/binds" | sed "s|^$DIR/|$DIR.new/|" | sort -u); do
	for lib in $(aarch64-linux-gnu-readelf -d "$f" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
		[ -e "/usr/lib/aarch64-linux-gnu/$lib" ] || [ -e "/lib/aarch64-linux-gnu/$lib" ] ||
			[ -e "/usr/lib/$lib" ] || missing+=" $lib($(basename "$f"))"
	done
done
[ -z "$missing" ] || { echo "arm64-guest.sh: arm64 libraries missing on the host:$missing (scripts/deps.sh --arch arm64)" >&2; exit 1; }
echo "$stamp" > "$DIR.new/.stamp"
rm -rf "$DIR"
mv "$DIR.new" "$DIR"
echo "==> $(wc -l < "$DIR/binds") arm64 programs and $(ls "$DIR/bin" | wc -l) busybox applets in $DIR" >&2
echo "$DIR"
