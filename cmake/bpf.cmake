# Compile bpf/*.bpf.c with clang for the BPF target and generate libbpf
# skeletons, so binaries embed their BPF objects and need no files at run time.
find_program(BPF_CLANG NAMES clang-19 clang REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)

# The target architecture decides the asm/ headers and __TARGET_ARCH (used by
# bpf_tracing.h); the BPF bytecode itself is the same on every architecture.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(BPF_ARCH arm64)
  set(BPF_MULTIARCH aarch64-linux-gnu)
else()
  set(BPF_ARCH x86)
  set(BPF_MULTIARCH x86_64-linux-gnu)
endif()

set(BPF_OUT ${CMAKE_BINARY_DIR}/bpf)
file(MAKE_DIRECTORY ${BPF_OUT})

# add_bpf_object(<name>): bpf/<name>.bpf.c -> <name>.bpf.o -> <name>.skel.h
function(add_bpf_object name)
  set(src ${CMAKE_CURRENT_SOURCE_DIR}/${name}.bpf.c)
  set(obj ${BPF_OUT}/${name}.bpf.o)
  set(skel ${BPF_OUT}/${name}.skel.h)
  file(GLOB headers CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.h)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${BPF_CLANG} -g -O2 -target bpf -Wall -Werror -D__TARGET_ARCH_${BPF_ARCH}
            -I/usr/include/${BPF_MULTIARCH} -I${CMAKE_CURRENT_SOURCE_DIR} -c ${src} -o ${obj}
    DEPENDS ${src} ${headers}
    COMMENT "BPF ${name}.bpf.o"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name} > ${skel}
    DEPENDS ${obj}
    COMMENT "skeleton ${name}.skel.h"
    VERBATIM)
  set_property(GLOBAL APPEND PROPERTY BPF_SKELETONS ${skel})
endfunction()
