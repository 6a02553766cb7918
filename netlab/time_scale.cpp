#include "time_scale.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace netlab {

double time_scale()
{
    static const double scale = [] {
        const char* v = std::getenv("NETLAB_TIME_SCALE");
        if (!v || !*v)
            return 1.0;
        char* end = nullptr;
        errno = 0;
        const double d = std::strtod(v, &end);
        if (errno || *end || !(d >= 1.0) || d > 1000.0)
            throw std::invalid_argument(std::string("NETLAB_TIME_SCALE=") + v +
                                        ": expected a number from 1 to 1000 (how many times slower than a plain "
                                        "host the tests' waits may be)");
        return d;
    }();
    return scale;
}

std::chrono::milliseconds scaled(std::chrono::milliseconds wait)
{
    return std::chrono::milliseconds(static_cast<int64_t>(static_cast<double>(wait.count()) * time_scale()));
}

}  // namespace netlab
