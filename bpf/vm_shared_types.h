/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The shared slot firewall's own maps (vm_fw_shared.bpf.c), for userspace. */
#ifndef DEVMAP_EGRESS_BPF_VM_SHARED_TYPES_H
#define DEVMAP_EGRESS_BPF_VM_SHARED_TYPES_H

#define VM_SHARED_MAX_VMS 4096 /* HOST_MAX_PORTS */

/* vm_shared_stats: frames the shared program dropped before any VM's
 * policy could judge them. */
enum vm_shared_stat {
	VM_SHARED_UNKNOWN_DEV = 0, /* egress device with no VM (no vm_slot_index entry) */
	VM_SHARED_INCOMPLETE = 1,  /* the VM's maps not all there (joining or leaving) */
	VM_SHARED_STATS = 2,
};

#endif
