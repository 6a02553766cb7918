// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// The C++ API of devmap-egress: RAII, move-only handles over libbpf-ext.
#pragma once

#include "devmap_egress/bpf_object.hpp"
#include "devmap_egress/cpumap.hpp"
#include "devmap_egress/devmap.hpp"
#include "devmap_egress/error.hpp"
#include "devmap_egress/fd.hpp"
#include "devmap_egress/interface.hpp"
#include "devmap_egress/probe.hpp"
#include "devmap_egress/program.hpp"
#include "devmap_egress/slot_map.hpp"
#include "devmap_egress/xdp_attachment.hpp"
