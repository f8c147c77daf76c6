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
  set_tests_properties(test_hardening_io PROPERTIES LABELS hardening TIMEOUT 900) # (under ASan on a busy 2-core machine it has taken 300 s)
  if(TARGET sf_viz)
    target_compile_definitions(test_hardening_io PRIVATE SF_HAVE_VIZ=1)
  endif()
  if(TARGET sf_lesson)
    target_compile_definitions(test_hardening_io PRIVATE SF_HAVE_LESSON=1)
  endif()
endif()
# Saving: refusal to overwrite, symlinks and modes kept, a full disk (a small tmpfs; skipped where it
# cannot be mounted) losing nothing.
if(TARGET sf_train)
  sf_test(test_hardening_save test_hardening_save.c runkit.c pairkit.c LIBS sf_train)
  add_dependencies(test_hardening_save stepformer)
  set_tests_properties(test_hardening_save PROPERTIES LABELS hardening)
  # SIGKILL during `train`: killed after SF_KILL_SECONDS (40 by default: the default 30 s save period) and,
  # quickly, after 10 s with --save-seconds 1. The slow one is labelled `slow` (ctest -LE slow skips it).
  set(SF_KILL_SECONDS 40 CACHE STRING "seconds test_hardening_kill_default trains before it is killed")
  add_executable(test_hardening_kill test_hardening_kill.c pairkit.c)
  target_link_libraries(test_hardening_kill PRIVATE sf_model sf_train cmocka)
  target_compile_definitions(test_hardening_kill PRIVATE SF_BINARY="$<TARGET_FILE:stepformer>")
  add_dependencies(test_hardening_kill stepformer)
  add_test(NAME test_hardening_kill_quick COMMAND test_hardening_kill 10 --save-seconds 1)
  add_test(NAME test_hardening_kill_default COMMAND test_hardening_kill ${SF_KILL_SECONDS})
  set_tests_properties(test_hardening_kill_quick PROPERTIES TIMEOUT 120 LABELS hardening)
  set_tests_properties(test_hardening_kill_default PROPERTIES TIMEOUT 300 LABELS "hardening;slow")
endif()
