// The Markdown tables of a results file (bench/results/*.json).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace bench {

std::string markdown(const nlohmann::json& results);

// Two runs of the same datapath cases side by side (make bench-vm: stock and
// patched kernel in an instruction-counting guest): per case, each run's
// median ns/pkt and its ratio to plain redirect, and the difference.
std::string compare_markdown(const nlohmann::json& base, const nlohmann::json& next, const std::string& base_label,
                             const std::string& next_label, const std::string& unit);

}  // namespace bench
