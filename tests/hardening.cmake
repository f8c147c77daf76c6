# Hardening (docs/robustness.md): allocation caps, stale temporary files, SIGKILL during saves, and the
# GUI keeping its state when a bad model is opened. Labelled `hardening`; the kill test needs `train`.
if(TARGET sf_train)
  sf_test(test_hardening test_hardening.c LIBS sf_train)
  add_dependencies(test_hardening stepformer)
  set_tests_properties(test_hardening PROPERTIES LABELS hardening)
endif()
if(TARGET sf_viz)
  sf_test(test_hardening_viz test_hardening_viz.c vizkit.c LIBS sf_viz)
  set_tests_properties(test_hardening_viz PROPERTIES LABELS hardening)
  if(EXISTS ${PROJECT_SOURCE_DIR}/src/viz/lesson_player.h)
    target_compile_definitions(test_hardening_viz PRIVATE SF_HAVE_PLAYER=1) # lesson position survives too
  endif()
endif()
# valgrind memcheck on the headless paths (tests/valgrind.sh): only in a plain build (not under ASan or
# the fuzzing instrumentation), only when valgrind is installed; skip with `ctest -LE valgrind`.
find_program(SF_VALGRIND valgrind)
if(SF_VALGRIND AND NOT STEPFORMER_SANITIZE AND NOT STEPFORMER_FUZZ)
  add_test(NAME valgrind_memcheck COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/valgrind.sh $<TARGET_FILE:stepformer>)
  set_tests_properties(valgrind_memcheck PROPERTIES TIMEOUT 600 LABELS "valgrind;hardening")
endif()
# Reading files: FIFOs refused on every file option, headers checked before the rest is read, memory that
# follows the work (each command in a child under a deadline: tests/runkit.c).
if(TARGET sf_train)
  sf_test(test_hardening_io test_hardening_io.c runkit.c)
  add_dependencies(test_hardening_io stepformer)
  set_tests_properties(test_hardening_io PROPERTIES LABELS hardening)
  if(TARGET sf_viz)
    target_compile_definitions(test_hardening_io PRIVATE SF_HAVE_VIZ=1)
  endif()
  if(TARGET sf_lesson)
    target_compile_definitions(test_hardening_io PRIVATE SF_HAVE_LESSON=1)
  endif()
endif()
