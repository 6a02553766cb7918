// devmap-bench's guard section: what the port-security guard (vm_guard)
// costs per legitimate frame a VM sends, against the guard before port
// security and against forwarding alone, on the same frames, interleaved.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

namespace bench {

// `repeat`: runs of the program per sample (BPF_PROG_TEST_RUN, one frame
// over and over); `runs`: interleaved samples per (frame, program).
nlohmann::json guard_section(uint32_t repeat, int runs);

}  // namespace bench
