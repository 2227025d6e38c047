# probity_add_test(NAME <target> LABEL <unit|integration|gpu|slow> SOURCES ... LIBS ...)
#
# Builds one doctest executable and registers each of its test cases with ctest, labelled, so
# that `ctest -L unit`, `ctest -LE gpu` and `ctest -R bip340` select what they say. Test data
# lives in tests/data/ and reaches tests through PROBITY_TEST_DATA_DIR (never ../shared).
#
# doctest comes from Debian's doctest-dev. On a machine without it (a GPU machine), pass
# -DPROBITY_DOCTEST_INCLUDE=DIR holding doctest/doctest.h (carried along); each executable is
# then one ctest entry, still labelled.
find_package(doctest CONFIG QUIET)
if(doctest_FOUND)
  include(doctest)
else()
  find_path(PROBITY_DOCTEST_INCLUDE doctest/doctest.h)
  if(NOT PROBITY_DOCTEST_INCLUDE)
    message(WARNING "probity: doctest not found (install doctest-dev or set "
                    "PROBITY_DOCTEST_INCLUDE): tests are not built")
    set(PROBITY_BUILD_TESTS OFF CACHE BOOL "" FORCE)
    return()
  endif()
  add_library(doctest::doctest INTERFACE IMPORTED)
  target_include_directories(doctest::doctest INTERFACE ${PROBITY_DOCTEST_INCLUDE})
endif()

add_library(probity_doctest_main STATIC ${CMAKE_CURRENT_LIST_DIR}/doctest_main.cc)
target_link_libraries(probity_doctest_main PUBLIC doctest::doctest)

function(probity_add_test)
  cmake_parse_arguments(T "" "NAME;LABEL;TIMEOUT" "SOURCES;LIBS" ${ARGN})
  if(NOT T_LABEL)
    set(T_LABEL unit)
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 600)
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE probity_doctest_main ${T_LIBS})
  target_compile_definitions(${T_NAME} PRIVATE
    PROBITY_TEST_DATA_DIR="${PROJECT_SOURCE_DIR}/tests/data"
    PROBITY_BINARY_DIR="${PROJECT_BINARY_DIR}")
  if(COMMAND doctest_discover_tests)
    doctest_discover_tests(${T_NAME}
      TEST_PREFIX "${T_NAME}/"
      ADD_LABELS 0
      PROPERTIES LABELS ${T_LABEL} TIMEOUT ${T_TIMEOUT})
  else()
    add_test(NAME ${T_NAME} COMMAND ${T_NAME})
    set_tests_properties(${T_NAME} PROPERTIES LABELS ${T_LABEL} TIMEOUT ${T_TIMEOUT})
  endif()
endfunction()
