#!/usr/bin/env bash
# libdevmap-egress.so exports the C++ API and nothing else: every exported
# symbol is in namespace dme (or its vtables and type information), at one
# of the map's versions; its soname is libdevmap-egress.so.<major>; it takes the C
# calls from libbpf-ext.so at that library's version, never a copy of them;
# and the classes a user needs are there.
#   cxx_exports.sh LIBDEVMAP_EGRESS_SO MAP_FILE LIBBPF_EXT_SO C_MAP_FILE
set -uo pipefail
so=$1 map=$2 cso=$3 cmap=$4
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

defined=$(nm -D --defined-only "$so" | awk '$2 != "A"')
names=$(nm -DC --defined-only "$so" | awk '$2 != "A"' | cut -d' ' -f3- | sed 's/@.*//' | sort -u)
echo "exported by $(basename "$so"): $(wc -l <<<"$names") symbols"
stray=$(grep -vE '^(dme::|typeinfo for dme::|typeinfo name for dme::|vtable for dme::)' <<<"$names")
[ -z "$stray" ] || fail "exported outside namespace dme: $(head -5 <<<"$stray" | tr '\n' ';')"
# Every symbol at one of the map's nodes, and every node used: a node
# holds at least the exports it was made for.
nodes=$(grep -oE '^DEVMAP_EGRESS_[0-9.]+' "$map" | sort -u)
versions=$(awk '{ sub(/^[^@]*@+/, "", $3); print $3 }' <<<"$defined" | sort -u)
[ "$versions" = "$nodes" ] || fail "symbol versions '$(tr '\n' ' ' <<<"$versions")', want the map's nodes '$(tr '\n' ' ' <<<"$nodes")'"
for want in 'dme::DevmapEgress::open(' 'dme::Cpumap::create(' 'dme::BpfObject::open_file(' 'typeinfo for dme::Error'; do
  grep -qF "$want" <<<"$names" || fail "'$want' is not exported"
done

soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[[ $soname =~ ^libdevmap-egress\.so\.[0-9]+$ ]] || fail "soname '$soname', want libdevmap-egress.so.N"
csoname=$(readelf -d "$cso" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[[ $csoname =~ ^libbpf-ext\.so\.[0-9]+$ ]] || fail "libbpf-ext's soname '$csoname', want libbpf-ext.so.N"
readelf -d "$so" | grep -q "(NEEDED).*\[$csoname\]" || fail "$(basename "$so") does not link $csoname"
cnode=$(grep -oE '^LIBBPF_EXT_[0-9.]+' "$cmap" | tail -1)
cimports=$(nm -D --undefined-only "$so" | awk '{ print $2 }' | grep '^bpfext_')
[ -n "$cimports" ] || fail "no bpfext_* imports: the C library is linked in, not used"
grep -v "@$cnode\$" <<<"$cimports" | grep . && fail "bpfext_* imports not at $cnode"
nm -D --defined-only "$so" | grep -q ' bpfext_' && fail "bpfext_* is defined in $(basename "$so") (a copy of the C library)"
[ "$fails" -eq 0 ] && echo "exports: only namespace dme ($(tr "\n" " " <<<"$nodes" | sed "s/ $//")), soname $soname, C calls from $csoname ($cnode)"
[ "$fails" -eq 0 ]
