#!/bin/bash
# Runs inside the arm64 guest (QEMU virt, Cortex-A53 x2), booted by
# 'make vmtest-arm64' once on the stock and once on the patched kernel:
#   tests/vm/in-guest-arm64.sh stock|patched BUILD_ARM64 KBUILD_DIR
# What must hold on each kernel:
#   - the guest is what it claims: aarch64, two Cortex-A53 CPUs online, the
#     BPF JIT on (net.core.bpf_jit_enable = 1), and the espressobin pipeline's
#     programs JIT-compiled (jited bytes per program, from bpftool);
#   - the kernel tests: those that need the series ([patched-kernel]) on the
#     patched kernel, those that expect its absence ([stock-kernel]) on stock;
#   - the guard against its reference model (patched kernel);
#   - the series' selftests fail on stock and pass on patched; mainline's
#     xdp_devmap_attach, xdp_cpumap_attach and xdp_do_redirect pass on both;
#   - the bypass reproducer and its flush probe exit 1 on stock, 0 on patched;
#   - the cpumap pipeline demo: RX on CPU 0, the policy in CPU 1's cpumap
#     slot, redirect again into a devmap slot whose egress program runs on
#     CPU 1, sink; it checks every program's per-CPU counts itself.
# Exit code: the number of checks that did not come out as required.
set -u
flavour=$1 build=$2 kbuild=$3
repo=$(cd "$(dirname "$0")/../.." && pwd)
case $flavour in stock|patched) ;; *) echo "in-guest-arm64.sh: flavour must be stock or patched" >&2; exit 2;; esac
passed=0 failed=0
# expect CODE NAME CMD...: CODE is the exit code required (0, or 1 for a
# check that must find the bypass on stock).
expect() {
	local want=$1 name=$2 rc=0 t0 t1
	shift 2
	echo "== $name (must exit $want): $*"
	t0=$(cut -d' ' -f1 /proc/uptime)
	"$@" || rc=$?
	t1=$(cut -d' ' -f1 /proc/uptime)
	if [ "$rc" = "$want" ]; then
		echo "-- $name: exit $rc as required ($(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s)"
		passed=$((passed + 1))
	else
		echo "FAILED: $name: exit $rc, required $want"
		failed=$((failed + 1))
	fi
}
check() { # NAME CONDITION-DESCRIPTION: a fact about the guest
	if [ "$2" = ok ]; then passed=$((passed + 1)); echo "-- $1: ok"; else failed=$((failed + 1)); echo "FAILED: $1: $2"; fi
}
fail_on_stock=1
[ "$flavour" = patched ] && fail_on_stock=0

echo "guest: $flavour kernel $(uname -r), $(uname -m), CPUs online $(cat /sys/devices/system/cpu/online)"
parts=$(sed -n 's/^CPU part\t*: //p' /proc/cpuinfo | sort | uniq -c | tr -s ' ' | sed 's/^ //')
echo "guest: CPU part $parts (0xd03: Cortex-A53)"
[ "$(uname -m)" = aarch64 ] && check "aarch64 kernel" ok || check "aarch64 kernel" "uname -m is $(uname -m)"
[ "$parts" = "2 0xd03" ] && check "two Cortex-A53 CPUs" ok || check "two Cortex-A53 CPUs" "CPU parts: $parts"
jit=$(cat /proc/sys/net/core/bpf_jit_enable)
echo "guest: net.core.bpf_jit_enable = $jit, bpf_jit_harden = $(cat /proc/sys/net/core/bpf_jit_harden 2>/dev/null)"
[ "$jit" = 1 ] && check "BPF JIT on" ok || check "BPF JIT on" "bpf_jit_enable is $jit"

# The pipeline as docs/espressobin.md sets it up on the board, with bpftool and
# devmapctl, on a veth: every program must have arm64 code from the JIT.
jit_check() {
	local d=/sys/fs/bpf/espressobin rc=0 n=0 name id xl ji
	mkdir -p $d
	# cpu_map is declared with more slots than this kernel's NR_CPUS (8)
	# allows (E2BIG): created first with one slot per possible CPU, and
	# given to bpftool, as on any kernel built with a small NR_CPUS.
	bpftool map create $d/cpu_map type cpumap key 4 value 8 \
		entries "$(( $(cut -d- -f2 /sys/devices/system/cpu/possible) + 1 ))" name cpu_map || return 1
	bpftool prog loadall "$build/bpf/cpumap_pipeline.bpf.o" $d/progs \
		map name cpu_map pinned $d/cpu_map pinmaps $d/maps || return 1
	bpftool prog loadall "$build/bpf/egress_count.bpf.o" $d/egress pinmaps $d/egress_maps || return 1
	ip link add jit0 type veth peer name jit1 && ip link set jit0 up && ip link set jit1 up || return 1
	# RX program first: a veth transmits XDP frames (ndo_xdp_xmit) only
	# while its peer runs an XDP program, and devmapctl refuses a slot on a
	# device that cannot take them.
	bpftool net attach xdpdrv pinned $d/progs/rx_steer dev jit0 || rc=1
	"$build/tools/devmapctl" cpumap set $d/cpu_map 1 qsize 256 prog pinned $d/progs/cpu_policy || rc=1
	"$build/tools/devmapctl" slot set $d/maps/tx_ports 0 dev jit1 prog pinned $d/egress/egress_count || rc=1
	"$build/tools/devmapctl" cpumap list $d/cpu_map
	"$build/tools/devmapctl" slot list $d/maps/tx_ports
	printf '   %-16s %8s %10s %11s\n' program id xlated jited
	for p in $d/progs/* $d/egress/*; do
		set -- $(bpftool prog show pinned "$p" | sed -n 's/^\([0-9]*\): .* name \([^ ]*\) .*/\1 \2/p; s/.*xlated \([0-9]*\)B *jited \([0-9]*\)B.*/\1 \2/p' | tr '\n' ' ')
		id=${1:-?} name=${2:-?} xl=${3:-0} ji=${4:-0}
		printf '   %-16s %8s %9sB %10sB\n' "$name" "$id" "$xl" "$ji"
		[ "$ji" -gt 0 ] 2>/dev/null || { echo "   $name: not JIT-compiled"; rc=1; }
		n=$((n + 1))
	done
	[ $n -ge 4 ] || { echo "   only $n programs loaded"; rc=1; }
	bpftool net detach xdpdrv dev jit0
	"$build/tools/devmapctl" cpumap del $d/cpu_map 1
	ip link del jit0
	rm -rf $d
	return $rc
}
expect 0 jit-compiled jit_check

# [scale] (1000 taps) is left to the host: under TCG it takes minutes.
if [ "$flavour" = patched ]; then tags="~[scale]~[stock-kernel]"; else tags="~[scale]~[patched-kernel]"; fi
expect 0 kernel-tests "$build/tests/kernel/kernel-tests" --reporter compact "$tags"
# The guard against its model, as make vmtest does on x86 (it does not
# depend on the series: the patched kernel only, to save TCG time).
[ "$flavour" = patched ] && expect 0 guard-fuzz "$build/tests/fuzz/guard-fuzz" --frames 60000 --seed 7
expect $fail_on_stock series-selftests "$kbuild/selftest-arm64/test_progs" -t xdp_devmap_egress_mix,xdp_devmap_default
expect 0 mainline-selftests "$kbuild/selftest-arm64/test_progs" -t xdp_devmap_attach,xdp_cpumap_attach,xdp_do_redirect
expect $fail_on_stock reproducer "$kbuild/tests-arm64/devmap_mix"
expect $fail_on_stock flush-probe "$kbuild/tests-arm64/devmap_mix" --flush-probe
# Fewer frames than on the host: TCG. SCHED_FIFO as on the board.
expect 0 cpumap-demo "$build/tools/cpumap-demo" --frames 20000 --rounds 3
echo "vmtest-arm64 ($flavour): $passed as required, $failed not"
exit "$failed"
