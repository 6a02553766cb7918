#!/bin/bash
# Build a cut-down test_progs that holds only the tests named on the command
# line (default: the series' tests and the mainline devmap/cpumap tests below),
# from the patched tree's selftests, with the in-tree libbpf and test_progs
# framework. The full test_progs needs a kernel built with the selftests'
# config, modules and ~45 min here; these tests only need linux/bpf.h, or
# vmlinux.h dumped from the guest kernel's BTF, so this takes about a minute.
# Each test's BPF objects are the skeletons its prog_tests/<test>.c includes.
#
#   kernel-patches/selftest.sh [test ...]
#   kernel-patches/vmtest.sh -f stock -- $KBUILD_DIR/selftest/test_progs -t xdp_devmap_egress_mix
#
# SELFTEST_SRC: source tree to take the selftests from (default: the patched
# tree that build.sh unpacks; vmlinux.h comes from its out-patched build).
# KARCH=arm64: cross-built for the arm64 guest (gcc-aarch64-linux-gnu, the
# :arm64 libelf and zlib), BPF objects for __TARGET_ARCH_arm64 with vmlinux.h
# from out-arm64-patched, into $KBUILD_DIR/selftest-arm64.
#
# Prints the path of test_progs on the last line of stdout.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
KBUILD_DIR=${KBUILD_DIR:-$REPO/kbuild}
JOBS=${JOBS:-$(nproc)}
CLANG=${CLANG:-clang-19}
KARCH=${KARCH:-x86_64}
case $KARCH in
x86_64) CROSS= TCC="ccache gcc" LINK=gcc TARGET=x86 TOOLS_ARCH=x86 OUT_SUFFIX= KOUT=out-patched
	TRIPLET=x86_64-linux-gnu;;
arm64)	CROSS=aarch64-linux-gnu- TCC="ccache aarch64-linux-gnu-gcc" LINK=aarch64-linux-gnu-gcc TARGET=arm64 TOOLS_ARCH=arm64
	OUT_SUFFIX=-arm64 KOUT=out-arm64-patched TRIPLET=aarch64-linux-gnu;;
*) echo "selftest.sh: KARCH must be x86_64 or arm64" >&2; exit 2;;
esac
TESTS=("$@")
[ ${#TESTS[@]} -gt 0 ] || TESTS=(xdp_devmap_egress_mix xdp_devmap_default
				xdp_devmap_attach xdp_cpumap_attach xdp_do_redirect)

log() { printf '==> %s\n' "$*" >&2; }

need=()
for p in clang-19 llvm-19 bpftool libelf-dev zlib1g-dev gcc make pkg-config; do
	dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null | grep -qx installed || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
fi

# The selftests come with the series: make sure the patched tree is unpacked.
if [ -z "${SELFTEST_SRC:-}" ]; then
	CONFIG_ONLY=1 "$HERE/build.sh" patched >/dev/null
fi
SRC=${SELFTEST_SRC:-$KBUILD_DIR/src-patched}
ST=$SRC/tools/testing/selftests/bpf
OUT=$KBUILD_DIR/selftest$OUT_SUFFIX
mkdir -p "$OUT/obj/prog_tests" "$OUT/libbpf"

t0=$(date +%s)
log "libbpf (in-tree) -> $OUT/libbpf"
make -s -C "$SRC/tools/lib/bpf" -j"$JOBS" OUTPUT="$OUT/libbpf/" \
	DESTDIR="$OUT" prefix= CC="$TCC" ${CROSS:+CROSS_COMPILE=$CROSS} "$OUT/libbpf/libbpf.a" install_headers >&2
INC=$OUT/include	# bpf/*.h, bpf_helper_defs.h

SYS_INC=$("$CLANG" -v -E - </dev/null 2>&1 |
	  sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }' |
	  sed "s|/x86_64-linux-gnu|/$TRIPLET|")
BPF_CFLAGS=(-g -Wall -Werror -D__TARGET_ARCH_$TARGET -I"$INC" -I"$ST" -I"$SRC/tools/include/uapi"
	    -Wno-compare-distinct-pointer-types $SYS_INC)
CFLAGS=(-g -O0 -rdynamic -Wall -Werror -fno-omit-frame-pointer -I"$OUT/obj" -I"$ST" -I"$INC"
	-I"$SRC/tools/lib" -I"$SRC/tools/include" -I"$SRC/tools/arch/$TOOLS_ARCH/include" -I"$SRC/tools/include/uapi")

rm -f "$OUT/obj/vmlinux.h"	# the kernel may have changed
: > "$OUT/obj/tests.h.new"
echo '/* Generated header, do not edit */' >> "$OUT/obj/tests.h.new"
for t in "${TESTS[@]}"; do
	for o in $(sed -n -E 's/^#include "([a-zA-Z0-9_]+)\.skel\.h"/\1/p' "$ST/prog_tests/$t.c"); do
		prog=$ST/progs/$o.c
		if grep -q '^#include <vmlinux.h>' "$prog" && [ ! -f "$OUT/obj/vmlinux.h" ]; then
			vmlinux=$KBUILD_DIR/$KOUT/vmlinux
			[ -f "$vmlinux" ] || { echo "selftest.sh: $o needs $vmlinux (make kernel)" >&2; exit 1; }
			log "vmlinux.h from $vmlinux"
			bpftool btf dump file "$vmlinux" format c > "$OUT/obj/vmlinux.h"
		fi
		log "BPF $o ($t)"
		"$CLANG" "${BPF_CFLAGS[@]}" -I"$OUT/obj" -O2 --target=bpf -mcpu=v3 -c "$prog" \
			-o "$OUT/obj/$o.bpf.o"
		bpftool gen skeleton "$OUT/obj/$o.bpf.o" name "$o" > "$OUT/obj/$o.skel.h"
	done
	sed -n -E 's/^void (serial_)?test_([a-zA-Z0-9_]+)\((void)?\).*/DEFINE_TEST(\2)/p' \
		"$ST/prog_tests/$t.c" >> "$OUT/obj/tests.h.new"
done
mv "$OUT/obj/tests.h.new" "$OUT/obj/prog_tests/tests.h"

objs=()
for c in test_progs cgroup_helpers trace_helpers network_helpers testing_helpers btf_helpers \
	 cap_helpers unpriv_helpers netlink_helpers jit_disasm_helpers test_loader xsk disasm \
	 disasm_helpers json_writer; do
	src=$ST/$c.c
	[ -f "$src" ] || src=$SRC/kernel/bpf/$c.c	# disasm.c is a link in a git tree
	objs+=("$OUT/obj/$c.o")
	echo "$TCC ${CFLAGS[*]} -c $src -o $OUT/obj/$c.o"
done > "$OUT/obj/cmds"
for t in "${TESTS[@]}"; do
	objs+=("$OUT/obj/$t.test.o")
	echo "$TCC ${CFLAGS[*]} -c $ST/prog_tests/$t.c -o $OUT/obj/$t.test.o"
done >> "$OUT/obj/cmds"
log "test_progs framework + ${TESTS[*]}"
xargs -P "$JOBS" -I{} sh -c {} < "$OUT/obj/cmds"
$LINK -rdynamic -o "$OUT/test_progs" "${objs[@]}" "$OUT/libbpf/libbpf.a" -lelf -lz -lrt -lpthread
log "built in $(( $(date +%s) - t0 )) s"
echo "$OUT/test_progs"
