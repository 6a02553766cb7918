// The Markdown tables of a results file (bench/results/*.json).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace bench {

std::string markdown(const nlohmann::json& results);

// Runs of the same datapath cases side by side (make bench-vm: the stock and
// the patched kernel, or each step of the series, in an instruction-counting
// guest): per case, each run's median and its ratio to plain redirect, and
// the last run minus the first.
std::string compare_markdown(const std::vector<nlohmann::json>& runs, const std::vector<std::string>& labels,
                             const std::string& unit);

}  // namespace bench
