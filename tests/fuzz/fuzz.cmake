# libFuzzer targets (MER_FUZZ=ON, clang): one executable per tests/fuzz/fuzz_*.c, linked against merlib
# built with the same sanitizers. `cmake --build B --target fuzz` builds them all; tests/fuzz/run.sh runs them.
file(GLOB MER_FUZZ_HARNESSES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_*.c)
add_custom_target(fuzz)
foreach(src ${MER_FUZZ_HARNESSES})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE merlib)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  add_dependencies(fuzz ${name})
endforeach()
