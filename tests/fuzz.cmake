# Fuzz harnesses: replayed over their corpora as ordinary tests; built for libFuzzer when clang is used
# with -DSTEPFORMER_FUZZ=ON (see docs/robustness.md).
foreach(h checkpoint input)
  add_executable(replay_${h} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/replay.c ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_${h}.c)
  target_link_libraries(replay_${h} PRIVATE sf_model)
  add_test(NAME fuzz_replay_${h}
           COMMAND replay_${h} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${h} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/crashes/${h})
  set_tests_properties(fuzz_replay_${h} PROPERTIES TIMEOUT 300)
  if(STEPFORMER_FUZZ)
    add_executable(fuzz_${h} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_${h}.c)
    target_compile_options(fuzz_${h} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(fuzz_${h} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(fuzz_${h} PRIVATE sf_model)
  endif()
endforeach()
