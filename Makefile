# devmap-egress: egress XDP programs in devmap and cpumap slots.
# 'make demo' runs the VM-host demo (root; VMS=N, default 8),
# 'make test' runs every test against the running kernel (root),
# 'make vmtest' builds the patched kernel and runs the tests inside it,
# 'make bench' (QUICK=1: under a minute) measures the datapath, control plane
# and cpumap split vs single, 'make deps' installs the Debian packages (run by
# the others when missing).
# 'make profile CASE=redirect FLAVOUR=stock' counts one datapath case's guest
# instructions per kernel function (kernel-patches/README.md).
# 'make ARCH=arm64' cross-builds the tools, library and BPF objects for arm64
# boards into build-arm64/ and runs devmapctl --help under qemu-user;
# 'make demo-cpumap' runs the espressobin pipeline demo (root).
# 'make install' installs the libraries, headers, pkg-config and CMake files,
# devmapctl, the BPF objects and the man pages (PREFIX, DESTDIR);
# 'make deb' builds the Debian packages into $(BUILD)/deb/, 'make deb-test'
# installs them into a temporary root and runs devmapctl from there.
# 'make vmtest-arm64' builds the stock and patched kernels for arm64 and runs
# the tests, the reproducer, the selftests and the cpumap demo inside both,
# under qemu-system-aarch64 (virt, Cortex-A53 x2); 'make bench-vm-arm64'
# counts the datapath's guest instructions there (docs/espressobin.md).

ARCH      ?=
ifneq ($(SANITIZE),)
BUILD     ?= build-asan
SAN_FLAGS  = -DDME_SANITIZE=ON
endif
ifeq ($(ARCH),arm64)
BUILD     ?= build-arm64
DEPS_ARGS  = --arch arm64
CROSS_FLAGS = -DCMAKE_TOOLCHAIN_FILE=$(CURDIR)/cmake/aarch64-linux-gnu.cmake
else ifneq ($(ARCH),)
$(error ARCH=$(ARCH): only ARCH=arm64 (cross build) or no ARCH (native) is supported)
endif
BUILD     ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS      ?= $(shell nproc)
CMAKE_FLAGS = -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
              -DCMAKE_C_COMPILER_LAUNCHER=$(shell command -v ccache) \
              -DCMAKE_CXX_COMPILER_LAUNCHER=$(shell command -v ccache) $(CROSS_FLAGS) $(SAN_FLAGS)

.PHONY: all deps build install deb deb-test test test-unit test-kernel fuzz fuzz-model bench bench-vm bench-vm-secgroups bench-vm-steps profile demo demo-cpumap smoke-arm64 kernel \
	vmtest vmtest-arm64 kernel-arm64 bench-vm-arm64 clean

ifeq ($(ARCH),arm64)
all: build smoke-arm64
else
all: build
endif

deps:
	@scripts/deps.sh $(DEPS_ARGS)

$(BUILD)/Makefile: CMakeLists.txt | deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j$(JOBS)

# PREFIX: the install prefix (default: the configured CMAKE_INSTALL_PREFIX,
# /usr/local); DESTDIR: a staging root, as usual.
PREFIX ?=
DESTDIR ?=
install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) $(if $(PREFIX),--prefix $(PREFIX))

# Debian packages (debian/): dpkg-buildpackage and debhelper on an export of
# the tracked tree (uncommitted changes to tracked files included), in
# $(BUILD)/deb/src so that nothing is written outside the build directory;
# then lintian (docs/packaging.md explains each tag it still reports).
DEB_DIR = $(BUILD)/deb
deb:
	@test -z "$(ARCH)" || { echo "make deb builds for this machine: drop ARCH=$(ARCH)"; exit 1; }
	@scripts/deps.sh debhelper dpkg-dev fakeroot lintian scdoc
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	tree=$$(git stash create) && git archive --format=tar $${tree:-HEAD} | tar -x -C $(DEB_DIR)/src
	cd $(DEB_DIR)/src && DME_GIT_DESCRIBE=$$(git -C $(CURDIR) describe --always --dirty --tags) \
	  dpkg-buildpackage -us -uc -b -j$(JOBS)
	lintian --info --display-info --pedantic $(DEB_DIR)/*.changes | tee $(DEB_DIR)/lintian.txt

# The packages installed with dpkg --root into a temporary root (no
# maintainer scripts run there), and devmapctl run from it (root).
deb-test:
	@test -n "$$(ls $(DEB_DIR)/*.deb 2>/dev/null)" || { echo "deb-test: no packages in $(DEB_DIR): run 'make deb' first"; exit 1; }
	unshare -n -m tests/install/deb_test.sh $(DEB_DIR)

# Under qemu-user: the arm64 tools start and parse their command line, the
# unit tests pass. No BPF under emulation: the kernel tests and the demo run
# on the board itself (docs/espressobin.md).
QEMU_ARM64 = qemu-aarch64-static -L /usr/aarch64-linux-gnu
smoke-arm64: build
	@test "$(ARCH)" = arm64 || { echo "smoke-arm64: run 'make ARCH=arm64'"; exit 1; }
	$(QEMU_ARM64) $(BUILD)/tools/devmapctl --help > /dev/null
	$(QEMU_ARM64) $(BUILD)/tools/cpumap-demo --help > /dev/null
	$(QEMU_ARM64) $(BUILD)/tests/unit/unit-tests
	@file $(BUILD)/tools/devmapctl $(BUILD)/bpf/cpumap_pipeline.bpf.o | sed 's/, BuildID.*//'
	@echo "smoke-arm64: devmapctl and cpumap-demo start, unit tests pass under qemu-aarch64"

# Unit tests need nothing; kernel tests need root, BPF, veth and namespaces,
# and fail (never skip) without them. ctest prints the closing summary.
# SANITIZE=1: the same suite on the ASan+UBSan build (build-asan/); a leak,
# a memory error or undefined behaviour fails the test that met it.
SAN_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=0 \
          UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
          LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0
test: build bpffs
	@test -z "$(ARCH)" || { echo "make test runs natively: drop ARCH=$(ARCH)"; exit 1; }
	cd $(BUILD) && $(if $(SANITIZE),$(SAN_ENV)) ctest --output-on-failure --timeout $(if $(SANITIZE),900,300)

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit

test-kernel: build bpffs
	cd $(BUILD) && ctest --output-on-failure -L kernel

# The VM guard against its reference model (tests/fuzz/, docs/port-security.md):
# FUZZ_FRAMES generated frames from FUZZ_SEED (default: a new seed each run,
# printed; pass it back to reproduce) through the loaded guard (root).
# Mismatches are printed and written to $(BUILD)/fuzz-corpus/ for
# 'guard-fuzz --replay FILE'. make test runs 500,000 frames from seed 1.
FUZZ_FRAMES ?= 5000000
FUZZ_SEED ?= $(shell date +%s)
fuzz: build bpffs
	@test -z "$(ARCH)" || { echo "make fuzz runs natively: drop ARCH=$(ARCH)"; exit 1; }
	$(BUILD)/tests/fuzz/guard-fuzz --frames $(FUZZ_FRAMES) --seed $(FUZZ_SEED) --corpus $(BUILD)/fuzz-corpus

# The reference model alone under libFuzzer (no root, no kernel): ASan and
# UBSan on its parser, consistency of its verdicts; FUZZ_MODEL_SECONDS long.
FUZZ_MODEL_SECONDS ?= 60
FUZZ_MODEL_SRC = tests/fuzz/guard_model_libfuzzer.cpp tests/fuzz/guard_model.cpp tests/fuzz/guard_gen.cpp
fuzz-model: $(FUZZ_MODEL_SRC) tests/fuzz/guard_model.hpp tests/fuzz/guard_gen.hpp tests/fuzz/guard_identities.hpp
	@scripts/deps.sh clang-19 libfuzzer-19-dev libclang-rt-19-dev
	@mkdir -p $(BUILD)/fuzz-model-corpus
	clang++-19 -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -Itests/fuzz -Itools/vmhost -Ibpf $(FUZZ_MODEL_SRC) -o $(BUILD)/guard-model-fuzzer
	$(BUILD)/guard-model-fuzzer -max_total_time=$(FUZZ_MODEL_SECONDS) -max_len=1600 $(BUILD)/fuzz-model-corpus

# The VM host of the thread's use case, in namespaces it creates and removes.
VMS ?= 8
demo: build
	$(BUILD)/tools/vmhost-demo $(VMS)

# The kernel side (kernel-patches/): build the patched Linux 6.12 guest kernel,
# and boot it under QEMU to run, inside it, every kernel test (the ones that
# need the patches too), the series' selftest and the bypass reproducer; the
# reproducer also runs on a stock kernel built from the same source, where it
# must find the bypass. KDEBUG=1: KASAN, lockdep and kmemleak flavour.
KBUILD_DIR ?= $(CURDIR)/kbuild
export KBUILD_DIR
kernel:
	$(MAKE) -C kernel-patches $(if $(KDEBUG),kernel-debug,kernel)

# The debug kernel runs the same suite several times slower under TCG.
VMTEST_TIMEOUT ?= $(if $(KDEBUG),5400,1200)
vmtest: build kernel
	$(MAKE) -C kernel-patches tests selftest
	kernel-patches/vmtest.sh -t $(VMTEST_TIMEOUT) -- tests/vm/in-guest.sh $(CURDIR)/$(BUILD) $(KBUILD_DIR)
	$(if $(KDEBUG),,$(MAKE) -C kernel-patches repro)

# The same on arm64, the espressobin's ISA: both kernels cross-built from the
# one unpacked source (kernel-patches/build.sh, KARCH=arm64), the userspace
# cross-built (make ARCH=arm64, into build-arm64/), the reproducer and the
# cut-down test_progs cross-built, then both kernels booted under
# qemu-system-aarch64 -M virt -cpu cortex-a53 -smp 2 (TCG) running
# tests/vm/in-guest-arm64.sh (what it checks: there). Not in .ci/run: see
# README for how long it takes.
ARM64_BUILD = $(CURDIR)/build-arm64
kernel-arm64:
	KARCH=arm64 kernel-patches/build.sh patched
	KARCH=arm64 kernel-patches/build.sh stock

vmtest-arm64: kernel-arm64
	@test -z "$(ARCH)" || { echo "make vmtest-arm64 picks its architectures itself: drop ARCH=$(ARCH)"; exit 1; }
	$(MAKE) ARCH=arm64 build
	$(MAKE) -C kernel-patches/tests deps arm64 ARM64_OUT=$(KBUILD_DIR)/tests-arm64
	KARCH=arm64 kernel-patches/selftest.sh
	tests/vm/vmtest-arm64.sh $(ARM64_BUILD) $(KBUILD_DIR)

# The espressobin pipeline on this machine: RX pinned to CPU 0, the policy in a
# cpumap slot on CPU 1, transmit to a device in another namespace; per-CPU
# counts and split-vs-single throughput, cheap and heavy policy (root).
DEMO_ARGS ?=
demo-cpumap: build
	$(BUILD)/tools/cpumap-demo $(DEMO_ARGS)

# Benchmarks against the running kernel (root): writes
# bench/results/<date>-<kernel>.json and .md, prints the Markdown tables.
# Full run: a few minutes; QUICK=1: under a minute. See bench/README.md.
RESULTS ?= bench/results
BENCH_FLAGS ?=
bench: build
	@scripts/deps.sh python3-matplotlib
	@mkdir -p $(RESULTS)
	@out=$(RESULTS)/$$(date -u +%Y-%m-%dT%H%M%S)-$$(uname -r); \
	$(BUILD)/bench/devmap-bench $(if $(QUICK),--quick) $(BENCH_FLAGS) \
	  --commit "$$(git describe --always --dirty 2>/dev/null)" --out $$out.json && \
	/usr/bin/python3 bench/plot.py $$out.json $$out-plots && echo "plots: $$out-plots/"

# The datapath cases inside the TCG guest with -icount shift=0 (one guest ns
# per guest instruction: instructions/pkt, repeatable), on the stock and the
# patched 6.12 kernel built from one source, side by side (bench/vm.sh).
# Writes bench/results/<date>-vm.json and .md; 20 s after the kernels. Then
# the control plane on the patched kernel (one default-program replace vs
# 1000 slot updates, <date>-vm-control.*): about 70 s more; and the cpumap
# paths per frame on both kernels, redirect again (<date>-vm-cpumap.*) and
# XDP_PASS (<date>-vm-cpumap-pass.*): 80 s.
# bench-vm-steps adds a kernel per step of the series (BENCH_VM_STEPS: the
# patches after which to stop), to measure what each patch changes, the
# cpumap paths included.
KIMAGE = arch/x86/boot/bzImage
BENCH_VM_STEPS ?= 0007 0008 0010 0011 0013 0015 0016
bench-vm: build
	$(MAKE) -C kernel-patches kernel kernel-stock
	@mkdir -p $(RESULTS)
	bench/vm.sh -a -c patched $(RESULTS)/$$(date -u +%Y-%m-%dT%H%M%S)-vm \
	  stock=$(KBUILD_DIR)/out-stock/$(KIMAGE) patched=$(KBUILD_DIR)/out-patched/$(KIMAGE)

# The security-groups section (conntrack hit, new flow, against the stateless
# firewall) in the same counting guest on the patched kernel: instructions
# per frame, identical run to run, where make bench's ns move with the
# machine's load. Writes bench/results/<date>-vm-secgroups.{json,md}; 20 s
# after the kernel.
bench-vm-secgroups: build
	$(MAKE) -C kernel-patches kernel
	@mkdir -p $(RESULTS)
	@out=$(RESULTS)/$$(date -u +%Y-%m-%dT%H%M%S)-vm-secgroups; \
	ICOUNT=1 SMP=1 kernel-patches/vmtest.sh -k $(KBUILD_DIR)/out-patched/$(KIMAGE) -t 1200 -o $$out.d -- \
	  $(BUILD)/bench/devmap-bench --sections secgroups --runs 3 --packets 20000 \
	  --out /run/scratch/out/secgroups.json >/dev/null && \
	mv $$out.d/secgroups.json $$out.json && mv $$out.d/secgroups.md $$out.md && rmdir $$out.d && \
	grep -E '^\| (frame|udp)|Flow table' $$out.md && echo "wrote $$out.json and $$out.md"

# bench-vm on arm64: the same cases and guest (-icount shift=0, one CPU), the
# arm64 devmap-bench in the arm64 stock and patched guests (KARCH=arm64), and
# the cpumap redirect-again path per frame (bench/vm.sh -a).
AIMAGE = arch/arm64/boot/Image
bench-vm-arm64: kernel-arm64
	@test -z "$(ARCH)" || { echo "make bench-vm-arm64 picks its architectures itself: drop ARCH=$(ARCH)"; exit 1; }
	$(MAKE) ARCH=arm64 build
	@mkdir -p $(RESULTS)
	KARCH=arm64 GUEST_BUILD=$(ARM64_BUILD) bench/vm.sh -a $(RESULTS)/$$(date -u +%Y-%m-%dT%H%M%S)-vm-arm64 \
	  stock=$(KBUILD_DIR)/out-arm64-stock/$(AIMAGE) patched=$(KBUILD_DIR)/out-arm64-patched/$(AIMAGE)

bench-vm-steps: build
	$(MAKE) -C kernel-patches kernel kernel-stock
	@for n in $(BENCH_VM_STEPS); do UPTO=$$n kernel-patches/build.sh patched >/dev/null || exit 1; done
	@mkdir -p $(RESULTS)
	bench/vm.sh -a $(RESULTS)/$$(date -u +%Y-%m-%dT%H%M%S)-vm-steps stock=$(KBUILD_DIR)/out-stock/$(KIMAGE) \
	  $(foreach n,$(BENCH_VM_STEPS),upto-$(n)=$(KBUILD_DIR)/out-patched-$(n)/$(KIMAGE)) \
	  patched=$(KBUILD_DIR)/out-patched/$(KIMAGE)

# Where one datapath case's instructions go, per kernel function and BPF
# program: the bench-vm guest single-stepped from gdb over one batch of 64
# frames (kernel-patches/tools/insn-profile.sh; 1-2 minutes a case). CASE: a
# datapath case (redirect, egress_pass, ...), FLAVOUR=patched|stock or
# KDIR=<kernel dir>; the kernel must be built (make kernel, make -C
# kernel-patches kernel-stock). Writes $(BUILD)/insn-profile/CASE-FLAVOUR/
# (PROFILE_OUT: elsewhere); kernel-patches/tools/insn-diff.py compares two.
CASE ?= egress_pass
FLAVOUR ?= patched
PROFILE_OUT ?=
profile: build
	@test -z "$(ARCH)" || { echo "make profile runs natively: drop ARCH=$(ARCH)"; exit 1; }
	@scripts/deps.sh gdb qemu-system-x86
	BUILD=$(abspath $(BUILD)) kernel-patches/tools/insn-profile.sh $(if $(KDIR),-k $(KDIR),-f $(FLAVOUR)) \
	  $(if $(PROFILE_OUT),-o $(PROFILE_OUT)) $(CASE)

# bpffs for the tools; the tests mount a private one of their own.
.PHONY: bpffs
bpffs:
	@mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf 2>/dev/null || \
	  echo "note: /sys/fs/bpf is not mounted and could not be (not root?)"

clean:
	rm -rf $(BUILD)
