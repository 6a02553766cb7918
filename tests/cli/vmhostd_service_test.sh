#!/bin/bash
# vmhostd as operators run it, in a network namespace of its own (run under
# `unshare -n -m`, on a bpffs of its own): a VM namespace behind its tap
# and an outside namespace behind the uplink, real pings, vmhostctl, the
# metrics scraped over HTTP and compared with the kernel's counters read by
# bpftool, reloads by SIGHUP and by vmhostctl (a good one changes what
# passes, a bad one changes nothing), a second daemon refused, restarts
# (SIGTERM, kill -9 under traffic) that adopt the pinned datapath without
# losing a frame, and vmhostd teardown removing it all.
#   vmhostd_service_test.sh VMHOSTD VMHOSTCTL QEMU_HOOK
set -u
vmhostd=$1 vmhostctl=$2 hook=$3
py=/usr/bin/python3
fails=0 pid= npid=
tmp=$(mktemp -d)
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ -n "$npid" ] && kill "$npid" 2>/dev/null
  ip netns del vsext 2>/dev/null; ip netns del vsvm1 2>/dev/null
  ip link del vsup 2>/dev/null; ip link del vstap1 2>/dev/null; ip link del vsup2 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
# shellcheck source=checks.sh
. "$(dirname "$0")/checks.sh"
ctl() { "$vmhostctl" --socket "$tmp/vmhostd.sock" "$@"; }

# A bpffs of our own: the daemon's pins never meet the host's.
mount --make-rprivate /
mount -t bpf bpf /sys/fs/bpf
state=/sys/fs/bpf/vmhostd

# The wiring: no IPv6, so only the test's frames move the counters.
ip link set lo up
ip netns add vsext; ip netns add vsvm1
ip link add vsup type veth peer name eth0 netns vsext
ip link add vstap1 type veth peer name eth0 netns vsvm1
for ns in vsext vsvm1; do
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  ip netns exec "$ns" ip link set lo up
  # GRO on the far ends: a veth takes redirected XDP frames only then.
  ip netns exec "$ns" ethtool -K eth0 gro on >/dev/null
done
ip netns exec vsvm1 ip link set eth0 address 52:54:00:aa:00:01
ip netns exec vsvm1 ip addr add 10.7.0.1/24 dev eth0
ip netns exec vsext ip addr add 10.7.0.100/24 dev eth0
for d in vsup vstap1; do sysctl -qw "net.ipv6.conf.$d.disable_ipv6=1"; ip link set "$d" up; done
ip netns exec vsext ip link set eth0 up; ip netns exec vsvm1 ip link set eth0 up

config() {  # [ingress ICMP rule: yes]
  cat <<TOML
[host]
uplink = "vsup"
metrics = "127.0.0.1:19478"

[[vm]]
name = "vm1"
mac = "52:54:00:aa:00:01"
tap = "vstap1"
addresses = ["10.7.0.1"]
[[vm.rule]]
direction = "egress"
ethertype = "IPv4"
TOML
  [ "${1:-}" = yes ] && printf '[[vm.rule]]\ndirection = "ingress"\nethertype = "IPv4"\nprotocol = "icmp"\n'
}
config > "$tmp/host.toml"

# systemd's side of Type=notify: a datagram socket that logs what it hears.
$py -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        log.write(s.recv(4096).decode().replace("\n", " ") + "\n")
' "$tmp/notify" "$tmp/notify.log" &
npid=$!
for _ in $(seq 50); do [ -S "$tmp/notify" ] && break; sleep 0.1; done
# Only the capabilities the systemd unit leaves it (CapabilityBoundingSet=).
start() {
  NOTIFY_SOCKET=$tmp/notify setpriv --bounding-set=-all,+bpf,+perfmon,+net_admin,+sys_resource \
    "$vmhostd" run "$tmp/host.toml" --socket "$tmp/vmhostd.sock" 2>>"$tmp/log" &
  pid=$!
  for _ in $(seq 50); do ctl status >/dev/null 2>&1 && break; sleep 0.1; done
}
# vmhostd's programs loaded in the kernel, for teardown to leave as many.
our_progs() { bpftool prog show | grep -cE 'name (nic_demux|vm_guard|vm_fw_xdp|vm_fw_tc|vmhost_hold) '; }
progs_before=$(our_progs)
start
# (CAP_SYS_RESOURCE only where the machine's own bounding set has it.)
eff=$((16#$(awk '/^CapEff/ {print $2}' "/proc/$pid/status")))
need=$(( (1 << 12) | (1 << 38) | (1 << 39) )) allowed=$(( (1 << 12) | (1 << 24) | (1 << 38) | (1 << 39) ))
[ $((eff & need)) = "$need" ] && [ $((eff & ~allowed)) = 0 ] &&
  ok "the daemon runs with the unit's capabilities only" || fail "capabilities: CapEff $(printf %x "$eff")"
expect "status: vm1 enforced on its tap" 0 "vm1 +1 vstap1 +yes" ctl status
check "status -j is JSON" $py -c 'import json,sys; d=json.load(sys.stdin); assert d["vms"][0]["enforced"]' < <(ctl status -j)
grep -q "vm vm1: tap vstap1 (ifindex [0-9]*) seen; policy enforced in" "$tmp/log" && ok "log: one line for the tap seen" ||
  fail "log: $(cat "$tmp/log")"

# Traffic as the demo checks it: the VM's own flows answered, nothing unsolicited.
check "vm1 pings outside: its flow is answered" ip netns exec vsvm1 ping -c 3 -i 0.2 -W 1 10.7.0.100
expect "outside cannot ping vm1 (no ingress rule)" 1 "" ip netns exec vsext ping -c 2 -i 0.2 -W 1 10.7.0.1
expect "vm NAME: no-rule counted on the slot" 0 "xdp +no-rule +2 packets" ctl vm vm1

# The metrics over HTTP against the kernel's own counters (bpftool).
scrape() { $py - "$@" <<'PY'
import json, re, subprocess, sys, urllib.request
vm = json.loads(subprocess.run([sys.argv[1], "--socket", sys.argv[2], "vm", "vm1", "-j"], check=True,
                               capture_output=True, text=True).stdout)
text = urllib.request.urlopen("http://127.0.0.1:19478/metrics", timeout=5).read().decode()
metric = sum(int(v) for v in re.findall(r'^vmhost_vm_packets_total\{vm="vm1",[^}]*\} (\d+)$', text, re.M))
dump = json.loads(subprocess.run(["bpftool", "-j", "map", "dump", "id", str(vm["maps"]["verdicts"])], check=True,
                                 capture_output=True, text=True).stdout)
kernel = 0
for e in dump:
    for v in (e.get("formatted") or e)["values"]:
        val = v["value"]
        kernel += val["packets"] if isinstance(val, dict) else int.from_bytes(bytes(int(b, 16) for b in val[:8]), "little")
assert re.search(r'^vmhost_vms\{state="enforced"\} 1$', text, re.M), "vmhost_vms enforced"
print(f"metrics {metric} packets, bpftool {kernel}")
sys.exit(0 if metric == kernel and metric > 0 else 1)
PY
}
check "metrics over HTTP equal the kernel's counters" scrape "$vmhostctl" "$tmp/vmhostd.sock"
cat "$tmp/out"

# A reload by SIGHUP lets ICMP in, in place: new programs, the same counters.
before=$(ctl vm vm1 -j)
config yes > "$tmp/host.toml"
kill -HUP "$pid"
for _ in $(seq 50); do grep -q "reload applied" "$tmp/log" && break; sleep 0.1; done
check "SIGHUP: the new policy in place" grep -q "vm vm1: new policy enforced in place" "$tmp/log"
check "outside pings vm1 now" ip netns exec vsext ping -c 2 -i 0.2 -W 1 10.7.0.1
after=$(ctl vm vm1 -j)
check "reload: new programs, the same verdict counters and flow table" $py -c '
import json, sys
b, a = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert b["programs"] != a["programs"], "programs"
assert all(b["maps"][m] == a["maps"][m] for m in ("verdicts", "vm_ct4", "vm_ct6")), "maps"
' "$before" "$after"

# A bad file: refused with its line, the datapath untouched.
printf 'bogus = 1\n' >> "$tmp/host.toml"
expect "vmhostctl reload: a bad file is refused with file:line" 1 "host.toml:[0-9]+: .*bogus: unknown key" ctl reload
check "after a failed reload: the same programs" $py -c '
import json, sys; assert json.loads(sys.argv[1])["programs"] == json.loads(sys.argv[2])["programs"]' "$after" "$(ctl vm vm1 -j)"
check "after a failed reload: traffic still flows" ip netns exec vsext ping -c 1 -W 1 10.7.0.1
expect "status counts the failed reload" 0 "reloads 2 \(1 failed\)" ctl status

# The libvirt qemu hook, run as libvirtd runs it: arguments, XML on stdin.
domain_xml() {  # MAC TAP
  cat <<XML
<domain type='qemu'><name>vm1</name><devices>
  <interface type='ethernet'><mac address='$1'/><target dev='$2' managed='yes'/><model type='virtio'/></interface>
</devices></domain>
XML
}
hook() { VMHOSTCTL=$vmhostctl VMHOSTD_SOCKET=$tmp/vmhostd.sock VMHOSTD_HOOK_TIMEOUT=1 "$hook" "$@"; }
expect "hook, start begin: the VM's policy is enforced on its tap" 0 "vm1: enforced on vstap1" \
  hook vm1 start begin - < <(domain_xml 52:54:00:aa:00:01 vstap1)
expect "hook, start begin: an unknown MAC is left alone" 0 "not in vmhostd's configuration; left alone" \
  hook other start begin - < <(domain_xml 52:54:00:bb:00:09 vnet9)
expect "hook, start begin: enforced elsewhere refuses the start" 1 "not enforced after 1.0 s: it is on tap vstap1, not vnet3" \
  hook vm1 start begin - < <(domain_xml 52:54:00:aa:00:01 vnet3)
expect "hook: other operations pass" 0 "" hook vm1 prepare begin - < <(domain_xml 52:54:00:aa:00:01 vstap1)
expect "hook: XML that does not parse refuses" 1 "does not parse" hook vm1 start begin - <<<"<domain"

# Errors an operator meets.
expect "vm: an unknown name" 1 "no VM named 'nope'" ctl vm nope
expect "a socket nobody serves" 1 "vmhostd is not running" "$vmhostctl" --socket "$tmp/none.sock" status
config yes > "$tmp/good.toml"
expect "a second vmhostd on another socket is refused: the state directory is locked" 1 \
  "state directory $state is in use by another vmhostd" "$vmhostd" run "$tmp/good.toml" --socket "$tmp/other.sock"
# Another uplink, the same socket: refused, and the demux it had attached
# to its uplink comes off again.
ip link add vsup2 type veth peer name vsup2p; ip link set vsup2 up; ip link set vsup2p up
ethtool -K vsup2p gro on >/dev/null
sed 's/"vsup"/"vsup2"/; s/19478/19479/' "$tmp/good.toml" > "$tmp/other.toml"
expect "a second vmhostd on the same socket is refused" 1 "another vmhostd answers there" \
  "$vmhostd" run "$tmp/other.toml" --socket "$tmp/vmhostd.sock"
check "... and leaves nothing on its uplink" bash -c '! ip -d link show vsup2 | grep -q prog/xdp'
ip link del vsup2
check "the first still serves, still enforcing" bash -c "$vmhostctl --socket $tmp/vmhostd.sock status | grep -qE 'vm1 +1 vstap1 +yes'"

# Restarts. SIGTERM leaves the datapath running and pinned; the next daemon
# adopts it: the same programs (ids), nothing detached or attached.
programs() { ctl vm vm1 -j | $py -c 'import json, sys; print(json.load(sys.stdin)["programs"])'; }
demux() { ip -d link show vsup | grep -o 'prog/xdp id [0-9]*'; }
before=$(programs) demux_before=$(demux)
config yes > "$tmp/host.toml"  # the file as the running daemon has it
kill -TERM "$pid"; wait "$pid"; rc=$?; pid=
[ "$rc" = 0 ] && ok "SIGTERM: exit 0" || fail "SIGTERM: exit $rc"
check "SIGTERM: the NIC demux stays on the uplink" test "$(demux)" = "$demux_before"
check "SIGTERM: the datapath is pinned (vm1 is slot 1)" test -e "$state/nic_demux" -a -e "$state/vm1/guard"
check "no daemon: vm1's policy still holds (ICMP in passes)" ip netns exec vsext ping -c 1 -W 1 10.7.0.1
expect "no daemon: ... and what it refuses stays refused (TCP in: dropped, not reset)" 1 "timed out" \
  ip netns exec vsext $py -c 'import socket; socket.create_connection(("10.7.0.1", 9), timeout=1)'
start
check "restart: vm1's programs adopted unchanged" grep -q "vm vm1: tap vstap1 (ifindex [0-9]*) seen; adopted the previous daemon's programs unchanged" "$tmp/log"
check "restart: the same program ids" test "$(programs)" = "$before"
check "restart: the same NIC demux" test "$(demux)" = "$demux_before"
# kill -9 under traffic: 400 pings over 4 s, the daemon killed and
# restarted in the middle; the datapath never notices.
ip netns exec vsext ping -q -i 0.01 -c 400 -W 1 10.7.0.1 >"$tmp/flood" 2>&1 &
flood=$!
sleep 1; kill -KILL "$pid"; wait "$pid" 2>/dev/null; pid=
sleep 0.5; start
wait "$flood"
check "kill -9 and restart under traffic: no frame lost" grep -q " 0% packet loss" "$tmp/flood"
grep "packet loss" "$tmp/flood"
check "kill -9 and restart: the same program ids" test "$(programs)" = "$before"

# The tap goes (libvirt destroys it): release end confirms vmhostd let go.
ip link del vstap1
expect "hook, release end: vmhostd has forgotten the tap" 0 "vm1: no tap, nothing enforced" \
  hook vm1 release end - < <(domain_xml 52:54:00:aa:00:01 vstap1)
grep -q "vm vm1: tap vstap1 gone" "$tmp/log" && ok "log: the tap gone" || fail "log: $(tail -3 "$tmp/log")"

check "log: the tap's pins removed with it" test ! -e "$state/vm1"

# teardown: refused while a daemon runs; after SIGTERM everything off.
expect "teardown while vmhostd runs is refused" 1 "another vmhostd answers there" \
  "$vmhostd" teardown "$tmp/host.toml" --socket "$tmp/vmhostd.sock"
kill -TERM "$pid"; wait "$pid"; rc=$?; pid=
[ "$rc" = 0 ] && ok "SIGTERM again: exit 0" || fail "SIGTERM again: exit $rc"
[ ! -e "$tmp/vmhostd.sock" ] && ok "the socket is gone" || fail "the socket is left"
# A file that cannot be read is refused, nothing removed, with the way round it.
printf 'garbage =\n' > "$tmp/broken.toml"
expect "teardown of an unreadable configuration is refused, naming --state-dir" 1 \
  "vmhostd teardown --state-dir DIR \(host.state_dir" "$vmhostd" teardown "$tmp/broken.toml" --socket "$tmp/vmhostd.sock"
check "... and nothing was removed" test -e "$state/nic_demux"
expect "teardown with neither FILE nor --state-dir is refused" 1 "give the configuration FILE, or the state directory" \
  "$vmhostd" teardown
# The socket's directory gone, as systemd removes RuntimeDirectory= when the
# unit stops: teardown only asks whether a daemon answers there.
expect "teardown" 0 "teardown: the NIC demux is off vsup" "$vmhostd" teardown "$tmp/host.toml" --socket "$tmp/gone/vmhostd.sock"
check "teardown: nothing left on the uplink" bash -c '! ip -d link show vsup | grep -q "prog/xdp"'
check "teardown: no pins left" test ! -e "$state"
expect "teardown again: nothing to do" 0 "nothing pinned, $state does not exist" \
  "$vmhostd" teardown --state-dir "$state" --socket "$tmp/vmhostd.sock"
# The uplink deleted while the datapath is pinned: teardown from the pins.
start
kill -TERM "$pid"; wait "$pid"; pid=
ip link del vsup
expect "teardown with the uplink gone: the configuration names a missing uplink" 0 \
  "NIC demux \(program [0-9]+\) is on no link: uplink vsup is not there" \
  "$vmhostd" teardown "$tmp/host.toml" --socket "$tmp/vmhostd.sock"
check "teardown with the uplink gone: no pins left" test ! -e "$state"
check "teardown: as many vmhostd programs in the kernel as before it started ($progs_before)" \
  bash -c "for _ in \$(seq 50); do [ \"\$(bpftool prog show | grep -cE 'name (nic_demux|vm_guard|vm_fw_xdp|vm_fw_tc|vmhost_hold) ')\" = $progs_before ] && exit 0; sleep 0.1; done; exit 1"
# What systemd heard, in order: ready, reloading and ready again, stopping.
check "sd_notify: READY with a status, RELOADING, READY, STOPPING" $py -c '
import sys
lines = open(sys.argv[1]).read().splitlines()
want = ["READY=1 STATUS=1 of 1 VMs enforced", "RELOADING=1", "READY=1", "STOPPING=1"]
at = 0
for l in lines:
    if at < len(want) and l.startswith(want[at]):
        at += 1
assert at == len(want), lines
' "$tmp/notify.log"
exit $((fails > 0))
