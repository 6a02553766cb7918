// Runner of the kernel tests. They need root and BPF and must not be skipped
// in CI: without privileges the run fails and says why.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <exception>
#include <string_view>

#include "netns.hpp"

int main(int argc, char** argv)
{
    bool listing = false;
    for (int i = 1; i < argc; i++)
        listing |= std::string_view(argv[i]).rfind("--list", 0) == 0;
    if (!listing) {
        if (geteuid() != 0) {
            std::fprintf(stderr, "kernel tests: need root (BPF, network namespaces): run 'sudo make test'\n");
            return 1;
        }
        try {
            netlab::isolate_process();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "kernel tests: cannot isolate the test process: %s\n", e.what());
            return 1;
        }
    }
    return Catch::Session().run(argc, argv);
}
