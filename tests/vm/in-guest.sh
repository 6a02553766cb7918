#!/bin/bash
# Runs inside the patched kernel, booted by 'make vmtest': every kernel test,
# including those tagged [patched-kernel], the series' own selftest and the
# standalone bypass reproducer. Exit code: number of failed suites.
#   tests/vm/in-guest.sh BUILD_DIR KBUILD_DIR
set -u
build=$1 kbuild=$2
repo=$(cd "$(dirname "$0")/../.." && pwd)
echo "guest kernel: $(uname -r)"
passed=0 failed=0
run() {
	local name=$1; shift
	echo "== $name: $*"
	if "$@"; then passed=$((passed + 1)); else echo "FAILED: $name"; failed=$((failed + 1)); fi
}
# Under TCG the guest runs several times slower than the host: the tests'
# waits for asynchronous kernel work are generous enough for it. A debug
# kernel (KASAN, kmemleak: make vmtest KDEBUG=1) is slower again: loading a
# VM's programs took 4.7 s there, so every wait is stretched (netlab's
# time_scale()). kmemleak's file is how the guest tells that kernel apart.
if [ -e /sys/kernel/debug/kmemleak ]; then
	export NETLAB_TIME_SCALE=${NETLAB_TIME_SCALE:-5}
	echo "debug kernel (kmemleak present): the tests' waits are stretched ${NETLAB_TIME_SCALE}x"
fi
# [scale] (1000 taps) is left to the host run: under TCG it takes minutes.
# [stock-kernel] tests expect the refusals of an unpatched kernel.
run kernel-tests "$build/tests/kernel/kernel-tests" --reporter compact "~[scale]~[stock-kernel]"
# The port-security guard against its reference model on this kernel too:
# 6.12's verifier and helpers are not the host's (fewer frames under TCG).
run guard-fuzz "$build/tests/fuzz/guard-fuzz" --frames 60000 --seed 7
# The series' selftests and the mainline ones for these maps.
run selftests "$kbuild/selftest/test_progs" -t xdp_devmap_egress_mix,xdp_devmap_default,xdp_devmap_attach,xdp_cpumap_attach,xdp_do_redirect
run reproducer "$repo/kernel-patches/tests/devmap_mix"
run flush-probe "$repo/kernel-patches/tests/devmap_mix" --flush-probe
echo "vmtest: $passed passed, $failed failed"
exit "$failed"
