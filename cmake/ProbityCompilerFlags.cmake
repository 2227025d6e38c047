# Compiler flags shared by every target.
#
# -ffp-contract=off is part of the numeric discipline (docs/determinism.md): the compiler must
# never fuse a multiply and an add on its own, because a fused and an unfused result differ in
# the last bit and the CPU and CUDA backends must agree bit for bit. Where we want a fused
# multiply-add we write fmaf() explicitly. No -ffast-math, ever.
add_compile_options(
  $<$<COMPILE_LANGUAGE:CXX,C>:-ffp-contract=off>
  $<$<COMPILE_LANGUAGE:CXX,C>:-fno-fast-math>
  $<$<COMPILE_LANGUAGE:CXX,C>:-Wall>
  $<$<COMPILE_LANGUAGE:CXX,C>:-Wextra>
  $<$<COMPILE_LANGUAGE:CXX>:-Wno-missing-field-initializers>
)
if(PROBITY_WERROR)
  add_compile_options($<$<COMPILE_LANGUAGE:CXX,C>:-Werror>)
endif()

# Targets opt in to -march flags per file (the AVX2/FMA kernels of the cpu backend are chosen
# at run time), so the binary runs on any x86-64 machine.
find_package(Threads REQUIRED)
