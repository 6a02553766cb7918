// libFuzzer entry point for the reference model alone (no kernel, no root):
// the model must never read outside a frame (ASan, UBSan) and its verdicts
// must be consistent: a reason the guard can give, XDP_DROP exactly for the
// drops, the same verdict twice, a deciding rule always named. The first
// input byte picks the identity (guard_identities.hpp). A custom mutator
// mixes libFuzzer's byte mutations with whole frames from FrameGen, so the
// search starts from almost-legitimate frames. Built and run by
// 'make fuzz-model' (clang-19, libfuzzer-19-dev).
#include <cstdint>
#include <cstring>
#include <vector>

#include "guard_gen.hpp"
#include "guard_identities.hpp"
#include "guard_model.hpp"

using namespace guardmodel;

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

const std::vector<vmhost::VmPolicy>& policies()
{
    static const auto p = identities();
    return p;
}

const std::vector<Identity>& models()
{
    static const auto m = [] {
        std::vector<Identity> v;
        for (const auto& p : policies())
            v.emplace_back(p);
        return v;
    }();
    return m;
}

bool guard_reason(vm_reason r)
{
    switch (r) {
    case VM_PASS:
    case VM_DROP_MALFORMED:
    case VM_DROP_VLAN:
    case VM_DROP_FRAGMENT:
    case VM_DROP_PROTO:
    case VM_DROP_MAC_SPOOF:
    case VM_DROP_IP_SPOOF:
    case VM_DROP_ARP_SPOOF:
    case VM_DROP_ND_SPOOF:
    case VM_DROP_UNSPEC_SRC:
    case VM_DROP_RA_GUARD:
    case VM_DROP_DHCP_GUARD:
    case VM_DROP_EXT_HDR: return true;
    default: return false;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size < 1)
        return 0;
    const Identity& id = models()[data[0] % models().size()];
    // A copy of exactly the frame's bytes: ASan sees any read past its end.
    std::vector<uint8_t> frame(data + 1, data + size);
    const char* rule = nullptr;
    const Verdict v = judge(id, frame, &rule);
    const char* rule2 = nullptr;
    const Verdict again = judge(id, frame, &rule2);
    if (!guard_reason(v.reason) || (v.reason == VM_PASS) == (v.action == XDP_DROP) ||
        (v.action != XDP_DROP && v.action != XDP_PASS && v.action != XDP_REDIRECT) || !rule || !*rule ||
        !(again == v) || std::strcmp(rule, rule2) != 0)
        __builtin_trap();
    return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed)
{
    if (seed % 4 != 0 || max_size < 15)
        return LLVMFuzzerMutate(data, size, max_size);
    const size_t which = seed / 4 % policies().size();
    std::vector<MacAddr> neighbours;
    for (size_t i = 0; i < policies().size(); i++)
        if (i != which)
            neighbours.push_back(policies()[i].mac.b);
    FrameGen gen(policies()[which], neighbours, seed);
    Frame f = gen.next();
    const size_t n = std::min(f.size(), max_size - 1);
    data[0] = uint8_t(which);
    std::memcpy(data + 1, f.data(), n);
    return n + 1;
}
