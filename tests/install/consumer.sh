#!/usr/bin/env bash
# The install as a user outside the tree meets it (run by ctest through
# 'unshare -n -m': its veths and bpffs vanish with it). Installs the build
# into a temporary DESTDIR under another prefix, checks the layout, then
# builds and runs against the real kernel:
#   - a C program with pkg-config, shared (plain --libs: no libnl on the
#     link line) and --static (a static executable);
#   - a C++ program with CMake's find_package(devmap-egress CONFIG), against
#     the shared and the static imported targets;
#   - the installed devmapctl, which must find the installed BPF objects by
#     their bare names.
# Each program creates a devmap, sets a slot to a veth with egress_count from
# the installed objects, and reads it back. The temporary tree goes on exit,
# whatever happened.
#   consumer.sh BUILD_DIR SOURCE_DIR
# (grep reads its whole input here, never -q: under pipefail, a writer cut off
# by an early exit would fail the pipeline.)
set -euo pipefail
build=$(realpath "$1") src=$(realpath "$2")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dme-consumer.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
step() { echo "== $*"; }

# A sanitizer build (make test SANITIZE=1) installs instrumented libraries:
# the outside programs are built with the same flags, and the "static" C
# program links libbpf-ext.a but not -static (ASan has no fully static mode).
san=${DME_CONSUMER_SANITIZE:-}
prefix=/opt/devmap-egress
root=$tmp/root
step "install into DESTDIR=$root, prefix $prefix"
DESTDIR=$root cmake --install "$build" --prefix "$prefix" > "$tmp/install.log" ||
  { cat "$tmp/install.log"; echo "FAIL: cmake --install"; exit 1; }
pc=$(find "$root" -name libbpf-ext.pc)
[ -n "$pc" ] || { echo "FAIL: no libbpf-ext.pc installed"; exit 1; }
libdir=$(dirname "$(dirname "${pc#"$root"}")")
for f in "$libdir"/libbpf-ext.so.0 "$libdir"/libbpf-ext.a "$libdir"/libdevmap-egress.so.0 \
    "$libdir"/libdevmap-egress.a "$libdir"/pkgconfig/devmap-egress.pc \
    "$libdir"/cmake/devmap-egress/devmap-egress-config.cmake \
    $prefix/include/bpf_ext/bpf_ext.h $prefix/include/devmap_egress/devmap_egress.hpp \
    $prefix/sbin/devmapctl $prefix/lib/bpf/devmap-egress/egress_count.bpf.o \
    $prefix/lib/bpf/devmap-egress/vm_firewall.bpf.o $prefix/lib/bpf/devmap-egress/cpumap_pipeline.bpf.o; do
  [ -e "$root$f" ] || fail "not installed: $f"
done
# Nothing of the build tree may leak into what is installed.
grep -rlF "$build" "$root$libdir"/pkgconfig "$root$libdir"/cmake && fail "the install names the build tree"
grep -q "^prefix=$prefix\$" "$pc" || fail "libbpf-ext.pc: $(grep ^prefix= "$pc"), want prefix=$prefix"
objs=$root$prefix/lib/bpf/devmap-egress

# A bpffs of our own: iproute2 makes tc/globals in the one it finds, and the
# host's must not keep it.
mount --make-rprivate /
mount -t bpf bpf /sys/fs/bpf
ip link add dmc0 type veth peer name dmc1
ip link set dmc0 up
ip link set dmc1 up
ip link set dmc1 xdp obj "$objs/frame_sink.bpf.o" sec xdp  # lets dmc0 transmit XDP frames
export PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_PATH=$root$libdir/pkgconfig
export LD_LIBRARY_PATH=$root$libdir

step "C, pkg-config --libs (shared)"
cc -Wall -Werror $san -o "$tmp/c-shared" "$src/tests/install/consumer.c" \
  $(pkg-config --cflags --libs libbpf-ext)
needed=$(readelf -d "$tmp/c-shared" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
[[ " $needed" == *" libbpf-ext.so.0 "* ]] || fail "C shared: NEEDED is '$needed', without libbpf-ext.so.0"
[[ $needed == *libnl* ]] && fail "C shared: libnl on the link line (pkg-config put a private dependency in --libs)"
resolved=$(ldd "$tmp/c-shared" | grep libbpf-ext)
[[ $resolved == *"libbpf-ext.so.0 => $root"* ]] || fail "C shared: libbpf-ext.so.0 is not the installed one: $resolved"
"$tmp/c-shared" "$objs/egress_count.bpf.o" egress_count dmc0 || fail "C shared consumer"

step "C, pkg-config --static"
if [ -z "$san" ]; then
  cc -Wall -Werror -static -o "$tmp/c-static" "$src/tests/install/consumer.c" \
    $(pkg-config --static --cflags --libs libbpf-ext) 2> "$tmp/static.log" ||
    { cat "$tmp/static.log"; fail "C static: link"; }
else
  cc -Wall -Werror $san -o "$tmp/c-static" "$src/tests/install/consumer.c" \
    $(pkg-config --static --cflags --libs libbpf-ext | sed 's/-lbpf-ext /-l:libbpf-ext.a /') 2> "$tmp/static.log" ||
    { cat "$tmp/static.log"; fail "C static: link"; }
fi
if [ -e "$tmp/c-static" ]; then
  if [ -z "$san" ]; then
    readelf -d "$tmp/c-static" | grep NEEDED >/dev/null && fail "C static: the executable needs shared libraries"
  else
    readelf -d "$tmp/c-static" | grep 'libbpf-ext' >/dev/null && fail "C static: the executable needs libbpf-ext.so"
  fi
  "$tmp/c-static" "$objs/egress_count.bpf.o" egress_count dmc0 || fail "C static consumer"
fi

step "C++, CMake find_package(devmap-egress CONFIG)"
# CMake runs pkg-config for libbpf itself (the package's dependencies): the
# DESTDIR's sysroot would misplace the system's libbpf.
if env -u PKG_CONFIG_SYSROOT_DIR -u PKG_CONFIG_PATH cmake -S "$src/tests/install/cxx" -B "$tmp/cxx" -DCMAKE_PREFIX_PATH="$root$prefix" \
     -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" > "$tmp/cxx.log" 2>&1 &&
   cmake --build "$tmp/cxx" >> "$tmp/cxx.log" 2>&1; then
  readelf -d "$tmp/cxx/consumer" | grep '(NEEDED).*\[libdevmap-egress.so.0\]' >/dev/null ||
    fail "C++: consumer does not link libdevmap-egress.so.0"
  readelf -d "$tmp/cxx/consumer-static" | grep 'libdevmap-egress.so' >/dev/null &&
    fail "C++: consumer-static links libdevmap-egress.so"
  "$tmp/cxx/consumer" "$objs/egress_count.bpf.o" egress_count dmc0 || fail "C++ shared consumer"
  "$tmp/cxx/consumer-static" "$objs/egress_count.bpf.o" egress_count dmc0 || fail "C++ static consumer"
else
  cat "$tmp/cxx.log"
  fail "C++: configure or build against the installed CMake package"
fi

step "the installed devmapctl finds the installed BPF objects"
mount --make-rprivate /
mount -t bpf bpf /sys/fs/bpf
ctl=$root$prefix/sbin/devmapctl
version=$(cd "$tmp" && "$ctl" --version) || fail "devmapctl --version exits non-zero"
echo "$version"
grep -qx "BPF objects: $objs" <<<"$version" || fail "devmapctl --version: want 'BPF objects: $objs'"
(cd "$tmp" && "$ctl" map create /sys/fs/bpf/dmc type devmap entries 8 > /dev/null &&
  "$ctl" slot set /sys/fs/bpf/dmc 1 dev dmc0 prog egress_count.bpf.o:egress_count) ||
  fail "devmapctl slot set with a bare object name"
"$ctl" slot list /sys/fs/bpf/dmc | grep "^key 1 .*dmc0.* prog egress_count" >/dev/null ||
  fail "devmapctl slot list: slot 1 is not dmc0 with egress_count"
out=$(cd "$tmp" && "$ctl" slot set /sys/fs/bpf/dmc 2 dev dmc0 prog nosuch.bpf.o:x 2>&1) &&
  fail "devmapctl took a missing object"
grep -qF "no BPF object 'nosuch.bpf.o': looked for ./nosuch.bpf.o, $objs/nosuch.bpf.o" <<<"$out" ||
  fail "devmapctl, missing object: '$out'"

[ "$fails" -eq 0 ] && echo "consumer: C (shared, static) and C++ (shared, static) programs and devmapctl work from the install"
[ "$fails" -eq 0 ]
