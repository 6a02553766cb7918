#!/usr/bin/env bash
# devmapctl end to end, in private network and mount namespaces (run through
# 'unshare -n -m' by ctest): JSON shapes, exit codes and error messages.
set -euo pipefail
ctl=$1 objdir=$2
fails=0 checks=0

mount --make-rprivate /
mount -t bpf bpf /sys/fs/bpf
ip link add cli0 type veth peer name cli1
ip link set cli0 up
ip link set cli1 up
ip link set cli1 xdp obj "$objdir/frame_sink.bpf.o" sec xdp

check() {  # check NAME EXPECTED_RC EXPECTED_TEXT -- command...
  local name=$1 want_rc=$2 want=$3; shift 4
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  checks=$((checks + 1))
  if [ "$rc" -ne "$want_rc" ] || ! grep -qF -- "$want" <<<"$out"; then
    echo "FAIL: $name: rc=$rc (want $want_rc), output: $out"
    fails=$((fails + 1))
  fi
}
json_field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

m=/sys/fs/bpf/taps
check "create" 0 '"pinned":"/sys/fs/bpf/taps"' -- $ctl -j map create $m type devmap_hash entries 16
check "set with program" 0 "" -- $ctl slot set $m 7 dev cli0 prog "$objdir/egress_count.bpf.o:egress_count"
check "set without program" 0 "" -- $ctl slot set $m 8 dev cli0
check "list" 0 "egress_count" -- $ctl slot list $m
# Two slots to one device with different programs: warned on an affected kernel.
if $ctl -j probe | json_field 'd["egress_bypass"]["affected"]' | grep -q True; then
  check "bypass warning" 0 "shared-device egress bypass" -- $ctl slot set $m 9 dev cli0 prog "$objdir/egress_drop_rule.bpf.o:egress_drop_rule"
else
  check "no bypass warning" 0 "" -- $ctl slot set $m 9 dev cli0 prog "$objdir/egress_drop_rule.bpf.o:egress_drop_rule"
fi
check "drop slot 9" 0 "" -- $ctl slot del $m 9
name=$($ctl -j slot list $m | json_field 'sorted(d, key=lambda s: s["key"])[0]["prog"]["name"]')
[ "$name" = egress_count ] || { echo "FAIL: JSON slot prog name '$name'"; fails=$((fails + 1)); }
keys=$($ctl -j slot list $m | json_field 'sorted(s["key"] for s in d)')
[ "$keys" = "[7, 8]" ] || { echo "FAIL: JSON keys $keys"; fails=$((fails + 1)); }
id=$($ctl -j map show $m | json_field 'd["id"]')
check "pin by id" 0 '"pinned":"/sys/fs/bpf/taps2"' -- $ctl -j map pin "$id" /sys/fs/bpf/taps2
check "pinned twice" 1 "already pinned" -- $ctl map pin "$id" /sys/fs/bpf/taps2
check "pin no such id" 1 "no BPF map with id" -- $ctl map pin 4000000000 /sys/fs/bpf/x
check "show" 0 '"slots_used":2' -- $ctl -j map show $m
check "stats" 0 '"dev_sent_per_s":0' -- $ctl -j stats $m --interval 100
check "stats table" 0 "runs/s" -- $ctl stats $m -i 100
check "stats without a map" 1 "nothing is pinned" -- $ctl stats /sys/fs/bpf/none-such-map
check "missing device" 1 "no device named 'nosuch'" -- $ctl slot set $m 9 dev nosuch
check "wrong program kind" 1 'is not a devmap egress' -- \
  $ctl slot set $m 9 dev cli0 prog "$objdir/cpumap_redirect_again.bpf.o:cpumap_redirect_again"
check "no such program" 1 "has no program 'nope'" -- $ctl slot set $m 9 dev cli0 prog "$objdir/egress_count.bpf.o:nope"
check "bad key" 1 "is not a number" -- $ctl slot set $m x dev cli0
check "JSON error" 1 '"errno":19' -- $ctl -j slot set $m 9 dev nosuch
check "del" 0 "" -- $ctl slot del $m 7
check "del again" 1 "already empty" -- $ctl slot del $m 7
check "not bpffs" 1 "not on a BPF filesystem" -- $ctl map create /tmp/x type devmap entries 4
check "nothing pinned" 1 "nothing is pinned" -- $ctl slot list /sys/fs/bpf/none
c=/sys/fs/bpf/cpus
check "cpumap create" 0 "" -- $ctl map create $c type cpumap
check "qsize limit" 1 "above the kernel's limit" -- $ctl slot set $c 1 qsize 99999
check "cpumap set" 0 "" -- $ctl slot set $c 1 qsize 2048 prog "$objdir/cpumap_redirect_again.bpf.o:cpumap_redirect_again"
check "cpumap list" 0 "qsize 2048" -- $ctl slot list $c
# 'cpumap' verbs: the slot verbs, for a cpumap only.
check "cpumap alias: set" 0 "" -- \
  $ctl cpumap set $c 0 qsize 512 prog "$objdir/cpumap_pipeline.bpf.o:cpu_policy"
check "cpumap alias: list" 0 "cpu 0    qsize 512    prog cpu_policy" -- $ctl cpumap list $c
cpus=$($ctl -j cpumap list $c | json_field 'sorted((s["cpu"], s["qsize"], s["prog"]["name"]) for s in d)')
[ "$cpus" = "[(0, 512, 'cpu_policy'), (1, 2048, 'cpumap_redirect')]" ] || { echo "FAIL: cpumap list JSON $cpus"; fails=$((fails + 1)); }
check "cpumap alias: same listing as slot list" 0 "cpu 0    qsize 512" -- $ctl slot list $c
check "cpumap alias: set without program" 0 "" -- $ctl cpumap set $c 0 qsize 256
check "cpumap alias: program gone" 0 "qsize 256    prog -" -- $ctl cpumap list $c
check "cpumap alias: devmap program refused" 1 "is not a cpumap (SEC" -- \
  $ctl cpumap set $c 0 qsize 256 prog "$objdir/egress_count.bpf.o:egress_count"
check "cpumap alias: qsize limit" 1 "above the kernel's limit" -- $ctl cpumap set $c 0 qsize 99999
check "cpumap alias: no such CPU" 1 "is out of range" -- $ctl cpumap set $c 4000 qsize 256
check "cpumap alias: not a cpumap" 1 "is not a cpumap" -- $ctl cpumap list $m
check "cpumap alias: set on a devmap" 1 "is not a cpumap" -- $ctl cpumap set $m 0 qsize 256
check "cpumap alias: grammar" 1 "cpumap set PATH CPU qsize N" -- $ctl cpumap set $c 0 dev cli0
check "cpumap alias: del" 0 "" -- $ctl cpumap del $c 0
check "cpumap alias: del of a devmap" 1 "is not a cpumap" -- $ctl cpumap del $m 8
n=$($ctl -j cpumap list $c | json_field 'len(d)')
[ "$n" = 1 ] || { echo "FAIL: $n cpumap slots after del (want 1)"; fails=$((fails + 1)); }
check "probe" 0 '"egress_bypass"' -- $ctl -j probe

# Bash completion offers the verbs, keywords and values.
completion=$(dirname "$0")/../../tools/devmapctl/devmapctl.bash-completion
complete_words() {
  bash -c 'source /usr/share/bash-completion/bash_completion; source "$0"
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    _devmapctl; echo "${COMPREPLY[*]}"' "$completion" "$@"
}
check "complete verbs" 0 "slot" -- complete_words devmapctl sl
check "complete map types" 0 "devmap devmap_hash" -- complete_words devmapctl map create /x type d
check "complete devices" 0 "cli0" -- complete_words devmapctl slot set $m 1 dev cli

echo "devmapctl: $((checks - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
