// unique_ptr handles for bpftool skeletons, for tests and benchmarks:
//   TESTING_SKEL(egress_count)   (once, at namespace testing scope)
//   Skel<egress_count> s = open_load<egress_count>();
#pragma once

#include <memory>
#include <stdexcept>

namespace testing {

template <class T>
struct SkelOps;
#define TESTING_SKEL(name)                                                        \
    template <>                                                                   \
    struct SkelOps<name> {                                                        \
        static name* open() { return name##__open(); }                            \
        static name* open_and_load() { return name##__open_and_load(); }          \
        static void destroy(name* s) { name##__destroy(s); }                      \
    };

template <class T>
struct SkelDeleter {
    void operator()(T* s) const { SkelOps<T>::destroy(s); }
};
template <class T>
using Skel = std::unique_ptr<T, SkelDeleter<T>>;

template <class T>
Skel<T> open_load()
{
    T* s = SkelOps<T>::open_and_load();
    if (!s)
        throw std::runtime_error("loading a skeleton failed");
    return Skel<T>(s);
}

// Opened, not loaded: set .rodata or reuse maps, then T__load(s.get()).
template <class T>
Skel<T> open_only()
{
    T* s = SkelOps<T>::open();
    if (!s)
        throw std::runtime_error("opening a skeleton failed");
    return Skel<T>(s);
}

}  // namespace testing
