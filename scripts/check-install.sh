#!/usr/bin/env bash
# check-install.sh BUILD_DIR - install convkit from BUILD_DIR into a temporary prefix and
# build a tiny C program against it twice: with pkg-config and with find_package(convkit).
set -euo pipefail
build=${1:?usage: check-install.sh BUILD_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
libdir=$(ls -d "$tmp"/prefix/lib*/pkgconfig | head -n1)
libdir=${libdir%/pkgconfig}
cat > "$tmp/use.c" <<'C'
#include <convkit/convkit.h>
#include <stdio.h>
int main(void)
{
    struct ck_conv_params p;
    ck_conv_params_init(&p);
    p.H = p.W = 7; p.R = p.S = 3; p.stride_h = p.stride_w = 2;
    int P, Q;
    ck_conv_output_size(&p, &P, &Q);
    printf("convkit %s: 7x7 * 3x3 stride 2 -> %dx%d, %zu backends\n", ck_version(), P, Q,
           ck_backend_count());
    return !(P == 3 && Q == 3 && ck_backend_find("naive") != NULL);
}
C
# 1. pkg-config
PKG_CONFIG_PATH="$libdir/pkgconfig" cc -std=c11 "$tmp/use.c" -o "$tmp/use_pc" \
  $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs convkit)
LD_LIBRARY_PATH="$libdir" "$tmp/use_pc"
# 2. CMake package
mkdir -p "$tmp/proj"
cp "$tmp/use.c" "$tmp/proj/use.c"
cat > "$tmp/proj/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.20)
project(use_convkit C)
find_package(convkit REQUIRED)
add_executable(use use.c)
target_link_libraries(use PRIVATE convkit::convkit)
CM
cmake -S "$tmp/proj" -B "$tmp/proj/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/proj/build" >/dev/null
LD_LIBRARY_PATH="$libdir" "$tmp/proj/build/use"
