/* An outside C program built against the installed libbpf-ext (pkg-config),
 * shared and static: creates a devmap, puts a program from an installed BPF
 * object in a slot pointing at IFNAME, and reads the slot back.
 *   consumer OBJECT.bpf.o PROGRAM IFNAME */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <bpf_ext/bpf_ext.h>

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s OBJECT.bpf.o PROGRAM IFNAME\n", argv[0]);
		return 2;
	}
	unsigned ifindex = if_nametoindex(argv[3]);
	if (!ifindex) {
		fprintf(stderr, "consumer: no device %s: %s\n", argv[3], strerror(errno));
		return 1;
	}
	int map = bpfext_devmap_create(BPF_MAP_TYPE_DEVMAP, "consumer", 8, NULL);
	if (map < 0) {
		fprintf(stderr, "consumer: bpfext_devmap_create: %s\n", bpfext_errmsg());
		return 1;
	}
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "consumer: cannot load %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, argv[2]);
	if (!prog) {
		fprintf(stderr, "consumer: %s has no program %s\n", argv[1], argv[2]);
		return 1;
	}
	struct bpf_prog_info info = {0};
	__u32 len = sizeof(info);
	if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len)) {
		fprintf(stderr, "consumer: program info: %s\n", strerror(errno));
		return 1;
	}
	if (bpfext_devmap_set(map, 3, ifindex, bpf_program__fd(prog), NULL)) {
		fprintf(stderr, "consumer: bpfext_devmap_set: %s\n", bpfext_errmsg());
		return 1;
	}
	struct bpfext_devmap_slot slot;
	if (bpfext_devmap_get(map, 3, &slot)) {
		fprintf(stderr, "consumer: bpfext_devmap_get: %s\n", bpfext_errmsg());
		return 1;
	}
	if (slot.ifindex != ifindex || slot.prog_id != info.id) {
		fprintf(stderr, "consumer: slot 3 reads ifindex %u prog %u, want %u and %u\n", slot.ifindex,
			slot.prog_id, ifindex, info.id);
		return 1;
	}
	printf("slot 3: ifindex %u prog id %u (%s)\n", slot.ifindex, slot.prog_id, info.name);
	bpf_object__close(obj);
	close(map);
	return 0;
}
