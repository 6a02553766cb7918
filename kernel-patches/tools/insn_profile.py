#!/usr/bin/env python3
# The recording side of insn-profile.sh, and its report.
#
# 1. In gdb: single-step one (or more) calls of the kernel's
#    xdp_test_run_batch() through QEMU's gdbstub and count, per kernel
#    function, the guest instructions executed; write profile.json and pcs.txt.
#      gdb -q -batch -nx -x insn_profile.py VMLINUX
#    with its parameters in the environment (insn-profile.sh sets them):
#      IP_PORT      gdbstub port of the (paused, -S) QEMU            (required)
#      IP_SKIP      calls of xdp_test_run_batch to let run first     (default 72)
#      IP_BATCHES   consecutive calls to step through                (default 1)
#      IP_OUT       output directory (profile.json, pcs.txt)         (required)
#      IP_LABEL     free text recorded in the JSON (case, kernel)
#      IP_PROG      expected name of the ingress program (checked; optional)
#      IP_MAX_STEPS give up after this many steps                    (default 5e6)
# 2. In python3: print a recorded profile (with the kernel's own figure from
#    figure.log next to it, when there is one).
#      insn_profile.py [--rows N] DIR|DIR/profile.json
#
# The window of one batch runs from the entry of xdp_test_run_batch to its
# next entry: the batch (ingress program x64, redirects, xdp_do_flush, the
# softirq that local_bh_enable() runs at its end: veth NAPI poll and the
# peer's XDP program) plus the loop step of bpf_test_run_xdp_live
# (bpf_test_timer_continue), i.e. everything the kernel's own timer counts
# per batch. QEMU's gdbstub steps with IRQs and timers masked (its default
# sstep flags), so no interrupt handler lands in the count.
import bisect
import collections
import json
import os
import re
import sys
import time

try:
    import gdb
except ImportError:  # plain python3: the report
    gdb = None

BATCH_FN = "xdp_test_run_batch"
# Entry points of asynchronous events, and work that only runs when a timer
# tick or a reschedule got in: seeing one means the window is not the plain
# datapath (an interrupt, exception, pending timer/RCU softirq or resched).
ASYNC_RE = re.compile(r"^(asm_(sysvec|common_interrupt|exc)|irq_entries_start|entry_SYSCALL"
                      r"|run_timer_softirq|rcu_core|tasklet_action|run_rebalance_domains|sched_balance_softirq"
                      r"|hrtimer_run_softirq|__schedule$|schedule$|__cond_resched)")


def log(msg):
    sys.stderr.write("insn_profile: %s\n" % msg)
    sys.stderr.flush()


def ex(cmd):
    return gdb.execute(cmd, to_string=True)


def connect(port, deadline_s=60):
    t0 = time.time()
    while True:
        try:
            ex("target remote 127.0.0.1:%d" % port)
            return
        except gdb.error as e:
            if time.time() - t0 > deadline_s:
                raise gdb.GdbError("cannot connect to the gdbstub on port %d: %s" % (port, e))
            time.sleep(0.5)


def reg(name):
    return int(gdb.parse_and_eval("$" + name)) & 0xFFFFFFFFFFFFFFFF


def batch_entry():
    """Address of xdp_test_run_batch (it may be a .constprop/.isra clone)."""
    for name in (BATCH_FN, BATCH_FN + ".constprop.0", BATCH_FN + ".isra.0"):
        try:
            return int(gdb.parse_and_eval("(long)&'%s'" % name)) & 0xFFFFFFFFFFFFFFFF, name
        except gdb.error:
            pass
    # Inlined everywhere would have no address; we need a real call.
    raise gdb.GdbError("no out-of-line %s in this vmlinux" % BATCH_FN)


# --- symbols -----------------------------------------------------------------

def kernel_symbols():
    """Sorted (start, name) of text symbols from the ELF symbol table."""
    out = ex("maint print msymbols")
    syms = []
    for line in out.splitlines():
        # [ 123] t 0xffffffff81393990 xdp_test_run_batch.constprop.0 section .text  ...
        m = re.match(r"\s*\[\s*\d+\]\s+([tTwW])\s+0x([0-9a-f]+)\s+(\S+)", line)
        if m:
            syms.append((int(m.group(2), 16), m.group(3)))
    # One address, several names (section markers such as
    # __softirqentry_text_start, aliases): keep the function's own name.
    def rank(name):
        marker = re.search(r"(_text_(start|end)|^_s|^_e|^__start_|^__stop_)", name) is not None
        return (marker, name.startswith("__pfx_"), name)
    best = {}
    for addr, name in syms:
        if addr not in best or rank(name) < rank(best[addr]):
            best[addr] = name
    return sorted(best.items())


def bpf_ksyms():
    """(start, end, name) of JIT images from the kernel's bpf_kallsyms list:
    programs (bpf_prog_<tag>_<name>), dispatchers, trampolines."""
    res = []
    try:
        head = gdb.parse_and_eval("&bpf_kallsyms")
        ksym_t = gdb.lookup_type("struct bpf_ksym")
        off = int(gdb.parse_and_eval("(long)&((struct bpf_ksym *)0)->lnode"))
        node = head["next"]
        n = 0
        while int(node) != int(head) and n < 100000:
            k = gdb.Value(int(node) - off).cast(ksym_t.pointer()).dereference()
            res.append((int(k["start"]), int(k["end"]), k["name"].string()))
            node = node["next"]
            n += 1
    except gdb.error as e:
        log("cannot read bpf_kallsyms (%s): JIT code shows as 'bpf_prog (JIT)'" % e)
    return res


class Resolver:
    def __init__(self):
        self.syms = kernel_symbols()
        self.starts = [s for s, _ in self.syms]
        self.bpf = bpf_ksyms()
        try:
            self.etext = int(gdb.parse_and_eval("(long)&_etext")) & 0xFFFFFFFFFFFFFFFF
            self.stext = int(gdb.parse_and_eval("(long)&_stext")) & 0xFFFFFFFFFFFFFFFF
        except gdb.error:
            self.stext, self.etext = 0, 1 << 64
        # The init text and entry trampolines sit past _etext; accept the
        # kernel image range as a whole.
        try:
            self.end = int(gdb.parse_and_eval("(long)&_end")) & 0xFFFFFFFFFFFFFFFF
        except gdb.error:
            self.end = self.etext

    def function(self, pc):
        for s, e, name in self.bpf:
            if s <= pc < e:
                return name
        if self.stext <= pc < self.end:
            i = bisect.bisect_right(self.starts, pc) - 1
            if i >= 0:
                return self.syms[i][1]
        return "bpf_prog (JIT)" if pc >= 0xFFFFFFFFA0000000 else "?? 0x%x" % pc

    @staticmethod
    def inlined(pc):
        """Innermost function by debuginfo (inlined callees by their own name)."""
        try:
            b = gdb.block_for_pc(pc)
        except RuntimeError:
            b = None
        while b is not None and b.function is None:
            b = b.superblock
        return b.function.print_name if b is not None else None


# --- calls -------------------------------------------------------------------

def call_tree(trace, fn_of):
    """Replay the trace with a shadow stack: a `call` pushes a frame for the
    function it lands in, a `ret` pops back to the frame whose return address
    it reached. Returns entries per function (a call or jmp from another
    function into it: tail calls, the dispatcher's jump into a program and
    BPF tail calls count), instructions per function inclusive of its callees
    (those reached by a jmp count with the frame that jumped; each
    instruction once per function, recursion or not), warnings."""
    arch = gdb.selected_frame().architecture()
    kind = {}
    for pc in set(trace):
        try:
            d = arch.disassemble(pc)[0]
            asm = d["asm"].split()
            op = asm[0] if asm else ""
            if op in ("rep", "repz", "repnz", "lock", "notrack", "bnd") and len(asm) > 1:
                op = asm[1]
            kind[pc] = (op, d["length"])
        except (gdb.error, gdb.MemoryError, IndexError):
            kind[pc] = ("?", 0)
    calls = collections.Counter()
    incl = collections.Counter()
    warnings = []
    root = fn_of[trace[0]]
    stack = [(root, None)]  # (function, return address)
    calls[root] += 1
    for i, pc in enumerate(trace):
        on = set(f for f, _ in stack)
        on.add(fn_of[pc])
        for f in on:
            incl[f] += 1
        if i + 1 == len(trace):
            break
        nxt = trace[i + 1]
        op, length = kind[pc]
        if (op.startswith("call") or op.startswith("j")) and fn_of[nxt] != fn_of[pc]:
            calls[fn_of[nxt]] += 1
        if op.startswith("call") and nxt != pc + length:
            stack.append((fn_of[nxt], pc + length))
        elif op.startswith("ret") or op == "iretq" or op == "sysretq":
            for j in range(len(stack) - 1, 0, -1):
                if stack[j][1] == nxt:
                    del stack[j:]
                    break
            else:
                if len(stack) == 1:  # the window's first function returned
                    stack[0] = (fn_of[nxt], None)
                elif len(warnings) < 20:
                    warnings.append("ret at 0x%x to 0x%x: no matching frame" % (pc, nxt))
    return calls, incl, warnings


# --- main --------------------------------------------------------------------

def main():
    port = int(os.environ["IP_PORT"])
    skip = int(os.environ.get("IP_SKIP", "72"))
    batches = int(os.environ.get("IP_BATCHES", "1"))
    outdir = os.environ["IP_OUT"]
    label = os.environ.get("IP_LABEL", "")
    want_prog = os.environ.get("IP_PROG", "")
    max_steps = int(float(os.environ.get("IP_MAX_STEPS", "5e6")))
    os.makedirs(outdir, exist_ok=True)

    ex("set pagination off")
    ex("set confirm off")
    ex("set width 0")
    # Each stop would print its location (and source line): slow, and noise.
    ex("set suppress-cli-notifications on")
    ex("set print frame-info short-location")
    ex("set source open off")
    entry, entry_name = batch_entry()
    # The run's last batch has no next entry: its window ends where the loop
    # of bpf_test_run_xdp_live hands over to bpf_test_timer_leave().
    try:
        run_end = int(gdb.parse_and_eval("(long)&bpf_test_timer_leave")) & 0xFFFFFFFFFFFFFFFF
    except gdb.error:
        run_end = None
    log("window: %s at 0x%x, skipping %d calls, stepping %d" % (entry_name, entry, skip, batches))
    connect(port)
    # Sanity: QEMU's single-step masks IRQs and timers (sstep=0x7) unless
    # someone changed it; say what it is.
    try:
        sstep = ex("maint packet qqemu.sstep").strip().splitlines()[-1]
    except gdb.error:
        sstep = "?"
    log("qemu sstep flags: %s" % sstep)

    ex("hbreak *0x%x" % entry)
    bnum = gdb.breakpoints()[-1].number
    if skip > 0:
        ex("ignore %d %d" % (bnum, skip))
    t_wait = time.time()
    ex("continue")
    if reg("pc") != entry:
        raise gdb.GdbError("stopped at 0x%x, not at %s" % (reg("pc"), entry_name))
    log("breakpoint hit after %.1f s" % (time.time() - t_wait))
    ex("delete %d" % bnum)

    # Which program, how many frames: xdp_test_run_batch(xdp, prog, repeat).
    prog_name = ""
    try:
        prog_name = gdb.parse_and_eval("((struct bpf_prog *)$rsi)->aux->name").string()
    except gdb.error as e:
        log("cannot read the program name: %s" % e)
    frames = []

    def batch_frames():
        try:
            size = int(gdb.parse_and_eval("((struct xdp_test_data *)$rdi)->batch_size"))
        except gdb.error:
            size = 64
        return min(reg("rdx") & 0xFFFFFFFF, size)

    if want_prog and prog_name != want_prog:
        raise gdb.GdbError("ingress program is '%s', expected '%s'" % (prog_name, want_prog))
    frames.append(batch_frames())

    # Step. One step = one guest instruction as QEMU counts them for
    # -icount (a rep-prefixed string instruction: one per iteration).
    counts = collections.Counter()
    per_batch = []
    trace = []
    steps = 0
    batch_steps = 0
    t0 = time.time()
    last_report = t0
    pc = entry
    while True:
        counts[pc] += 1
        trace.append(pc)
        steps += 1
        batch_steps += 1
        ex("stepi")
        pc = reg("pc")
        if pc == entry or pc == run_end:
            per_batch.append(batch_steps)
            batch_steps = 0
            if pc == run_end:
                if len(per_batch) < batches:
                    log("the run ended after %d of %d batches" % (len(per_batch), batches))
                break
            if len(per_batch) == batches:
                break
            frames.append(batch_frames())
        if steps >= max_steps:
            raise gdb.GdbError("no return to %s after %d steps: lost?" % (entry_name, steps))
        now = time.time()
        if now - last_report > 15:
            log("%d steps, %.0f steps/s" % (steps, steps / (now - t0)))
            last_report = now
    dt = time.time() - t0
    log("%d steps in %.1f s (%.0f steps/s)" % (steps, dt, steps / dt if dt else 0))

    # Map PCs to functions while the guest still holds its bpf_kallsyms.
    r = Resolver()
    fn_of = {pc: r.function(pc) for pc in counts}
    inl_of = {pc: (Resolver.inlined(pc) or fn_of[pc]) for pc in counts}
    by_fn = collections.Counter()
    by_inl = collections.Counter()
    for pc, n in counts.items():
        by_fn[fn_of[pc]] += n
        by_inl[inl_of[pc]] += n
    unknown = sorted(f for f in by_fn if f.startswith("??"))
    async_fns = sorted(f for f in by_fn if ASYNC_RE.match(f))

    calls, inclusive, stack_warnings = call_tree(trace, fn_of)

    npkt = sum(frames)
    with open(os.path.join(outdir, "pcs.txt"), "w") as f:
        for pc in trace:
            f.write("%x\n" % pc)
    res = {
        "schema": "insn-profile/1",
        "label": label,
        "ingress_prog": prog_name,
        "window": "%s entry -> next entry (batch + bpf_test_run_xdp_live loop step)" % entry_name,
        "run_ended": pc == run_end,
        "skipped_calls": skip,
        "batches": len(per_batch),
        "frames": frames,
        "packets": npkt,
        "instructions": steps,
        "instructions_per_batch": per_batch,
        "instructions_per_packet": steps / npkt,
        "step_seconds": dt,
        "qemu_sstep": sstep,
        "unresolved": unknown,
        "async_entries": async_fns,
        "bpf_ksyms": [{"start": "0x%x" % s, "end": "0x%x" % e, "name": n} for s, e, n in r.bpf],
        "functions": [
            {"function": fn, "instructions": n, "per_packet": n / npkt, "calls": calls.get(fn, 0)}
            for fn, n in by_fn.most_common()
        ],
        "inclusive": [{"function": fn, "instructions": n, "per_packet": n / npkt, "calls": calls.get(fn, 0)}
                      for fn, n in inclusive.most_common()],
        "call_tree_warnings": stack_warnings,
        "inlined": [{"function": fn, "instructions": n, "per_packet": n / npkt} for fn, n in by_inl.most_common()],
    }
    with open(os.path.join(outdir, "profile.json"), "w") as f:
        json.dump(res, f, indent=1)
    log("ingress program %s, %d frames, %d instructions (%.1f/pkt)" % (prog_name, npkt, steps, steps / npkt))
    if unknown:
        log("WARNING: unresolved PCs: %s" % ", ".join(unknown[:10]))
    if async_fns:
        log("WARNING: an interrupt or exception got into the window: %s" % ", ".join(async_fns))

    # Let the guest finish its run (its own figure is the cross-check).
    ex("detach")


# --- report ------------------------------------------------------------------

def report(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="insn_profile.py", description="Print a profile recorded by insn-profile.sh.")
    ap.add_argument("profile", help="the output dir of insn-profile.sh, or its profile.json")
    ap.add_argument("--rows", type=int, default=40, help="rows of the table (default 40)")
    a = ap.parse_args(argv)
    path = os.path.join(a.profile, "profile.json") if os.path.isdir(a.profile) else a.profile
    p = json.load(open(path))
    rows = a.rows
    figure = os.path.join(os.path.dirname(path), "figure.log")
    guest = open(figure, errors="replace").read() if os.path.exists(figure) else ""
    m = re.search(r"measured run (\d+) ns/pkt \(([\d.]+) delivered\)", guest)
    print("case: %s   ingress program: %s" % (p["label"], p["ingress_prog"]))
    print("window: %s; %d batch(es), frames %s" % (p["window"], p["batches"], p["frames"]))
    print("%-44s %10s %8s %7s" % ("function", "insn/pkt", "share", "calls"))
    for f in p["functions"][:rows]:
        print("%-44s %10.1f %7.1f%% %7d" % (f["function"][:44], f["per_packet"],
                                             100.0 * f["instructions"] / p["instructions"], f["calls"]))
    rest = p["functions"][rows:]
    if rest:
        print("%-44s %10.1f %7.1f%%" % ("(%d more functions)" % len(rest), sum(f["per_packet"] for f in rest),
                                         100.0 * sum(f["instructions"] for f in rest) / p["instructions"]))
    print("%-44s %10.1f   (%d instructions, per batch %s)" % ("TOTAL per packet", p["instructions_per_packet"],
                                                              p["instructions"], p["instructions_per_batch"]))
    incl = [f for f in p["inclusive"] if f["per_packet"] >= 1.0 and f["calls"]]
    print("\ninclusive of callees (functions entered by a call, >= 1 insn/pkt):")
    for f in incl[:rows // 2]:
        print("  %-42s %10.1f %7d calls" % (f["function"][:42], f["per_packet"], f["calls"]))
    if m:
        print("kernel's own figure (plain boot, 20000-frame run): %s instructions/pkt (delivered %s)"
              % (m.group(1), m.group(2)))
    if p["unresolved"]:
        print("WARNING: unresolved PCs:", ", ".join(p["unresolved"][:10]))
    if p["async_entries"]:
        print("WARNING: interrupt/exception entries in the window:", ", ".join(p["async_entries"]))
    if p["call_tree_warnings"]:
        print("note: call tree:", "; ".join(p["call_tree_warnings"][:5]))
    print("stepping: %.0f s (%.0f steps/s)" % (p["step_seconds"], p["instructions"] / p["step_seconds"]))


if gdb is None:
    report(sys.argv[1:])
else:
    try:
        main()
    except Exception as e:  # gdb -batch: report, and make the exit status say so
        log("ERROR: %s" % e)
        try:
            ex("kill")
        except Exception:
            pass
        gdb.execute("quit 1")
