// The Markdown tables of a results file (bench/results/*.json).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace bench {

std::string markdown(const nlohmann::json& results);

}  // namespace bench
