#!/bin/bash
# Build a guest kernel for the devmap-egress tests.
#
#   kernel-patches/build.sh [patched|stock]
#
# patched (default): Debian linux-source-6.12 + kernel-patches/*.patch (0000-* skipped)
# stock:             the same source, no patches
#
# Environment:
#   KBUILD_DIR  where sources and build trees go (default: <repo>/kbuild)
#   KDEBUG=1    debug flavour: adds config-debug.fragment (KASAN, lockdep,
#               kmemleak), separate build tree
#   JOBS        make -j (default: nproc)
#   UPTO=NNNN   patched flavour with the series only up to patch NNNN (its own
#               trees, src-patched-NNNN and out-patched-NNNN): measures what
#               each patch changes (make bench-vm-steps)
#   FORCE=1     run make even when the build stamp says nothing changed
#   CONFIG_ONLY=1  stop after unpacking and configuring
#   KARCH       x86_64 (default) or arm64: the arm64 guest (QEMU virt,
#               Cortex-A53) cross-built with gcc-aarch64-linux-gnu from the
#               same unpacked source, into out-arm64-<flavour>; adds
#               config-arm64.fragment to config.fragment less its x86 lines
#
# Prints the path of the bzImage (arm64: Image) on the last line of stdout.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
KBUILD_DIR=${KBUILD_DIR:-$REPO/kbuild}
FLAVOUR=${1:-${FLAVOUR:-patched}}
KDEBUG=${KDEBUG:-0}
JOBS=${JOBS:-$(nproc)}
FORCE=${FORCE:-0}
TARBALL=/usr/src/linux-source-6.12.tar.xz
TOPDIR=linux-source-6.12

KARCH=${KARCH:-x86_64}
case $FLAVOUR in patched|stock) ;; *) echo "build.sh: flavour must be patched or stock" >&2; exit 2;; esac
case $KARCH in x86_64|arm64) ;; *) echo "build.sh: KARCH must be x86_64 or arm64" >&2; exit 2;; esac

log() { printf '==> %s\n' "$*" >&2; }

# --- dependencies (idempotent) -----------------------------------------
need=()
for p in linux-source-6.12 bc bison flex libelf-dev libssl-dev dwarves cpio ccache \
	 gcc make patch xz-utils python3 $([ "$KARCH" = arm64 ] && echo gcc-aarch64-linux-gnu); do
	dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null | grep -qx installed || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	log "installing ${need[*]}"
	[ "$(id -u)" = 0 ] || { echo "build.sh: need root to apt-get install ${need[*]}" >&2; exit 1; }
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
fi
want_ver=$(sed -n 's/^version: //p' "$HERE/BASE")
have_ver=$(dpkg-query -W -f='${Version}' linux-source-6.12)
# Debian's linux-source-6.12 moves with security updates: the series is built
# on whatever version the archive serves, and BASE names the one it was last
# verified on. A patch that stops applying fails the build, naming both.
if [ "$have_ver" = "$want_ver" ]; then
	log "linux-source-6.12 $have_ver (the version in BASE)"
else
	log "NOTE: linux-source-6.12 is $have_ver; the series was verified on $want_ver (BASE)"
fi

# --- the series ---------------------------------------------------------
patches=()
if [ "$FLAVOUR" = patched ]; then
	for p in "$HERE"/*.patch; do
		[ -e "$p" ] || continue
		case $(basename "$p") in 0000-*) continue;; esac
		if [ -n "${UPTO:-}" ] && [ "$(basename "$p" | cut -c1-4)" \> "$UPTO" ]; then continue; fi
		patches+=("$p")
	done
fi
fragments=("$HERE/config.fragment")
suffix=$FLAVOUR
if [ "$KARCH" = arm64 ]; then
	# The x86 fragment's options, less the ones that only x86 has or needs
	# (ACPI: QEMU's virt machine describes itself with a device tree; the
	# console is a PL011 there), then the arm64 platform.
	mkdir -p "$KBUILD_DIR"
	grep -vE '^CONFIG_(ACPI|SERIAL_8250|SERIAL_8250_CONSOLE|EARLY_PRINTK)=' "$HERE/config.fragment" \
		> "$KBUILD_DIR/config-common-arm64.fragment"
	fragments=("$KBUILD_DIR/config-common-arm64.fragment" "$HERE/config-arm64.fragment")
fi
if [ -n "${UPTO:-}" ]; then
	[ "$FLAVOUR" = patched ] || { echo "build.sh: UPTO needs the patched flavour" >&2; exit 2; }
	suffix=$FLAVOUR-$UPTO
fi
if [ "$KDEBUG" = 1 ]; then
	fragments+=("$HERE/config-debug.fragment")
	suffix=$suffix-debug  # UPTO=NNNN KDEBUG=1: out-patched-NNNN-debug, never the whole series' debug tree
fi

SRC=$KBUILD_DIR/src-$FLAVOUR${UPTO:+-$UPTO}
OUT=$KBUILD_DIR/out-$suffix
# One unpacked (and patched) source serves both architectures: only the build
# trees are per architecture.
[ "$KARCH" = arm64 ] && OUT=$KBUILD_DIR/out-arm64-$suffix
mkdir -p "$KBUILD_DIR" "$OUT"

# The code of each patch, from its first diff on: editing a commit message
# (or the git version line) does not rebuild anything.
src_hash=$( { echo "$have_ver"; stat -c '%s %Y' "$TARBALL";
	      for p in "${patches[@]}"; do sed -n '/^diff --git /,/^-- $/p' "$p"; done; } |
	    sha256sum | cut -c1-16)
cfg_hash=$( { echo "$src_hash"; cat "${fragments[@]}"; } | sha256sum | cut -c1-16)

# --- unpack + patch (only when the series changed) ----------------------
if [ "$(cat "$SRC/.stamp-src" 2>/dev/null)" != "$src_hash" ]; then
	t0=$(date +%s)
	old_files=()
	[ -f "$SRC/.patched-files" ] && mapfile -t old_files < "$SRC/.patched-files"
	log "unpacking $TARBALL into $SRC"
	rm -rf "$SRC" "$SRC.tmp"
	mkdir -p "$SRC.tmp"
	tar -C "$SRC.tmp" -xf "$TARBALL"
	mv "$SRC.tmp/$TOPDIR" "$SRC"
	rmdir "$SRC.tmp"
	: > "$SRC/.patched-files"
	for p in "${patches[@]}"; do
		log "applying $(basename "$p")"
		if ! patch -d "$SRC" -p1 --batch --forward --quiet < "$p"; then
			if [ "$have_ver" = "$want_ver" ]; then
				hint="the version the series was verified on (BASE): the patch itself is broken"
			else
				hint="the series was verified on $want_ver (BASE): rebase it onto $have_ver and record that in BASE"
			fi
			echo "build.sh: $(basename "$p") does not apply to linux-source-6.12 $have_ver; $hint" >&2
			rm -rf "$SRC"
			exit 1
		fi
		sed -n 's|^+++ b/||p' "$p" >> "$SRC/.patched-files"
	done
	# Files the previous series had touched are back to the tarball's old
	# mtime: make them newer than their objects so kbuild rebuilds them.
	for f in "${old_files[@]}"; do
		[ -e "$SRC/$f" ] && touch "$SRC/$f"
	done
	echo "$src_hash" > "$SRC/.stamp-src"
	log "source ready (${#patches[@]} patches) in $(( $(date +%s) - t0 )) s"
fi

# --- configure (only when source or fragments changed) ------------------
check_config() {
	local frag k v bad=0
	for frag in "${fragments[@]}"; do
		while IFS='=' read -r k v; do
			if [ "$v" = n ]; then
				grep -q "^$k=" "$OUT/.config" && { log "CONFIG NOT APPLIED: $k=n (have $(grep "^$k=" "$OUT/.config"))"; bad=1; }
			elif ! grep -qx "$k=$v" "$OUT/.config"; then
				log "CONFIG NOT APPLIED: $k=$v (have: $(grep "^$k=" "$OUT/.config" || echo unset))"
				bad=1
			fi
		done < <(grep -E '^CONFIG_[A-Z0-9_]+=' "$frag")
	done
	[ $bad = 0 ] && log "all requested config options are set"
	return 0
}

# The arm64 stock kernel and the UPTO steps are built where the whole
# series is: in a mount namespace of their own, their source and build tree
# are bound over the whole series' paths, so compiler command lines and
# working directories are the same and ccache serves every object whose
# sources do not differ (for the arm64 stock kernel, those that do not include
# linux/bpf.h: about half of them; for a step, most of the rest too). Kbuild's
# dependency files in those trees name the viewed paths; they are only ever
# read through the same view. (x86 stock builds at its own paths.)
VIEW=()
VSRC=$SRC VOUT=$OUT
if [ -n "${UPTO:-}" ]; then
	VSRC=$KBUILD_DIR/src-patched VOUT=${OUT/-patched-$UPTO/-patched}
elif [ "$KARCH" = arm64 ] && [ "$FLAVOUR" = stock ] && [ "$KDEBUG" != 1 ]; then
	VSRC=$KBUILD_DIR/src-patched VOUT=$KBUILD_DIR/out-arm64-patched
fi
if [ "$VSRC" != "$SRC" ]; then
	mkdir -p "$VSRC" "$VOUT"
	VIEW=(unshare -m --propagation private bash -c
	      'mount --bind "$1" "$2" && mount --bind "$3" "$4" && shift 4 && exec "$@"'
	      view "$SRC" "$VSRC" "$OUT" "$VOUT")
fi
if [ "$KARCH" = arm64 ]; then
	MAKE=("${VIEW[@]}" make -C "$VSRC" O="$VOUT" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-
	      CC="ccache aarch64-linux-gnu-gcc" HOSTCC=gcc -j"$JOBS")
	IMAGE_TARGET=Image
	BZ=$OUT/arch/arm64/boot/Image
else
	MAKE=("${VIEW[@]}" make -C "$VSRC" O="$VOUT" ARCH=x86_64 CC="ccache gcc" HOSTCC=gcc -j"$JOBS")
	IMAGE_TARGET=bzImage
	BZ=$OUT/arch/x86/boot/bzImage
fi
if [ "$(cat "$OUT/.stamp-cfg" 2>/dev/null)" != "$cfg_hash" ] || [ ! -f "$OUT/.config" ]; then
	t0=$(date +%s)
	log "configuring $OUT (tinyconfig + ${fragments[*]##*/})"
	"${MAKE[@]}" -s tinyconfig >/dev/null
	"$SRC/scripts/kconfig/merge_config.sh" -m -O "$OUT" "$OUT/.config" "${fragments[@]}" >/dev/null
	"${MAKE[@]}" -s olddefconfig >/dev/null
	check_config
	echo "$cfg_hash" > "$OUT/.stamp-cfg"
	rm -f "$OUT/.stamp-build"
	log "configured in $(( $(date +%s) - t0 )) s"
fi

if [ "${CONFIG_ONLY:-0}" = 1 ]; then
	echo "$OUT/.config"
	exit 0
fi

# --- build --------------------------------------------------------------
if [ "$FORCE" = 1 ] || [ ! -f "$BZ" ] || [ "$(cat "$OUT/.stamp-build" 2>/dev/null)" != "$cfg_hash" ]; then
	t0=$(date +%s)
	log "building $IMAGE_TARGET ($KARCH) in $OUT with -j$JOBS (log: $OUT/build.log)"
	rm -f "$OUT/.stamp-build"
	set +e
	"${MAKE[@]}" "$IMAGE_TARGET" 2>&1 | tee "$OUT/build.log" |
		grep --line-buffered -E '^  (CC|LD|AR|BTF|BTFIDS|OBJCOPY)|Kernel:|[Ee]rror|warning:' >&2
	rc=${PIPESTATUS[0]}
	set -e
	[ "$rc" = 0 ] || { echo "build.sh: make failed, see $OUT/build.log" >&2; tail -30 "$OUT/build.log" >&2; exit 1; }
	echo "$cfg_hash" > "$OUT/.stamp-build"
	log "built in $(( $(date +%s) - t0 )) s"
else
	log "up to date: $BZ"
fi
echo "$BZ"
