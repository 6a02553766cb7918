// unique_ptr handles for bpftool skeletons, for tests and benchmarks:
//   TESTING_SKEL(egress_count)   (once, at namespace netlab scope)
//   Skel<egress_count> s = open_load<egress_count>();
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include <bpf_ext/cpumap.h>
#include <bpf_ext/errors.h>

namespace netlab {

template <class T>
struct SkelOps;
#define TESTING_SKEL(name)                                                        \
    template <>                                                                   \
    struct SkelOps<name> {                                                        \
        static name* open() { return name##__open(); }                            \
        static int load(name* s) { return name##__load(s); }                      \
        static void destroy(name* s) { name##__destroy(s); }                      \
    };

template <class T>
struct SkelDeleter {
    void operator()(T* s) const { SkelOps<T>::destroy(s); }
};
template <class T>
using Skel = std::unique_ptr<T, SkelDeleter<T>>;

// Opened, not loaded: set .rodata or reuse maps, then T__load(s.get()).
// Cpumaps are already fitted to this machine's possible CPUs.
template <class T>
Skel<T> open_only()
{
    Skel<T> s(SkelOps<T>::open());
    if (!s)
        throw std::runtime_error("opening a skeleton failed");
    if (bpfext_cpumap_fit_object(s->obj))
        throw std::runtime_error(bpfext_errmsg());
    return s;
}

template <class T>
Skel<T> open_load()
{
    Skel<T> s = open_only<T>();
    if (int err = SkelOps<T>::load(s.get()))
        throw std::runtime_error("loading a skeleton failed: " + std::to_string(err));
    return s;
}

}  // namespace netlab
