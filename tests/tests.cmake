# Test registration by folder, so adding a test never needs an edit here:
#   tests/unit/test_*.c         one executable each, label "unit"
#   tests/integration/test_*.sh bash scripts, label "integration"
#   tests/slow/test_*.sh        bash scripts, label "slow" (long; run with ctest -L slow)
# Every test gets MER_BIN (the mer executable), MER_SRC (source tree), MER_BUILD (build tree) and
# MER_SHARED (../shared, where reference data such as the MagNet checkpoint may live) in its environment.
set(MER_TEST_ENV
  "MER_BIN=$<TARGET_FILE:mer>" "MER_SRC=${CMAKE_SOURCE_DIR}" "MER_BUILD=${CMAKE_BINARY_DIR}"
  "MER_FIXTURES=${CMAKE_SOURCE_DIR}/tests/fixtures"
  "OMPI_ALLOW_RUN_AS_ROOT=1" "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1" "OMPI_MCA_rmaps_base_oversubscribe=1")
if(DEFINED ENV{MER_SHARED})
  list(APPEND MER_TEST_ENV "MER_SHARED=$ENV{MER_SHARED}")
else()
  list(APPEND MER_TEST_ENV "MER_SHARED=${CMAKE_SOURCE_DIR}/../shared")
endif()

file(GLOB MER_UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/test_*.c)
foreach(src ${MER_UNIT_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE merlib)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS unit ENVIRONMENT "${MER_TEST_ENV}" SKIP_RETURN_CODE 77)
endforeach()

foreach(label integration slow)
  file(GLOB scripts CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/${label}/test_*.sh)
  foreach(script ${scripts})
    get_filename_component(name ${script} NAME_WE)
    add_test(NAME ${label}_${name} COMMAND bash ${script})
    set_tests_properties(${label}_${name} PROPERTIES LABELS ${label} ENVIRONMENT "${MER_TEST_ENV}"
      SKIP_RETURN_CODE 77 TIMEOUT 900)
  endforeach()
endforeach()
