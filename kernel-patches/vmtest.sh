#!/bin/bash
# Boot a kernel built by build.sh in QEMU and run one command inside it.
#
#   kernel-patches/vmtest.sh [options] -- command [args...]
#
# The guest's root is the host's root, shared read-only over 9p, so the
# command can be any host binary (the cwd is kept). /tmp, /run and /var/tmp
# are tmpfs in the guest (host files under /tmp are not visible there, except
# the folder the command is run from, which is bound back in);
# a host temp dir is shared read-write at /run/scratch. The script exits with
# the command's exit code, or 99 when it passed but the kernel reported a
# BUG/WARNING/KASAN/lockdep splat or a kmemleak leak, 124 on timeout, 125 on a
# guest panic, 126 when the guest gave no result.
#
# Options:
#   -k BZIMAGE   kernel to boot (default: the one build.sh builds for -f)
#   -f FLAVOUR   patched (default) or stock; KDEBUG=1 picks the debug tree
#   -t SECONDS   give up after this long (default 600)
#   -l FILE      also keep the serial console log in FILE
#   -o DIR       copy what the command writes to /run/scratch/out into DIR
#   -v           show the kernel's boot messages (default: quiet)
# Environment: KBUILD_DIR (as build.sh), ACCEL=tcg (default) | kvm | auto
#   (auto: boot once with KVM and a trivial command, fall back to TCG),
#   SMP (2), MEM (2G), ICOUNT=1 (TCG only: the guest clock advances 1 ns per
#   guest instruction, so a guest-side time is an instruction count),
#   TCG_THREAD (single (default) | multi), QEMU_EXTRA (more qemu arguments,
#   split on blanks, e.g. "-gdb tcp:127.0.0.1:1234 -S" to debug the guest; not
#   given to the KVM probe of ACCEL=auto), APPEND_EXTRA (more kernel command
#   line, e.g. "nokaslr").
#   KARCH=arm64: the arm64 kernel (build.sh with KARCH=arm64) under
#   qemu-system-aarch64 -M virt -cpu cortex-a53 (CPU=...), the espressobin's
#   two cores; TCG_THREAD defaults to multi there. The host's root is still
#   the guest's root: the guest runs the cross-built arm64 binaries with their
#   :arm64 libraries, and arm64 sh, bash, ip, ping, ethtool, dnsmasq and
#   busybox from tests/vm/arm64-guest.sh are bound over the host's amd64 ones
#   (busybox's applets first in PATH).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
KBUILD_DIR=${KBUILD_DIR:-$REPO/kbuild}
FLAVOUR=patched
KERNEL=
TIMEOUT=600
KEEPLOG=
OUTDIR=
VERBOSE=0
ACCEL=${ACCEL:-tcg}
SMP=${SMP:-2}
MEM=${MEM:-2G}
KARCH=${KARCH:-x86_64}
case $KARCH in x86_64|arm64) ;; *) echo "vmtest.sh: KARCH must be x86_64 or arm64" >&2; exit 2;; esac

usage() { sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
while getopts "k:f:t:l:o:vh" o; do
	case $o in
	k) KERNEL=$OPTARG;; f) FLAVOUR=$OPTARG;; t) TIMEOUT=$OPTARG;;
	l) KEEPLOG=$OPTARG;; o) OUTDIR=$OPTARG;; v) VERBOSE=1;; *) usage;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" = -- ] && shift
[ $# -gt 0 ] || usage
if [ -z "$KERNEL" ]; then
	suffix=$FLAVOUR
	[ "${KDEBUG:-0}" = 1 ] && suffix=$FLAVOUR-debug
	KERNEL=$KBUILD_DIR/out-$suffix/arch/x86/boot/bzImage
	[ "$KARCH" = arm64 ] && KERNEL=$KBUILD_DIR/out-arm64-$suffix/arch/arm64/boot/Image
fi
[ -f "$KERNEL" ] || { echo "vmtest.sh: no kernel at $KERNEL (run build.sh $FLAVOUR first)" >&2; exit 2; }

need=()
for p in iproute2 $([ "$KARCH" = arm64 ] && echo qemu-system-arm || echo qemu-system-x86); do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vmtest.XXXXXX")
SCRATCH=$WORK/scratch
mkdir -p "$SCRATCH/out"
QPID=
TPID=
cleanup() {
	[ -n "$QPID" ] && kill "$QPID" 2>/dev/null && wait "$QPID" 2>/dev/null
	[ -n "$TPID" ] && kill "$TPID" 2>/dev/null
	if [ -n "$KEEPLOG" ] && [ -f "$WORK/console.log" ]; then cp "$WORK/console.log" "$KEEPLOG"; fi
	if [ -n "$OUTDIR" ]; then mkdir -p "$OUTDIR" && cp -r "$SCRATCH/out/." "$OUTDIR/"; fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

printf '%q ' "$@" > "$SCRATCH/cmd"
pwd > "$SCRATCH/cwd"

# The init runs from the read-only 9p root: this file is read through its
# host path, before /tmp is covered by the guest's tmpfs.
GUEST_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
if [ "$KARCH" = arm64 ]; then
	GUEST=$(KBUILD_DIR=$KBUILD_DIR "$REPO/tests/vm/arm64-guest.sh" | tail -1)
	# arm64 busybox runs the init; its applets come first in PATH, and the
	# arm64 programs are bound over the host's amd64 ones before anything else.
	{ echo "#!$GUEST/bin/busybox sh"
	  echo "export PATH=$GUEST/bin:$GUEST_PATH"
	  while read -r src dst; do echo "mount --bind $src $dst"; done < "$GUEST/binds"
	} > "$WORK/init"
else
	{ echo "#!/bin/sh"; echo "export PATH=$GUEST_PATH"; } > "$WORK/init"
fi
cat >> "$WORK/init" <<'INIT'
export HOME=/root TERM=dumb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm 2>/dev/null
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs tmpfs /run
mkdir -p /run/scratch /run/host-tmp
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 scratch /run/scratch
# The guest gets a writable /tmp of its own; a command run from a folder under
# the host's /tmp (a CI clone, say) keeps seeing that folder through a bind.
mount --bind /tmp /run/host-tmp
for d in /tmp /var/tmp /dev/shm; do mount -t tmpfs tmpfs "$d"; done
case $(cat /run/scratch/cwd) in
/tmp/?*)
	top=$(cat /run/scratch/cwd | cut -d/ -f3)
	mkdir -p "/tmp/$top" && mount --bind "/run/host-tmp/$top" "/tmp/$top";;
esac
mount -t bpf bpffs /sys/fs/bpf
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mount -t cgroup2 cgroup2 /sys/fs/cgroup
ip link set lo up
cd "$(cat /run/scratch/cwd)" 2>/dev/null || cd /
echo "vmtest: running: $(cat /run/scratch/cmd)"
start=$(cat /proc/uptime)
sh /run/scratch/cmd < /dev/null
rc=$?
# Debug flavour (and any kernel): a KASAN, lockdep or WARN report, or a leak
# kmemleak finds after the run, fails the run even when the command passed.
leaks=
if [ -w /sys/kernel/debug/kmemleak ]; then
	echo scan > /sys/kernel/debug/kmemleak; sleep 1; echo scan > /sys/kernel/debug/kmemleak
	leaks=$(cat /sys/kernel/debug/kmemleak)
fi
reports=$(dmesg | grep -E "BUG:|WARNING:|KASAN:|UBSAN:|possible circular locking|inconsistent lock state|possible recursive locking")
if [ -n "$reports$leaks" ]; then
	echo "vmtest: kernel reports during the run:"
	printf '%s\n' "$reports" | head -40
	printf '%s\n' "$leaks" | head -60
	[ "$rc" = 0 ] && rc=99
fi
echo "vmtest: exit code $rc (uptime ${start%% *} -> $(cut -d' ' -f1 /proc/uptime) s)"
echo $rc > /run/scratch/exit_code
sync
echo b > /proc/sysrq-trigger
INIT
chmod 755 "$WORK/init"
console=ttyS0
[ "$KARCH" = arm64 ] && console=ttyAMA0

quiet=quiet
[ "$VERBOSE" = 1 ] && quiet=
append="root=/dev/root rootfstype=9p rootflags=trans=virtio,version=9p2000.L,msize=262144 ro"
append+=" init=$WORK/init console=$console panic=-1 oops=panic sysrq_always_enabled $quiet"
[ -n "${APPEND_EXTRA:-}" ] && append+=" $APPEND_EXTRA"

qemu() { # $1: accel args, $2: console log, $3: extra args; run in a subshell (&): exec keeps one pid
	local accel=$1 log=$2 extra=${3:-}
	# shellcheck disable=SC2086
	local bin=qemu-system-x86_64 machine=
	[ "$KARCH" = arm64 ] && bin=qemu-system-aarch64 machine="-M virt"
	exec $bin $machine -nodefaults -no-reboot -display none -monitor none \
		$accel -smp "$SMP" -m "$MEM" \
		-kernel "$KERNEL" -append "$append" \
		-fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap \
		-device virtio-9p-pci,fsdev=root,mount_tag=/dev/root \
		-fsdev local,id=scratch,path="$SCRATCH",security_model=none,multidevs=remap \
		-device virtio-9p-pci,fsdev=scratch,mount_tag=scratch \
		-serial file:"$log" $extra
}

# Run qemu in the background until it exits or $3 seconds pass (then 124).
# Sets QPID while it runs so that the EXIT trap can kill it.
run_qemu() { # $1: accel args, $2: console log, $3: timeout, $4: extra qemu args
	local deadline=$(( $(date +%s) + $3 )) rc=0
	: > "$2"
	qemu "$1" "$2" "${4:-}" &
	QPID=$!
	while kill -0 "$QPID" 2>/dev/null; do
		if [ "$(date +%s)" -ge "$deadline" ]; then
			kill "$QPID" 2>/dev/null
			wait "$QPID" 2>/dev/null || true
			QPID=
			return 124
		fi
		sleep 0.2
	done
	wait "$QPID" || rc=$?
	QPID=
	return $rc
}

# Single-threaded TCG: with thread=multi, a vCPU could still run an int3 that
# text_poke_bp() had already patched away (the BPF dispatcher, under XDP
# attach churn), and the guest oopsed in bpf_dispatcher_xdp_func.
TCG="-accel tcg,thread=${TCG_THREAD:-single} -cpu max"
# arm64: the board's core; multi-threaded TCG (arm64 patches kernel text
# without the x86 int3 dance above). -icount needs one TCG thread.
if [ "$KARCH" = arm64 ]; then
	thread=${TCG_THREAD:-multi}
	[ "${ICOUNT:-0}" = 1 ] && thread=single
	TCG="-accel tcg,thread=$thread -cpu ${CPU:-cortex-a53}"
	[ "$ACCEL" = tcg ] || { echo "vmtest.sh: KARCH=arm64 runs under TCG only" >&2; exit 2; }
fi
[ "${ICOUNT:-0}" = 1 ] && TCG+=" -icount shift=0,sleep=off"
KVM="-enable-kvm -cpu host"
if [ "${ICOUNT:-0}" = 1 ] && [ "$ACCEL" != tcg ]; then
	echo "vmtest.sh: ICOUNT=1 counts instructions under TCG only: use ACCEL=tcg" >&2; exit 2
fi
case $ACCEL in
tcg) accel=$TCG;;
kvm) accel=$KVM;;
auto)
	# /dev/kvm on these machines may be PVM-only (guest hangs): boot once
	# with KVM running `true`, use KVM only if that came back.
	accel=$TCG
	if [ -w /dev/kvm ]; then
		mv "$SCRATCH/cmd" "$WORK/cmd.real"
		echo true > "$SCRATCH/cmd"
		if run_qemu "$KVM" "$WORK/probe.log" 30 >/dev/null 2>&1 &&
		   [ "$(cat "$SCRATCH/exit_code" 2>/dev/null)" = 0 ]; then
			accel=$KVM
		fi
		rm -f "$SCRATCH/exit_code"
		mv "$WORK/cmd.real" "$SCRATCH/cmd"
	fi
	echo "vmtest: KVM probe chose: $accel" >&2;;
*) echo "vmtest.sh: ACCEL must be tcg, kvm or auto" >&2; exit 2;;
esac

echo "vmtest: booting $KERNEL ($accel, smp $SMP, mem $MEM, timeout ${TIMEOUT}s)" >&2
[ -n "${QEMU_EXTRA:-}${APPEND_EXTRA:-}" ] &&
	echo "vmtest: extra qemu arguments: '${QEMU_EXTRA:-}', extra kernel command line: '${APPEND_EXTRA:-}'" >&2
t0=$(date +%s.%N)
: > "$WORK/console.log"
tail -n +1 -f "$WORK/console.log" &
TPID=$!
qrc=0
run_qemu "$accel" "$WORK/console.log" "$TIMEOUT" "${QEMU_EXTRA:-}" || qrc=$?
sleep 0.3
kill "$TPID" 2>/dev/null || true
wait "$TPID" 2>/dev/null || true
TPID=
t1=$(date +%s.%N)
if [ "$qrc" = 124 ]; then
	echo "vmtest: TIMEOUT after ${TIMEOUT}s, qemu killed" >&2
	exit 124
fi
awk -v a="$t0" -v b="$t1" -v rc="$qrc" 'BEGIN { printf "vmtest: qemu exited (%d) after %.1f s\n", rc, b - a }' >&2

if grep -q "Kernel panic" "$WORK/console.log"; then
	echo "vmtest: guest kernel PANIC (see console output above)" >&2
	exit 125
fi
if [ ! -s "$SCRATCH/exit_code" ]; then
	echo "vmtest: no result from the guest (qemu rc $qrc); did init run?" >&2
	exit 126
fi
rc=$(cat "$SCRATCH/exit_code")
exit "$rc"
