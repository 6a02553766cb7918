#!/usr/bin/env bash
# Every public header compiles on its own: the C headers as C11 and as C++20,
# the C++ headers as C++20, each as the only include of a translation unit,
# with warnings as errors.
#   headers_alone.sh CC CXX C_INCLUDE_DIR CXX_INCLUDE_DIR [extra -I flags...]
set -uo pipefail
cc=$1 cxx=$2 cdir=$3 cxxdir=$4; shift 4
fails=0 n=0
try() {  # try LANG COMPILER STD HEADER
  local out
  n=$((n + 1))
  if ! out=$(printf '#include <%s>\n' "$4" | "$2" -x "$1" -std="$3" -fsyntax-only -Wall -Wextra -Werror \
               -I"$cdir" -I"$cxxdir" "${extra[@]}" - 2>&1); then
    echo "FAIL: $4 alone as $1 ($3):"
    echo "$out" | head -5
    fails=$((fails + 1))
  fi
}
extra=("$@")
for h in "$cdir"/bpf_ext/*.h; do
  try c "$cc" c11 "bpf_ext/$(basename "$h")"
  try c++ "$cxx" c++20 "bpf_ext/$(basename "$h")"
done
for h in "$cxxdir"/devmap_egress/*.hpp; do
  try c++ "$cxx" c++20 "devmap_egress/$(basename "$h")"
done
echo "headers alone: $((n - fails)) of $n compiled"
[ "$fails" -eq 0 ]
