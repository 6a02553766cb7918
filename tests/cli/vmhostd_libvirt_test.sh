#!/bin/bash
# vmhostd and its qemu hook under a real libvirtd (Debian's libvirt 9.0):
# libvirtd starts TCG domains, calls the project's hook at `start begin`,
# and the hook waits until vmhostd enforces each interface's VM on the tap
# libvirt made. Checked: the hook ran and waited (libvirtd's log has its
# line), the VM is enforced on libvirt's tap (status, the guard's XDP, the
# tc filter, the slot), `virsh destroy` takes the tap and vmhostd forgets the
# VM (no programs or pins left), a domain vmhostd does not know is left
# alone, a domain on a tap vmhostd made (create_tap; libvirt's
# managed='no') starts on it as it is and leaves it guarded, and a domain
# whose policy cannot be enforced is refused by libvirt with the hook's
# message. Prints the time from `virsh create` to enforced,
# and the hook's wait.
#
# Everything lives in namespaces of the test's own (it re-executes itself
# under unshare): a network namespace for the taps and vmhostd's uplink, a
# PID namespace (when the test dies, however it dies, the kernel kills its
# libvirtd, virtlogd, QEMU and vmhostd), and a mount namespace in which
# /run, /var/lib/libvirt, /var/cache/libvirt and /var/log/libvirt are
# tmpfs, /etc/libvirt is a copy with the hook installed, and /sys/fs/bpf is
# a bpffs of its own. A libvirtd the host runs is neither seen nor touched.
# Nothing is written outside but vmhostd's memory cgroup (see below);
# libvirt's own cgroups are turned off.
#   vmhostd_libvirt_test.sh VMHOSTD VMHOSTCTL QEMU_HOOK
set -u
if [ -z "${DME_LIBVIRT_TEST_INNER:-}" ]; then
  [ "$#" -eq 3 ] || { echo "usage: $0 VMHOSTD VMHOSTCTL QEMU_HOOK" >&2; exit 2; }
  [ "$(id -u)" -eq 0 ] || { echo "FAIL: needs root (namespaces, BPF, libvirtd)" >&2; exit 1; }
  for tool in libvirtd virtlogd virsh qemu-system-x86_64 bpftool tc; do
    command -v "$tool" >/dev/null ||
      { echo "FAIL: $tool is missing (make deps installs libvirt-daemon-system, libvirt-clients, qemu-system-x86)" >&2; exit 1; }
  done
  if pids=$(pgrep -x libvirtd); then
    echo "note: a libvirtd runs on the host (pid $(echo $pids)); this test runs its own beside it, in its own namespaces, and leaves it alone"
  fi
  # --kill-child: if unshare is killed (ctest's timeout), so is the
  # namespace's init, and with it every process in the PID namespace; the
  # namespaces go with them. (unshare itself ignores SIGINT and SIGTERM;
  # ^C reaches the test's shell, whose trap cleans up.)
  DME_LIBVIRT_TEST_INNER=1 exec unshare --net --mount --pid --fork --mount-proc --kill-child=SIGKILL \
    "$0" "$(realpath "$1")" "$(realpath "$2")" "$(realpath "$3")"
fi

vmhostd=$1 vmhostctl=$2 hook=$3
py=/usr/bin/python3
export LIBVIRT_DEFAULT_URI=qemu:///system
fails=0 vpid=''
tmp=/run/dme-libvirt-test  # on the namespace's own /run
dom_prefix=dmelv

# shellcheck source=checks.sh
. "$(dirname "$0")/checks.sh"
die() { echo "FAIL $1"; exit 1; }
now() { date +%s.%N; }
since() { $py -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.3f}")' "$1" "$(now)"; }
gone() {  # PID: exited (a zombie counts: this shell reaps it later)
  [ ! -e "/proc/$1" ] || grep -q '^[^ ]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null
}
stop_pidfile() {  # NAME PIDFILE: SIGTERM, then SIGKILL after 10 s
  local name=$1 file=$2 pid
  [ -s "$file" ] || return 0
  pid=$(cat "$file")
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do gone "$pid" && return 0; sleep 0.1; done
  echo "note: $name (pid $pid) did not stop on SIGTERM within 10 s; SIGKILL"
  kill -KILL "$pid" 2>/dev/null
}
cleanup() {
  # Domains first (a TCG guest burns a CPU), then the daemons by their pid
  # files: only once this test's /run is mounted (until then /run is the
  # host's, with the host's libvirtd in it) and it has started them. What
  # is left (mounts, links, pins) goes with the namespaces.
  if [ -n "$own_run" ]; then
    if [ -n "$libvirtd_started" ] && [ -S /run/libvirt/libvirt-sock ]; then
      for d in $(virsh list --name 2>/dev/null); do virsh destroy "$d" >/dev/null 2>&1; done
    fi
    [ -n "$libvirtd_started" ] && stop_pidfile libvirtd /run/libvirtd.pid
    [ -n "$virtlogd_started" ] && stop_pidfile virtlogd /run/virtlogd.pid
  fi
  if [ -n "$vpid" ]; then kill -TERM "$vpid" 2>/dev/null; wait "$vpid" 2>/dev/null; fi
  [ -n "$own_bpffs" ] && [ -f "$tmp/host.toml" ] && "$vmhostd" teardown "$tmp/host.toml" >/dev/null 2>&1
  [ -n "$cg_made" ] && rmdir "$cg_made"
}
cg_made='' own_run='' own_bpffs='' libvirtd_started='' virtlogd_started=''
trap cleanup EXIT
trap 'exit 1' INT TERM

# The namespace's own file systems.
mount --make-rprivate / || die "cannot make the mounts private"
mount -t tmpfs -o mode=755 tmpfs /run || die "cannot mount the test's own /run"
own_run=1
mkdir -p "$tmp" /run/vmhostd && chmod 700 /run/vmhostd
for d in /var/lib/libvirt /var/cache/libvirt /var/log/libvirt; do
  [ -d "$d" ] || die "$d is missing: is libvirt-daemon-system installed?"
  mount -t tmpfs -o mode=755 tmpfs "$d" || die "cannot mount a tmpfs on $d"
done
mount -t bpf bpf /sys/fs/bpf || die "cannot mount the test's own bpffs"
own_bpffs=1
state=/sys/fs/bpf/vmhostd

# libvirt's configuration as installed (whatever the host has in it), with
# the hook, and libvirtd.conf and qemu.conf of the test's own:
# - debug logs of hooks and the commands libvirtd runs (the hook's stderr);
# - QEMU as root: /dev/kvm is root-only here, and libvirt, which probes the
#   binaries as root and sees KVM, then finds KVM gone for its qemu user and
#   probes every binary again on each lookup (40 s per `virsh create`);
# - no cgroups: without machined libvirt would make its own under
#   /sys/fs/cgroup, which is the host's;
# - no security driver: on a host with AppArmor or SELinux on, libvirt
#   would label QEMU with profiles the test does not need.
cp -a /etc/libvirt "$tmp/etc-libvirt"
mkdir -p "$tmp/etc-libvirt/hooks"
install -m 755 "$hook" "$tmp/etc-libvirt/hooks/qemu"
printf 'log_filters="1:util.hook 1:util.command 3:*"\nlog_outputs="1:file:%s/libvirtd.log"\n' "$tmp" \
  > "$tmp/etc-libvirt/libvirtd.conf"
printf 'user = "root"\ngroup = "root"\ncgroup_controllers = [ ]\nsecurity_driver = "none"\n' > "$tmp/etc-libvirt/qemu.conf"
mount --bind "$tmp/etc-libvirt" /etc/libvirt

# vmhostd's uplink: a veth in this namespace.
ip link set lo up
ip link add lvup type veth peer name lvup-peer
# GRO on the peer: a veth takes redirected XDP frames only then.
ethtool -K lvup-peer gro on >/dev/null
ip link set lvup up; ip link set lvup-peer up

# Two VMs vmhostd knows by MAC, and vm3, whose tap vmhostd makes (and brings
# up once vm3's policy is in place) for libvirt to use as it is
# (managed='no'). vm2's flow table (2^24 flows of 120 bytes,
# preallocated: 2 GiB) is more than the daemon's memory cgroup lets the
# kernel allocate: its policy cannot be enforced.
cat > "$tmp/host.toml" <<'TOML'
[host]
uplink = "lvup"

[[vm]]
name = "vm1"
mac = "52:54:00:d1:00:01"
addresses = ["10.8.0.1"]
[[vm.rule]]
direction = "egress"
ethertype = "IPv4"

[[vm]]
name = "vm2"
mac = "52:54:00:d1:00:02"
addresses = ["10.8.0.2"]
conntrack = { max_flows = 16777216 }

[[vm]]
name = "vm3"
mac = "52:54:00:d1:00:03"
tap = "dmelv3tap"
create_tap = true
addresses = ["10.8.0.3"]
TOML
"$vmhostd" check "$tmp/host.toml" >"$tmp/out" 2>&1 || die "the test's config: $(cat "$tmp/out")"

# virtlogd and libvirtd, as their init scripts start them. The hook runs
# with libvirtd's PATH (and nothing else of its environment), where it
# finds vmhostctl: the built one, first on that PATH.
virtlogd_started=1
virtlogd -d -p /run/virtlogd.pid || die "virtlogd does not start"
t0=$(now)
libvirtd_started=1
PATH=$(dirname "$vmhostctl"):$PATH libvirtd -d -p /run/libvirtd.pid || die "libvirtd does not start"
for _ in $(seq 600); do virsh version >/dev/null 2>&1 && break; sleep 0.1; done
virsh version >"$tmp/out" 2>&1 || die "libvirtd does not answer after 60 s: $(cat "$tmp/out"; tail -5 "$tmp/libvirtd.log")"
echo "libvirtd answers after $(since "$t0") s ($(grep -o 'Running hypervisor: .*' "$tmp/out"))"

# vmhostd's memory cgroup: 512 MiB, as a unit's MemoryMax= would give it
# (room for ASan's quarantine in a SANITIZE build; vm2's table needs 2 GiB).
# The kernel charges BPF maps to it. Under the cgroup this shell is in
# (cgroup v1's memory hierarchy, or v2 where that cgroup delegates memory),
# else under v2's root. The one thing this test makes outside its
# namespaces: the trap removes it, and a run killed by SIGKILL leaves it
# empty, for the next run to remove (rmdir: only an empty one goes).
if [ -d /sys/fs/cgroup/memory ]; then
  cg_parent=/sys/fs/cgroup/memory$(awk -F: '$2 == "memory" {print $3}' /proc/self/cgroup) cg_limit=memory.limit_in_bytes
else
  cg_parent=/sys/fs/cgroup$(awk -F: '$1 == "0" {print $3}' /proc/self/cgroup) cg_limit=memory.max
  grep -qw memory "$cg_parent/cgroup.subtree_control" 2>/dev/null || cg_parent=/sys/fs/cgroup
fi
for stale in "$cg_parent"/dme-libvirt-test-*; do [ -d "$stale" ] && rmdir "$stale" 2>/dev/null; done
cg=$cg_parent/dme-libvirt-test-$(cut -c1-8 /proc/sys/kernel/random/uuid)
mkdir "$cg" && echo $((512 << 20)) > "$cg/$cg_limit" || die "cannot make a memory cgroup for vmhostd ($cg)"
cg_made=$cg

# vmhostd with the unit's capabilities, on its default socket (the one the
# hook's vmhostctl asks).
start_vmhostd() {
  sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$cg" \
    setpriv --bounding-set=-all,+bpf,+perfmon,+net_admin,+sys_resource \
    "$vmhostd" run "$tmp/host.toml" 2>>"$tmp/vmhostd.log" &
  vpid=$!
  for _ in $(seq 100); do "$vmhostctl" status >/dev/null 2>&1 && break; sleep 0.1; done
  "$vmhostctl" status >/dev/null 2>&1 || die "vmhostd does not answer: $(cat "$tmp/vmhostd.log")"
}
start_vmhostd

domain() {  # NAME MAC: a TCG domain with no disk (SeaBIOS finds nothing to boot and waits) and one tap
  cat <<XML
<domain type='qemu'>
  <name>$1</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <interface type='ethernet'><mac address='$2'/><target managed='yes'/><model type='virtio'/></interface>
  </devices>
</domain>
XML
}
tap_of() { virsh domiflist "$1" | awk '$2 == "ethernet" {print $1}'; }
vm_json() { "$vmhostctl" vm "$1" -j; }
field() { $py -c 'import json, sys; v = json.load(sys.stdin)
for k in sys.argv[1:]: v = v[int(k) if isinstance(v, list) else k]
print(v)' "$@"; }

# 1. A domain with vm1's MAC: libvirt names its tap vnetN; the hook holds
# the start until vmhostd enforces vm1 on it.
domain ${dom_prefix}1 52:54:00:d1:00:01 > "$tmp/vm1.xml"
# A watcher, started first, notes when vmhostd reports vm1 enforced (it
# polls every 50 ms).
{ "$vmhostctl" wait 52:54:00:d1:00:01 --timeout 30 >"$tmp/wait.out" 2>&1; wrc=$?; now >"$tmp/enforced_at"; exit $wrc; } &
waiter=$!
t0=$(now)
virsh create "$tmp/vm1.xml" >"$tmp/out" 2>&1; rc=$?
t_create=$(since "$t0")
wait "$waiter"; wrc=$?
t_enforced=$($py -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.3f}")' "$t0" "$(cat "$tmp/enforced_at")")
[ "$rc" = 0 ] && ok "virsh create: the domain with vm1's MAC starts" || die "virsh create vm1: $(cat "$tmp/out")"
tap=$(tap_of ${dom_prefix}1)
[[ "$tap" == vnet* ]] && ok "libvirt named its tap $tap" || fail "vm1's tap: '$tap'"
[ "$wrc" = 0 ] && ok "vm1 enforced" || fail "vm1 not enforced: $(cat "$tmp/wait.out")"
hook_line=$(grep -o "vmhostd hook: domain ${dom_prefix}1: vm vm1: enforced on $tap (waited [0-9.]* s)" "$tmp/libvirtd.log" | head -1)
logged_by=$(grep -F "$hook_line" "$tmp/libvirtd.log" | grep -o 'debug : [A-Za-z]*' | head -1 | cut -d' ' -f3)
[ -n "$hook_line" ] && ok "libvirtd's log has the hook's line (logged by ${logged_by:-?}): $hook_line" ||
  fail "the hook's line is not in libvirtd's log"
hook_wait=$(grep -o 'waited [0-9.]*' <<<"$hook_line" | cut -d' ' -f2)
# The hook ran at start begin, before QEMU ran the guest: libvirtd called it
# with those arguments, and logged its result after.
check "the hook ran at 'start begin'" grep -qE "(virHookCall|virCommand).*hooks/qemu ${dom_prefix}1 start begin -" "$tmp/libvirtd.log"
in_order() {  # the hook's answer at start begin came before libvirtd went on to 'started begin'
  local answered started
  answered=$(grep -n "vmhostd hook: domain ${dom_prefix}1: vm vm1: enforced" "$tmp/libvirtd.log" | head -1 | cut -d: -f1)
  started=$(grep -nE "hooks/qemu ${dom_prefix}1 started begin -" "$tmp/libvirtd.log" | head -1 | cut -d: -f1)
  [ -n "$answered" ] && [ -n "$started" ] && [ "$answered" -lt "$started" ] ||
    { echo "the hook's answer at line ${answered:-none}, 'started begin' at line ${started:-none}"; return 1; }
}
check "... and answered before libvirtd went on to 'started begin'" in_order
expect "status: vm1 enforced on $tap" 0 "vm1 +1 $tap +yes" "$vmhostctl" status
vm_json vm1 > "$tmp/vm1.json"
guard=$(field programs 2 < "$tmp/vm1.json") tcprog=$(field programs 1 < "$tmp/vm1.json")
slotprog=$(field programs 0 < "$tmp/vm1.json") slot=$(field slot < "$tmp/vm1.json")
check "the tap has vm1's guard (XDP prog id $guard)" bash -c "ip -d link show $tap | grep -q 'prog/xdp id $guard '"
check "the tap's tc egress has vm1's firewall (prog id $tcprog)" bash -c "tc filter show dev $tap egress | grep -q ' id $tcprog '"
slot_check() {  # the devmap slot of vm1 holds the tap and the firewall program
  local map ifindex
  ifindex=$(ip -j link show "$tap" | field 0 ifindex)
  for map in "$state"/*; do
    [ -f "$map" ] || continue
    bpftool -j map show pinned "$map" 2>/dev/null | grep -q '"type":"devmap' || continue
    bpftool -j map lookup pinned "$map" key $((slot & 255)) $((slot >> 8 & 255)) 0 0 >"$tmp/slot.json" 2>&1 || continue
    $py -c 'import json, sys
v = json.load(open(sys.argv[1]))
v = v[0] if isinstance(v, list) else v
v = v.get("formatted", v)["value"]
if isinstance(v, list):  # no BTF: struct bpf_devmap_val { u32 ifindex; u32 prog id; } as bytes
    raw = bytes(int(b, 16) for b in v)
    v = {"ifindex": int.from_bytes(raw[:4], "little"), "bpf_prog": {"id": int.from_bytes(raw[4:8], "little")}}
sys.exit(0 if v["ifindex"] == int(sys.argv[2]) and v["bpf_prog"]["id"] == int(sys.argv[3]) else 1)' \
      "$tmp/slot.json" "$ifindex" "$slotprog" && return 0
    echo "$map, key $slot: $(cat "$tmp/slot.json")"
  done
  echo "no devmap under $state holds slot $slot -> $tap (ifindex $ifindex) with program $slotprog"
  return 1
}
check "slot $slot holds $tap and vm1's firewall (prog id $slotprog)" slot_check
slot_key() { echo $((slot & 255)) $((slot >> 8 & 255)) 0 0; }
# shellcheck disable=SC2046
check "vm1's programs and maps are pinned ($state/vm$slot/guard), its tap recorded (vms[$slot])" \
  bash -c "test -e $state/vm$slot/guard && bpftool map lookup pinned $state/vms key $(slot_key)"
echo "time from 'virsh create' to vm1 enforced: ${t_enforced} s (virsh create returned after ${t_create} s); the hook waited ${hook_wait:-?} s; vmhostd: $(field time_to_policy_ms < "$tmp/vm1.json") ms from seeing the tap to enforced"

# 2. A domain whose MAC vmhostd does not know: it starts, and its tap is
# left alone.
domain ${dom_prefix}9 52:54:00:d1:00:99 > "$tmp/other.xml"
check "virsh create: a domain with a MAC vmhostd does not know starts" virsh create "$tmp/other.xml"
otap=$(tap_of ${dom_prefix}9)
check "... libvirtd's log has the hook's line: left alone" \
  grep -q "vmhostd hook: domain ${dom_prefix}9: interface 52:54:00:d1:00:99 is not in vmhostd's configuration; left alone" "$tmp/libvirtd.log"
check "... its tap $otap has no XDP program and no tc filter" \
  bash -c "[ -n '$otap' ] && ! ip -d link show $otap | grep -q prog/xdp && [ -z \"\$(tc filter show dev $otap egress)\" ]"
check "... vmhostd still knows three VMs and enforces two (vm1, and vm3 on the tap it made)" \
  bash -c "$vmhostctl status -j | $py -c 'import json, sys; v = json.load(sys.stdin)[\"vms\"]; sys.exit(0 if len(v) == 3 and sum(x[\"enforced\"] for x in v) == 2 else 1)'"
check "virsh destroy: the other domain" virsh destroy ${dom_prefix}9

# 3. virsh destroy: the tap goes; vmhostd forgets vm1, and the kernel frees
# its programs (no pins hold them).
ids=$(field programs < "$tmp/vm1.json" | tr -d '[],')
check "virsh destroy ${dom_prefix}1" virsh destroy ${dom_prefix}1
check "... the tap $tap is gone" bash -c "! ip link show $tap 2>/dev/null"
check "... vmhostd forgets vm1 (hook at release end waits for it)" \
  grep -q "vmhostd hook: domain ${dom_prefix}1: vm vm1: no tap, nothing enforced" "$tmp/libvirtd.log"
expect "... status: vm1 has no tap" 0 "vm1 +1 +- +no" "$vmhostctl" status
# shellcheck disable=SC2046
check "... vm1's pins and its record are gone" \
  bash -c "test ! -e $state/vm$slot && ! bpftool map lookup pinned $state/vms key $(slot_key) 2>/dev/null"
freed() {
  local id
  for _ in $(seq 50); do
    for id in $ids; do bpftool prog show id "$id" >/dev/null 2>&1 && continue 2; done
    return 0
  done
  echo "programs still loaded: $(for id in $ids; do bpftool prog show id "$id" 2>/dev/null; done)"
  return 1
}
check "... vm1's programs ($ids) are freed" freed

# 3b. vm3's tap, made by vmhostd, used by libvirt as it is (managed='no'):
# up, with vm3's guard, before libvirt opens it; the hook finds vm3
# enforced on it; libvirt changes nothing on it, and leaves it (guarded)
# when the domain goes.
check "vmhostd made vm3's tap dmelv3tap, up, with vm3's guard" \
  bash -c "ip -d link show dmelv3tap | grep -q 'state UP\|,UP' && ip -d link show dmelv3tap | grep -q prog/xdp"
guard3=$(vm_json vm3 | field programs 2)
sed -e "s|<target managed='yes'/>|<target dev='dmelv3tap' managed='no'/>|" \
  <(domain ${dom_prefix}3 52:54:00:d1:00:03) > "$tmp/vm3.xml"
check "virsh create: a domain on vm3's tap (managed='no') starts" virsh create "$tmp/vm3.xml"
check "... libvirt uses dmelv3tap" bash -c "[ \"\$(virsh domiflist ${dom_prefix}3 | awk '\$2 == \"ethernet\" {print \$1}')\" = dmelv3tap ]"
check "... the hook found vm3 enforced on it" \
  grep -q "vmhostd hook: domain ${dom_prefix}3: vm vm3: enforced on dmelv3tap" "$tmp/libvirtd.log"
check "... its guard is the one vmhostd attached before (prog id $guard3)" \
  bash -c "ip -d link show dmelv3tap | grep -q 'prog/xdp id $guard3 '"
check "virsh destroy ${dom_prefix}3" virsh destroy ${dom_prefix}3
check "... the tap stays (vmhostd's), guarded, vm3 still enforced" \
  bash -c "ip -d link show dmelv3tap | grep -q 'prog/xdp id $guard3 ' && $vmhostctl status | grep -qE '^vm3 +[0-9]+ +dmelv3tap +yes'"

# 4. A domain whose VM's policy cannot be enforced: vmhostd holds its tap,
# the kernel refuses vm2's flow table (ENOMEM: beyond the daemon's memory
# cgroup), the hook gives up after its timeout, and libvirt refuses the
# start with the hook's message.
echo "(the next case waits for the hook's timeout, 10 s)"
domain ${dom_prefix}2 52:54:00:d1:00:02 > "$tmp/vm2.xml"
t0=$(now)
virsh create "$tmp/vm2.xml" >"$tmp/vm2.out" 2>&1 &
creating=$!
held() {  # while the hook waits: vm2's tap carries the hold, vm2 has a tap and an error
  local tap2 id
  for _ in $(seq 50); do
    tap2=$(ip -j link show | $py -c 'import json, sys
print(next((l["ifname"] for l in json.load(sys.stdin) if l.get("address") == "fe:54:00:d1:00:02"), ""))')
    [ -n "$tap2" ] && "$vmhostctl" status -j | grep -q '"error"' && break
    sleep 0.1
  done
  [ -n "$tap2" ] || { echo "no tap with vm2's MAC appeared"; return 1; }
  id=$(ip -d link show "$tap2" | grep -o 'prog/xdp id [0-9]*' | grep -o '[0-9]*$')
  bpftool prog show id "${id:-0}" 2>/dev/null | grep -q "name vmhost_hold " ||
    { echo "$tap2: XDP prog ${id:-none}, not the hold"; return 1; }
  "$vmhostctl" status | grep -E "^vm2 +2 +$tap2 +no .*Cannot allocate memory" ||
    { echo "status: $("$vmhostctl" status)"; return 1; }
}
check "... while the hook waits, vmhostd holds vm2's tap (XDP: vmhost_hold) and says why not enforced" held
cat "$tmp/out"
wait "$creating"; rc=$?
out=$(cat "$tmp/vm2.out")
if [ "$rc" = 1 ] && grep -qE "Hook script execution failed.*vmhostd hook: domain ${dom_prefix}2: interface 52:54:00:d1:00:02: vmhostctl: vm vm2 \(52:54:00:d1:00:02\): not enforced after 10.0 s: .*Cannot allocate memory" <<<"$out"; then
  ok "virsh create: vm2's policy cannot be enforced: libvirt refuses the start with the hook's message"
else
  fail "virsh create vm2: rc $rc (want 1), output: $out"
fi
echo "refused after $(since "$t0") s; virsh said: $(sed -n 's/.*\(Hook script execution failed.*\)/\1/p' <<<"$out" | head -1)"
check "... the domain is not running" bash -c "! virsh list --name | grep -qx ${dom_prefix}2"
check "... and its tap is gone" bash -c "! ip -d link show | grep -q 'link/ether fe:54:00:d1:00:02'"

# 4b. The operator fixes vm2's policy while a start waits on it: the hook
# holds the start until vmhostd, reloaded, enforces vm2; then it goes on.
t0=$(now)
virsh create "$tmp/vm2.xml" >"$tmp/vm2.out" 2>&1 &
creating=$!
check "a second start of vm2's domain: held again" held
sleep 1  # the start waits
sed -i '/^conntrack = { max_flows = 16777216 }$/d' "$tmp/host.toml"
t_reload=$(now)
kill -HUP "$vpid"
wait "$creating"; rc=$?
t_started=$(since "$t0")
hook_line=$(grep -o "vmhostd hook: domain ${dom_prefix}2: vm vm2: enforced on vnet[0-9]* (waited [0-9.]* s)" "$tmp/libvirtd.log" | head -1)
hook_wait=$(grep -o 'waited [0-9.]*' <<<"$hook_line" | cut -d' ' -f2)
if [ "$rc" = 0 ] && [ -n "$hook_wait" ] && $py -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 1.0 else 1)' "$hook_wait"; then
  ok "... fixed and reloaded (SIGHUP): the start goes on once vm2 is enforced; $hook_line"
else
  fail "vm2 after the reload: virsh rc $rc ($(cat "$tmp/vm2.out")), hook: '${hook_line:-no line}'"
fi
echo "virsh create returned after ${t_started} s, $(since "$t_reload") s after the reload"
expect "... status: vm2 enforced" 0 "vm2 +2 +vnet[0-9]+ +yes" "$vmhostctl" status
check "virsh destroy ${dom_prefix}2" virsh destroy ${dom_prefix}2

# 5. The daemon stopped: the hook cannot ask it, and libvirt refuses.
kill -TERM "$vpid"; wait "$vpid"; vpid=
t0=$(now)
expect "virsh create with vmhostd stopped: refused with the hook's message" 1 \
  "Hook script execution failed.*vmhostd hook: domain ${dom_prefix}1: interface 52:54:00:d1:00:01: vmhostctl: .*vmhostd is not running" \
  virsh create "$tmp/vm1.xml"
echo "refused after $(since "$t0") s; virsh said: $(sed -n 's/.*\(Hook script execution failed.*\)/\1/p' <<<"$last_out" | head -1)"
check "... the domain is not running" bash -c "! virsh list --name | grep -qx ${dom_prefix}1"

if [ "$fails" -gt 0 ]; then
  echo "--- vmhostd's log"; cat "$tmp/vmhostd.log"
  echo "--- libvirtd's log, the hook"; grep -E "hooks/qemu|vmhostd hook" "$tmp/libvirtd.log"
fi
exit $((fails > 0))
