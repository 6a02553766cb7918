#include "tc_query.hpp"

#include <bpf/libbpf.h>

namespace vmhost {

uint32_t tc_egress_prog(uint32_t ifindex, uint32_t handle, uint32_t priority)
{
    if (!handle)
        return 0;
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = int(ifindex), .attach_point = BPF_TC_EGRESS);
    LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = priority);
    return bpf_tc_query(&hook, &opts) ? 0 : opts.prog_id;
}

}  // namespace vmhost
