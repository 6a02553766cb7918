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

# Bad input (issue 18): each refused with its message and exit code 1, under
# -j as a JSON error object, and no map changed by a refused command.
check_json() {  # check_json NAME EXPECTED_RC EXPECTED_TEXT -- command...: stdout must be one JSON value
  local name=$1 want_rc=$2 want=$3; shift 4
  local out rc=0
  out=$("$@" 2>/dev/null) || rc=$?
  checks=$((checks + 1))
  if [ "$rc" -ne "$want_rc" ] || ! grep -qF -- "$want" <<<"$out" ||
     ! python3 -c 'import json,sys; json.loads(sys.stdin.buffer.read().decode("utf-8"))' <<<"$out"; then
    echo "FAIL: $name: rc=$rc (want $want_rc), not JSON or not '$want': $out"
    fails=$((fails + 1))
  fi
}
dump() { for p in "$@"; do $ctl -j slot list "$p"; done; }
a=/sys/fs/bpf/arr
check "array create" 0 "" -- $ctl map create $a type devmap entries 4
before=$(dump $m $c $a)

# Non-UTF-8 bytes: escaped as \xNN, in text and JSON alike, never a crash.
ip link add $'\xff\xfe' type veth peer name cli5
ip link set $'\xff\xfe' up
ip link set cli5 up
ip link set cli5 xdp obj "$objdir/frame_sink.bpf.o" sec xdp
check_json "utf8: set to a device named \\xff\\xfe" 0 "null" -- $ctl -j slot set $a 3 dev $'\xff\xfe'
check_json "utf8: -j slot list" 0 '"ifname":"\\xff\\xfe"' -- $ctl -j slot list $a
check "utf8: slot list text" 0 'dev \xff\xfe(' -- $ctl slot list $a
check_json "utf8: -j stats" 0 '"ifname":"\\xff\\xfe"' -- $ctl -j stats $a -i 20
check_json "utf8: -j map create reports its pin" 0 '"pinned":"/sys/fs/bpf/\\xffx"' -- \
  $ctl -j map create /sys/fs/bpf/$'\xff'x type devmap entries 4
[ -e /sys/fs/bpf/$'\xff'x ] || { echo "FAIL: utf8: the reported pin is missing"; fails=$((fails + 1)); }
check_json "utf8: bad key" 1 "key '\\\\xff' is not a number" -- $ctl -j slot set $m $'\xff' dev cli0
check_json "utf8: missing device" 1 "no device named '\\\\xfe'" -- $ctl -j slot set $m 9 dev $'\xfe'
check_json "utf8: path" 1 'nothing is pinned at /sys/fs/bpf/\\xfe' -- $ctl -j slot list /sys/fs/bpf/$'\xfe'
check "utf8: del" 0 "" -- $ctl slot del $a 3

# Messages that name the real cause.
check "map name with '-'" 1 "map name 'a-b' has a character the kernel refuses" -- \
  $ctl map create /sys/fs/bpf/n1 type devmap entries 4 name a-b
check "map name not ASCII" 1 "has a character the kernel refuses (byte 0, 0xc3)" -- \
  $ctl map create /sys/fs/bpf/n1 type devmap entries 4 name $'\xc3\xa9'
check "map name too long" 1 "is 16 characters long; the kernel keeps at most 15" -- \
  $ctl map create /sys/fs/bpf/n1 type cpumap name abcdefghijklmnop
check "map pin as a program" 1 "$m holds a BPF map, not a program" -- $ctl slot set $m 9 dev cli0 prog pinned $m
sink_id=$(ip -d -j link show cli1 | json_field 'd[0]["xdp"]["prog"]["id"]')
bpftool prog pin id "$sink_id" /sys/fs/bpf/sinkprog
check "program pin as a map" 1 "/sys/fs/bpf/sinkprog holds a BPF program, not a map" -- $ctl slot list /sys/fs/bpf/sinkprog
check "program pin as a map (set)" 1 "holds a BPF program, not a map" -- $ctl slot set /sys/fs/bpf/sinkprog 1 dev cli0
check "ingress program in a slot" 1 "expected attach type BPF_XDP_DEVMAP" -- \
  $ctl slot set $m 9 dev cli0 prog pinned /sys/fs/bpf/sinkprog
check "bpffs root" 1 "/sys/fs/bpf is a directory, not a pinned map or program" -- $ctl slot list /sys/fs/bpf
check "no such command" 1 "unknown command 'bogus' for devmapctl: use probe, map, slot, cpumap, stats" -- $ctl bogus
check "no such verb" 1 "unknown command 'bogus' for slot: use set, del, list" -- $ctl slot bogus $m
check "no verb" 1 "map needs a command: create, show, pin" -- $ctl map
check "prog id 0" 1 "program id 0 names no program" -- $ctl slot set $m 9 dev cli0 prog id 0
check "prog id unknown" 1 "no BPF program with id 4000000000 (see 'bpftool prog show')" -- \
  $ctl slot set $m 9 dev cli0 prog id 4000000000
check "map id 0" 1 "map id 0 names no map" -- $ctl map pin 0 /sys/fs/bpf/x
check "qsize 0: the CLI's spelling" 1 "use 'devmapctl cpumap del $c 1'" -- $ctl slot set $c 1 qsize 0
ip link add cli2 type veth peer name cli3
ip link set cli2 up
ip link set cli3 up
check "no XDP transmit: the CLI's spelling" 1 "for generic (skb) XDP pass --force" -- $ctl slot set $m 9 dev cli2
check "--force on a cpumap" 1 "--force is for devmap slots" -- $ctl slot set $c 1 qsize 64 --force
check "--allow-offline on a devmap" 1 "--allow-offline is for cpumap slots" -- $ctl slot set $m 9 dev cli0 --allow-offline

# Nothing accepted silently.
check "junk after prog FILE:NAME" 1 "unexpected 'junk' after the program" -- \
  $ctl slot set $m 9 dev cli0 prog "$objdir/egress_count.bpf.o:egress_count" junk
check "junk after prog pinned" 1 "unexpected 'x' after the program" -- \
  $ctl slot set $m 9 dev cli0 prog pinned /sys/fs/bpf/sinkprog x
check "junk after prog id" 1 "unexpected '7' after the program" -- $ctl slot set $m 9 dev cli0 prog id 1 7
check "junk instead of prog" 1 "unexpected 'junk': a slot takes 'prog FILE.o:NAME'" -- $ctl slot set $m 9 dev cli0 junk
check "dangling prog" 1 "'prog' needs 'FILE.o:NAME', 'pinned PATH' or 'id N'" -- $ctl slot set $m 9 dev cli0 prog
check "dangling prog pinned" 1 "'pinned' needs a pin path" -- $ctl slot set $m 9 dev cli0 prog pinned
check "prog without a name" 1 "write FILE.o:PROGRAM_NAME" -- $ctl slot set $m 9 dev cli0 prog "$objdir/egress_count.bpf.o:"
check "dangling dev" 1 "'dev' needs a device name" -- $ctl slot set $m 9 dev
check "dangling qsize" 1 "'qsize' needs a queue size" -- $ctl slot set $c 1 qsize
check "dangling name" 1 "'name' needs a map name" -- $ctl map create /sys/fs/bpf/n1 type devmap entries 4 name
check "dangling type" 1 "'type' needs a map type" -- $ctl map create /sys/fs/bpf/n1 type
check "no type" 1 "map create needs 'type devmap|devmap_hash|cpumap'" -- $ctl map create /sys/fs/bpf/n1 entries 4
check "key 010" 1 "key '010' is not a number from 0 to 4294967295 (decimal, no leading zeros)" -- \
  $ctl slot set $m 010 dev cli0
check "key ' 9'" 1 "key ' 9' is not a number" -- $ctl slot set $m ' 9' dev cli0
check "key -1" 1 "key '-1' is not a number" -- $ctl slot del $m -1
check "key +9" 1 "key '+9' is not a number" -- $ctl slot del $m +9
check "key 2^32" 1 "key '4294967296' is not a number" -- $ctl slot del $m 4294967296
check "entries 0x10" 1 "entries '0x10' is not a number" -- $ctl map create /sys/fs/bpf/n1 type devmap entries 0x10
check "qsize 08" 1 "qsize '08' is not a number" -- $ctl slot set $c 1 qsize 08
check "map id 010" 1 "map id '010' is not a number" -- $ctl map pin 010 /sys/fs/bpf/x
check "interval 010" 1 "interval '010' is not a number" -- $ctl stats $m -i 010
check "interval too short" 1 "interval 5 ms: use 10 to 3600000" -- $ctl stats $m -i 5
check "del of an empty devmap_hash slot" 1 "slot 5 of $m is already empty" -- $ctl slot del $m 5
check "del of an empty devmap slot" 1 "slot 2 of $a is already empty" -- $ctl slot del $a 2
check "del of an empty cpumap slot" 1 "slot 0 of $c is already empty" -- $ctl slot del $c 0
check "del of an empty cpumap slot (cpumap del)" 1 "slot 0 of $c is already empty" -- $ctl cpumap del $c 0
check "extra words after del" 1 "The following argument was not expected: 3" -- $ctl slot del $m 5 3
[ "$(ls /sys/fs/bpf | grep -c '^n1$')" = 0 ] || { echo "FAIL: a refused map create left a pin"; fails=$((fails + 1)); }

# Usage errors under -j: JSON and exit code 1, like every other error.
check_json "-j unknown command" 1 '"errno":22' -- $ctl -j bogus
check_json "-j missing argument" 1 '"error":"slot set: path is required"' -- $ctl -j slot set
check_json "-j bad key" 1 '"errno":22' -- $ctl -j slot del $m 010
check_json "-j unknown option" 1 '"errno":22' -- $ctl -j slot list $m --bogus
check_json "-p usage error" 1 '"errno": 22' -- $ctl -p map create /sys/fs/bpf/n1 type
check "usage error without -j" 1 "Error: slot set: path is required" -- $ctl slot set
check "help" 0 "Usage:" -- $ctl --help

after=$(dump $m $c $a)
[ "$before" = "$after" ] || { echo "FAIL: a refused command changed a map: $before / $after"; fails=$((fails + 1)); }

# set and del under -j print null, as bpftool does.
check_json "-j set prints null" 0 "null" -- $ctl -j slot set $m 9 dev cli0
check_json "-j del prints null" 0 "null" -- $ctl -j slot del $m 9
check_json "-j cpumap set prints null" 0 "null" -- $ctl -j cpumap set $c 0 qsize 64
check_json "-j cpumap del prints null" 0 "null" -- $ctl -j cpumap del $c 0

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
check "complete map pin" 0 "pin" -- complete_words devmapctl map p
check "complete map pin ID" 0 "$id" -- complete_words devmapctl map pin ""

echo "devmapctl: $((checks - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
