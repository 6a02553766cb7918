// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "bpf_ext/errors.h"
#include "internal.h"

static __thread char last_error[768];

const char *bpfext_errmsg(void)
{
	return last_error[0] ? last_error : "no error recorded";
}

int ext_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return ext_err(-abs(err));
}

int ext_err(int ret)
{
	if (ret < 0)
		errno = -ret;
	return ret;
}

bool ext_out_reset(void *out, const char *type_name)
{
	size_t sz;

	if (!out || (sz = *(const size_t *)out) < sizeof(size_t)) {
		ext_fail(EINVAL, "struct %s: set sz to its sizeof", type_name);
		return false;
	}
	memset(out, 0, sz);
	*(size_t *)out = sz;
	return true;
}

bool ext_opts_valid(const void *opts, size_t known_sz, const char *type_name)
{
	const char *bytes = opts;
	size_t sz, i;

	if (!opts)
		return true;
	sz = *(const size_t *)opts;
	if (sz < sizeof(size_t)) {
		ext_fail(EINVAL, "struct %s: sz is %zu; set it to sizeof(struct %s)",
			 type_name, sz, type_name);
		return false;
	}
	for (i = known_sz; i < sz; i++) {
		if (bytes[i]) {
			ext_fail(EINVAL, "struct %s: field at byte %zu is set but this "
				 "libbpf-ext does not know it; upgrade libbpf-ext",
				 type_name, i);
			return false;
		}
	}
	return true;
}
