// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "devmap_egress/error.hpp"

#include <bpf_ext/errors.h>

namespace dme {

int check(int rc)
{
    if (rc < 0)
        throw Error(-rc, bpfext_errmsg());
    return rc;
}

void fail(int code, const std::string& what) { throw Error(code, what); }

}  // namespace dme
