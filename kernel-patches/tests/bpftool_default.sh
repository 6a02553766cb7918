#!/bin/sh
# bpftool with default programs, in the VM (patched kernel):
#   ../vmtest.sh -- $(pwd)/bpftool_default.sh BPFTOOL xdp_devmap_default.bpf.o
# BPFTOOL: built from the patched tree (make -C tools/bpf/bpftool);
# the object: selftest.sh's $KBUILD_DIR/selftest/obj/xdp_devmap_default.bpf.o
set -e
B=$1
OBJ=$2
P=/sys/fs/bpf/dflt
le32() { echo "$(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255))"; }
run() { echo "# bpftool $*"; "$B" "$@"; }

ip link add vbt0 type veth peer name vbt1
IDX=$(cat /sys/class/net/vbt0/ifindex)
mkdir -p $P
"$B" prog loadall "$OBJ" $P/progs

run map create $P/dm type devmap key 4 value 12 entries 4 name dflt_dm
run map create $P/dh type devmap_hash key 4 value 12 entries 4 name dflt_dh
run map create $P/cm type cpumap key 4 value 12 entries 1 name dflt_cm
# key 0 inherits, key 1 opted out (BPF_XDP_VAL_NO_DEFAULT), key 2 inherits
"$B" map update pinned $P/dm key 0 0 0 0 value $(le32 $IDX) 0 0 0 0 0 0 0 0
"$B" map update pinned $P/dm key 1 0 0 0 value $(le32 $IDX) 0 0 0 0 1 0 0 0
"$B" map update pinned $P/dh key 0xe8 0x03 0 0 value $(le32 $IDX) 0 0 0 0 0 0 0 0
"$B" map update pinned $P/cm key 0 0 0 0 value $(le32 256) 0 0 0 0 0 0 0 0

run prog attach pinned $P/progs/xdp_egress_a xdp_devmap pinned $P/dm
run prog attach pinned $P/progs/xdp_egress_b xdp_devmap pinned $P/dh
run prog attach pinned $P/progs/xdp_cpumap_a xdp_cpumap pinned $P/cm
run map show pinned $P/dm
run map dump pinned $P/dm
run map show pinned $P/dh
run map dump pinned $P/dh
run map show pinned $P/cm
run map dump pinned $P/cm
run -j map dump pinned $P/dm

run prog attach pinned $P/progs/xdp_egress_c xdp_devmap pinned $P/dm
run map show pinned $P/dm
run map dump pinned $P/dm
run prog detach pinned $P/progs/xdp_egress_c xdp_devmap pinned $P/dm
run map show pinned $P/dm
run map dump pinned $P/dm
echo "# expected to fail: a cpumap program as a devmap default"
if "$B" prog attach pinned $P/progs/xdp_cpumap_a xdp_devmap pinned $P/dm; then
	echo "FAIL: attached"; exit 1
fi
echo OK
