// An outside C++ program built against the installed C++ API through CMake's
// find_package(devmap-egress CONFIG): creates a devmap, puts a program from an
// installed BPF object in a slot pointing at IFNAME, and reads it back.
//   consumer OBJECT.bpf.o PROGRAM IFNAME
#include <cstdio>
#include <string>

#include <devmap_egress/devmap_egress.hpp>

int main(int argc, char** argv)
{
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s OBJECT.bpf.o PROGRAM IFNAME\n", argv[0]);
        return 2;
    }
    try {
        auto map = dme::DevmapEgress::create("consumer", 8);
        auto obj = dme::BpfObject::open_file(argv[1]);
        auto prog = dme::EgressProgram::load(obj, argv[2]);
        auto dev = dme::Interface::named(argv[3]);
        map.set(5, dev, prog);
        auto slot = map.get(5);
        if (!slot || slot->ifindex != dev.ifindex() || slot->prog.name != argv[2]) {
            std::fprintf(stderr, "consumer: slot 5 does not read back as written\n");
            return 1;
        }
        std::printf("slot 5: dev %s prog %s (id %u)\n", slot->ifname.c_str(), slot->prog.name.c_str(),
                    slot->prog.id);
        // The library's errors reach the caller as dme::Error across the
        // shared library's boundary.
        try {
            map.set(100, dev, prog);
            std::fprintf(stderr, "consumer: slot 100 of 8 was accepted\n");
            return 1;
        } catch (const dme::Error& e) {
            std::printf("slot 100 refused: %s\n", e.what());
        }
    } catch (const dme::Error& e) {
        std::fprintf(stderr, "consumer: %s\n", e.what());
        return 1;
    }
    return 0;
}
