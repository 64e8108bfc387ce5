# cmake/aarch64-linux-gnu.cmake — cross-compiling heaplab for AArch64
# Linux with Debian's cross toolchain (gcc-aarch64-linux-gnu,
# g++-aarch64-linux-gnu); the binaries run under qemu-aarch64 (qemu-user).
#
#   cmake -S . -B build-aarch64 \
#     -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
#
# Libraries: the cross sysroot (/usr/aarch64-linux-gnu, libc6-dev-arm64-cross)
# and Debian's multiarch directory /usr/lib/aarch64-linux-gnu, where arm64
# packages such as libcmocka-dev:arm64 install (dpkg --add-architecture
# arm64). Host (x86-64) libraries are never found.
# scripts/test_aarch64.sh installs all that and runs the scheduler tests.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_ASM_COMPILER aarch64-linux-gnu-gcc)

# "/" too, for the multiarch directories (/usr/lib/aarch64-linux-gnu,
# /usr/include/aarch64-linux-gnu): CMAKE_LIBRARY_ARCHITECTURE above makes
# find_library look in the arm64 ones only.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# ctest runs the test binaries through qemu. The loader comes from the
# cross sysroot (-L), so must libc: with libc6:arm64 installed too (a
# dependency of the multiarch packages), the loader would otherwise pick
# /lib/aarch64-linux-gnu/libc.so.6, of another build than the cross
# loader (their private ABI differs: pthread_create looped forever).
find_program(HL_QEMU_AARCH64 qemu-aarch64)
if(HL_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${HL_QEMU_AARCH64} -L /usr/aarch64-linux-gnu
    -E LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib)
endif()
