# PROBITY_FUZZ: libFuzzer targets (fuzz/). Needs Clang. Every library is compiled with
# coverage for the fuzzer and with AddressSanitizer and UndefinedBehaviorSanitizer (any report
# aborts), and each fuzz target links libFuzzer's main. Configure a build of its own:
#   CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DPROBITY_FUZZ=ON \
#       -DPROBITY_ENABLE_CUDA=OFF -DPROBITY_BUILD_TESTS=OFF
# and build only the fuzz targets (scripts/fuzz.sh does all of it).
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang" OR NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "PROBITY_FUZZ needs Clang (CC=clang CXX=clang++): libFuzzer is Clang's")
endif()
if(PROBITY_ENABLE_CUDA)
  message(FATAL_ERROR "PROBITY_FUZZ builds without CUDA: add -DPROBITY_ENABLE_CUDA=OFF")
endif()
set(PROBITY_SANITIZERS "address,undefined")
add_compile_options(-fsanitize=fuzzer-no-link,${PROBITY_SANITIZERS}
                    -fno-sanitize-recover=all -fno-omit-frame-pointer -gline-tables-only)
add_link_options(-fsanitize=${PROBITY_SANITIZERS} -fno-sanitize-recover=all)
