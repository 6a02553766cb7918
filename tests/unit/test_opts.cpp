// libbpf-style opts: a caller's struct may be bigger (newer header) as long
// as the fields this library does not know are zero; sz must be set.
#include <catch2/catch.hpp>

#include <cerrno>
#include <string>

#include <bpf_ext/bpf_ext.h>

TEST_CASE("opts with unknown non-zero fields are refused before any syscall", "[unit][opts]")
{
    struct {
        bpfext_cpumap_set_opts known;
        uint64_t future;
    } bigger{};
    bigger.known.sz = sizeof(bigger);
    bigger.future = 7;
    errno = 0;
    CHECK(bpfext_cpumap_set(-1, 0, 64, -1, &bigger.known) == -EINVAL);
    CHECK(errno == EINVAL);  // set as well as returned, as libbpf does
    CHECK(std::string(bpfext_errmsg()).find("upgrade libbpf-ext") != std::string::npos);
}

TEST_CASE("opts with sz unset are refused", "[unit][opts]")
{
    bpfext_devmap_set_opts o{};
    CHECK(bpfext_devmap_set(-1, 0, 1, -1, &o) == -EINVAL);
    CHECK(std::string(bpfext_errmsg()).find("set it to sizeof") != std::string::npos);
}

TEST_CASE("a closed map fd is named as such", "[unit][opts]")
{
    CHECK(bpfext_devmap_set(987, 0, 1, -1, nullptr) == -EBADF);
    CHECK(std::string(bpfext_errmsg()).find("map fd 987 is not open") != std::string::npos);
}
