// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Possible and online CPUs, from the kernel's cpulist files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

/* Parse a cpulist such as "0-3,6,8-9\n" into mask[0..mask_len). CPUs beyond
 * mask_len are ignored. Returns 0 or -EINVAL on a malformed list. */
int ext_parse_cpulist(const char *list, bool *mask, size_t mask_len)
{
	const char *p = list;

	memset(mask, 0, mask_len * sizeof(*mask));
	while (*p && *p != '\n') {
		char *end;
		unsigned long lo, hi;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		lo = strtoul(p, &end, 10);
		hi = lo;
		if (*end == '-') {
			p = end + 1;
			if (*p < '0' || *p > '9')
				return -EINVAL;
			hi = strtoul(p, &end, 10);
			if (hi < lo)
				return -EINVAL;
		}
		for (unsigned long c = lo; c <= hi && c < mask_len; c++)
			mask[c] = true;
		p = end;
		if (*p == ',')
			p++;
		else if (*p && *p != '\n')
			return -EINVAL;
	}
	return 0;
}

static int cpu_in_list(const char *path, __u32 cpu, bool *in)
{
	char buf[4096];
	bool *mask;
	size_t n;
	FILE *f = fopen(path, "re");
	int err;

	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	mask = calloc((size_t)cpu + 1, sizeof(*mask));
	if (!mask)
		return -ENOMEM;
	err = ext_parse_cpulist(buf, mask, (size_t)cpu + 1);
	*in = !err && mask[cpu];
	free(mask);
	return err;
}

int ext_cpu_state(__u32 cpu, bool *possible, bool *online)
{
	int err = cpu_in_list("/sys/devices/system/cpu/possible", cpu, possible);

	if (!err)
		err = cpu_in_list("/sys/devices/system/cpu/online", cpu, online);
	if (err)
		return ext_fail(err, "cannot read the CPU lists under "
				"/sys/devices/system/cpu: %s (is sysfs mounted?)",
				strerror(-err));
	return 0;
}
