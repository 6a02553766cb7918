// Median, min and max of a handful of samples.
#pragma once

#include <algorithm>
#include <stdexcept>
#include <vector>

#include <nlohmann/json.hpp>

namespace bench {

struct Summary {
    double median = 0, min = 0, max = 0;
};

inline Summary summarize(std::vector<double> v)
{
    if (v.empty())
        throw std::logic_error("no samples");
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    double med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return {med, v.front(), v.back()};
}

inline nlohmann::json to_json(const Summary& s, const std::vector<double>& samples)
{
    return {{"median", s.median}, {"min", s.min}, {"max", s.max}, {"samples", samples}};
}

}  // namespace bench
