#!/usr/bin/env bash
# Install the Debian packages the build, tests and demos need. Idempotent: only
# packages that are missing are installed, so a second run costs one dpkg query.
#   scripts/deps.sh [PKG...]              native build (extra packages appended)
#   scripts/deps.sh --arch arm64 [PKG...] also the aarch64 cross toolchain, the
#       :arm64 libraries (Debian multiarch) and qemu-user-static for a smoke run
set -euo pipefail

arch=
if [ "${1:-}" = "--arch" ]; then
  arch=${2:?"--arch needs an architecture (arm64)"}
  shift 2
  [ "$arch" = arm64 ] || { echo "deps: only --arch arm64 is supported" >&2; exit 1; }
fi

packages=(
  build-essential cmake pkg-config make
  clang-19 llvm-19 libbpf-dev bpftool libelf-dev zlib1g-dev
  libnl-3-dev libnl-route-3-dev libnl-genl-3-dev libcap-dev
  catch2 libcli11-dev libfmt-dev nlohmann-json3-dev libtoml11-dev
  # vmhostd: its metrics endpoint and systemd notification
  libcpp-httplib-dev libsystemd-dev
  iproute2 ethtool python3 bash-completion ccache
  # the man pages (docs/man), and man to check that they render
  scdoc man-db groff-base
  # tests/port_security: the spoof matrix is crafted with scapy
  python3-scapy
  # test_real_clients: a real DHCP server and RA sender, DHCP client, ping
  dnsmasq-base busybox iputils-ping
  # cli: vmhostd under libvirtd: libvirtd, virsh, and QEMU for its TCG
  # domains (only a Recommends of libvirt-daemon; SeaBIOS and the NIC ROMs
  # come with it)
  libvirt-daemon-system libvirt-clients qemu-system-x86
)
if [ "$arch" = arm64 ]; then
  # The libraries the arm64 binaries link; CLI11, nlohmann-json and catch2 are
  # header-only (Architecture: all) and come from the native list above.
  packages+=(
    gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user-static file
    libbpf-dev:arm64 libelf-dev:arm64 zlib1g-dev:arm64
    libnl-3-dev:arm64 libnl-route-3-dev:arm64 libnl-genl-3-dev:arm64
    libfmt-dev:arm64 libcap-dev:arm64 libcpp-httplib-dev:arm64 libsystemd-dev:arm64
    # make vmtest-arm64 / bench-vm-arm64: the arm64 guest (QEMU virt,
    # Cortex-A53), and the :arm64 libraries of the Debian arm64 programs
    # tests/vm/arm64-guest.sh unpacks for it (dash, bash, iproute2,
    # iputils-ping, ethtool, dnsmasq-base, python3.11-minimal); python3's
    # standard library is Multi-Arch: same, so its :arm64 extension modules
    # sit next to the amd64 ones (the tests' servers and scapy run on it)
    qemu-system-arm libtinfo6:arm64 libbsd0:arm64 libdb5.3:arm64 libmnl0:arm64
    libselinux1:arm64 libtirpc3:arm64 libxtables12:arm64 libidn2-0:arm64
    libdbus-1-3:arm64 libgmp10:arm64 libhogweed6:arm64 libnettle8:arm64
    libnetfilter-conntrack3:arm64 libnftables1:arm64
    libpython3.11-minimal:arm64 libpython3.11-stdlib:arm64 libexpat1:arm64
  )
fi
[ "$#" -gt 0 ] && packages+=("$@")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages: ${missing[*]}" >&2
  echo "deps: run 'sudo make deps' (or install them with apt-get) and retry" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
refreshed=
if [ "$arch" = arm64 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
  apt-get update
  refreshed=1
fi
# A fresh machine has no package lists yet; refresh them only when needed.
if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
  [ -n "$refreshed" ] && exit 1
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi
