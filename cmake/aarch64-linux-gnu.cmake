# Cross build for arm64 boards (the espressobin: Marvell Armada 3720, 2x
# Cortex-A53) on Debian: the aarch64 cross compilers and the :arm64 multiarch
# -dev packages ('scripts/deps.sh --arch arm64'). 'make ARCH=arm64' uses it.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)   # cmake/bpf.cmake: __TARGET_ARCH_arm64, aarch64 asm/ headers
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# Libraries and pkg-config files of the arm64 multiarch packages only; host
# programs (clang, bpftool) still come from the build machine.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")

# Run arm64 binaries (the smoke check) under qemu-user when it is installed.
find_program(QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${QEMU_AARCH64} -L /usr/aarch64-linux-gnu)
endif()
