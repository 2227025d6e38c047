# The marketplace modules (included by contracts/CMakeLists.txt): staking, market, jobs, and
# their tests.
add_library(probity_contract_state STATIC common/src/module_state.cc)
target_include_directories(probity_contract_state PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/common/include)
target_link_libraries(probity_contract_state PUBLIC probity_ledger probity_proto probity_primitives)

add_library(probity_staking STATIC staking/src/staking.cc)
target_include_directories(probity_staking PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/staking/include)
target_link_libraries(probity_staking PUBLIC probity_bank probity_contract_state)

add_library(probity_market STATIC market/src/market.cc)
target_include_directories(probity_market PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/market/include)
target_link_libraries(probity_market PUBLIC probity_staking)

add_library(probity_jobs STATIC jobs/src/jobs.cc jobs/src/marketplace.cc jobs/src/economics.cc)
target_include_directories(probity_jobs PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/jobs/include)
target_link_libraries(probity_jobs PUBLIC probity_market probity_verifier)

if(PROBITY_BUILD_TESTS)
  # Test helpers only: the doctest front of the simulation chain (sim/) and of the simulated
  # providers (verifier/sim/).
  add_library(probity_marketplace_testing STATIC tests/marketplace_harness.cc)
  target_include_directories(probity_marketplace_testing PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/tests
                             ${PROJECT_SOURCE_DIR}/verifier/tests)
  target_link_libraries(probity_marketplace_testing PUBLIC probity_marketsim probity_jobs
                        probity_ledger_testing)

  probity_add_test(NAME staking_test LABEL unit SOURCES tests/staking_test.cc
                   LIBS probity_marketplace_testing)
  probity_add_test(NAME market_test LABEL unit SOURCES tests/market_test.cc
                   LIBS probity_marketplace_testing)
  probity_add_test(NAME jobs_test LABEL unit SOURCES tests/jobs_test.cc
                   LIBS probity_marketplace_testing)
  probity_add_test(NAME economics_test LABEL unit SOURCES tests/economics_test.cc
                   LIBS probity_jobs)
  probity_add_test(NAME marketplace_genesis_test LABEL unit
                   SOURCES tests/marketplace_genesis_test.cc LIBS probity_marketplace_testing)
  probity_add_test(NAME simulation_test LABEL integration SOURCES tests/simulation_test.cc
                   LIBS probity_marketsim)
  probity_add_test(NAME simulation_slow_test LABEL slow SOURCES tests/simulation_slow_test.cc
                   LIBS probity_marketsim)
endif()
