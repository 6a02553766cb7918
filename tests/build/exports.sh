#!/usr/bin/env bash
# libbpf-ext.so exports exactly the functions its headers declare with
# BPFEXT_API and libbpf-ext.map lists, all named bpfext_*, each at the map's
# version; nothing internal (ext_*) leaks into users' link namespace.
#   exports.sh LIBBPF_EXT_SO MAP_FILE C_INCLUDE_DIR
set -uo pipefail
so=$1 map=$2 incdir=$3
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

exported=$(nm -D --defined-only "$so" | awk '$2 != "A" { print $3 }' | sort)
versions=$(nm -D --defined-only "$so" | awk '$2 != "A" { sub(/^[^@]*@+/, "", $3); print $3 }' | sort -u)
names=$(sed 's/@.*//' <<<"$exported" | sort)
listed=$(grep -oE '^\s+bpfext_[a-z0-9_]+;' "$map" | tr -d ' \t;' | sort)
declared=$(cat "$incdir"/bpf_ext/*.h | tr '\n' ' ' | grep -oE 'BPFEXT_API [^(]*\(' |
           grep -oE 'bpfext_[a-z0-9_]+\($' | tr -d '(' | sort)

echo "exported by $(basename "$so"): $(wc -l <<<"$names") symbols"
grep -v '^bpfext_' <<<"$names" | grep . && fail "symbols not named bpfext_* are exported"
[ "$names" = "$listed" ] || fail "exports and $(basename "$map") differ: $(diff <(echo "$names") <(echo "$listed") | grep '^[<>]')"
[ "$names" = "$declared" ] || fail "exports and the headers' BPFEXT_API declarations differ: $(diff <(echo "$names") <(echo "$declared") | grep '^[<>]')"
node=$(grep -oE '^LIBBPF_EXT_[0-9.]+' "$map" | tail -1)
[ "$versions" = "$node" ] || fail "symbol versions '$versions', want '$node'"
# The internal helpers are there, but local.
nm "$so" | grep -E ' [tT] ext_fail$' >/dev/null || fail "ext_fail is not in the library as a local symbol"
[ "$fails" -eq 0 ] && echo "exports: only bpfext_* ($node), as declared and listed"
[ "$fails" -eq 0 ]
