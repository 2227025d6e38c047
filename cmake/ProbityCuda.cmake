# CUDA: built by default when nvcc is found (CUDA at /usr/local/cuda), for sm_90 (Hopper) at
# least. Without nvcc the build goes on CPU-only and says so once.
set(PROBITY_HAVE_CUDA OFF)
if(PROBITY_ENABLE_CUDA)
  if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 90)
    endif()
    enable_language(CUDA)
    set(CMAKE_CUDA_STANDARD 20)
    # CMake 3.25 does not know nvcc's flag for C++20 ("requires the language dialect CUDA20"):
    # name it, so every target with CUDA sources compiles as C++20.
    if(NOT CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
      set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
      set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    endif()
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    # -fmad=false: nvcc must not contract a*b+c into an FMA on its own (docs/determinism.md).
    # Explicit fmaf() calls still compile to FFMA. --prec-div/--prec-sqrt: IEEE-rounded.
    set(CMAKE_CUDA_FLAGS "${CMAKE_CUDA_FLAGS} -fmad=false --prec-div=true --prec-sqrt=true --ftz=false")
    find_package(CUDAToolkit REQUIRED)
    set(PROBITY_HAVE_CUDA ON)
    message(STATUS "probity: CUDA backend ON (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, sm_${CMAKE_CUDA_ARCHITECTURES})")
  endif()
endif()
if(NOT PROBITY_HAVE_CUDA)
  message(STATUS "probity: nvcc not found or CUDA disabled; building CPU-only (backend 'cpu')")
endif()
