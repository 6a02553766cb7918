// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The bench's build of the shared slot firewall (vm_fw_shared.bpf.c): the
 * same program as plain XDP, so BPF_PROG_TEST_RUN can time it, with the
 * VM found by the frame's ingress device (the test run's: loopback). */
#define VM_SHARED_DEV ingress_ifindex
#define VM_SHARED_SEC "xdp"
#include "vm_fw_shared.bpf.c"
