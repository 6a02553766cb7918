#!/bin/bash
# make vmtest-arm64: boot the stock and the patched arm64 kernel (QEMU virt,
# -cpu cortex-a53 -smp 2, TCG) and run tests/vm/in-guest-arm64.sh in each.
#   tests/vm/vmtest-arm64.sh BUILD_ARM64 KBUILD_DIR
# Each boot fails on a check that did not come out as required, and, as on
# x86 (kernel-patches/vmtest.sh), on any BUG/WARNING/KASAN/lockdep report in
# the guest's kernel log. Console logs: KBUILD_DIR/vmtest-arm64-<flavour>.log.
# MEM (default 2G: the board has 1 or 2 GiB), VMTEST_ARM64_FLAVOURS
# (default "stock patched"), VMTEST_ARM64_TIMEOUT (seconds per boot, 2400).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
build=$(cd "$1" && pwd) kbuild=$(cd "$2" && pwd)
export KARCH=arm64 MEM=${MEM:-2G} KBUILD_DIR=$kbuild
rc=0 summary=
for f in ${VMTEST_ARM64_FLAVOURS:-stock patched}; do
	echo "=== arm64 guest, $f kernel"
	t0=$(date +%s)
	r=0
	"$REPO/kernel-patches/vmtest.sh" -f "$f" -t "${VMTEST_ARM64_TIMEOUT:-2400}" -l "$kbuild/vmtest-arm64-$f.log" -- \
		"$HERE/in-guest-arm64.sh" "$f" "$build" "$kbuild" || r=$?
	summary+="  $f: exit $r in $(( $(date +%s) - t0 )) s"$'\n'
	[ "$r" = 0 ] || rc=1
done
echo "=== vmtest-arm64:"
printf '%s' "$summary"
exit $rc
