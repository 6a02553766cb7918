#!/usr/bin/env bash
# The Debian packages (make deb) installed with dpkg --root into a temporary
# root, run from there (make deb-test, as root, under 'unshare -n -m'):
# every dependency they declare is a package installed on this machine,
# devmapctl probes the kernel and finds the packaged BPF objects, and a C
# program builds against the -dev package with pkg-config and runs. The
# temporary root goes on exit, whatever happened.
#   deb_test.sh DEB_DIR
set -euo pipefail
debdir=$(realpath "$1")
src=$(cd "$(dirname "$0")/../.." && pwd)
root=$(mktemp -d "${TMPDIR:-/tmp}/dme-deb.XXXXXX")
trap 'rm -rf "$root"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
start=$(date +%s.%N)

debs=$(ls "$debdir"/*.deb | grep -v -- -dbgsym_)
mkdir -p "$root"/var/lib/dpkg/{info,updates,triggers}
touch "$root"/var/lib/dpkg/status "$root"/var/lib/dpkg/available
# The root holds only these packages: their dependencies (libc, libbpf1,
# libnl...) are checked against this machine below, not installed there.
dpkg --root="$root" --force-depends --force-script-chrootless -i $debs > "$root/dpkg.log" 2>&1 ||
  { cat "$root/dpkg.log"; echo "FAIL: dpkg --root -i"; exit 1; }
echo "installed: $(dpkg --root="$root" -l | awk '/^ii/ { print $2 }' | tr '\n' ' ')"

# Each declared dependency names a package this machine has (or one of the
# packages themselves).
ours=$(for d in $debs; do dpkg-deb -f "$d" Package; done)
for d in $debs; do
  for dep in $(dpkg-deb -f "$d" Depends | tr ',' '\n' | sed 's/(.*)//; s/|.*//; s/:any//; s/ //g'); do
    grep -qx "$dep" <<<"$ours" && continue
    dpkg-query -W -f='${Status}' "$dep" 2>/dev/null | grep -q "ok installed" ||
      fail "$(dpkg-deb -f "$d" Package) depends on $dep, which this machine does not have"
  done
done

ctl=$root/usr/sbin/devmapctl
"$ctl" probe || fail "devmapctl probe from the packages"
out=$("$ctl" --version) || fail "devmapctl --version"
echo "$out"
grep -qx "BPF objects: $root/usr/lib/bpf/devmap-egress" <<<"$out" || fail "devmapctl does not find the packaged BPF objects"

mount --make-rprivate /
mount -t bpf bpf /sys/fs/bpf
ip link add dbt0 type veth peer name dbt1
ip link set dbt0 up
ip link set dbt1 up
ip link set dbt1 xdp obj "$root/usr/lib/bpf/devmap-egress/frame_sink.bpf.o" sec xdp
(cd "$root" && "$ctl" map create /sys/fs/bpf/dbt type devmap entries 4 > /dev/null &&
  "$ctl" slot set /sys/fs/bpf/dbt 1 dev dbt0 prog egress_count.bpf.o:egress_count &&
  "$ctl" slot list /sys/fs/bpf/dbt) || fail "devmapctl slot set with a packaged object"

libdir=$root/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)
PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_PATH=$libdir/pkgconfig \
  cc -o "$root/consumer" "$src/tests/install/consumer.c" \
  $(PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --cflags --libs libbpf-ext) ||
  fail "a C program against libdevmap-egress-dev"
[ -x "$root/consumer" ] && { LD_LIBRARY_PATH=$libdir "$root/consumer" \
  "$root/usr/lib/bpf/devmap-egress/egress_count.bpf.o" egress_count dbt0 || fail "the C program"; }

echo "deb-test: $(printf '%.1f' "$(echo "$(date +%s.%N) - $start" | bc)") s"
[ "$fails" -eq 0 ] && echo "deb-test: the packages install with dpkg --root and work from there"
[ "$fails" -eq 0 ]
