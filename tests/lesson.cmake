# The lesson parser and interpreter (src/lesson); the shipped-lessons check skips until the models exist.
if(TARGET sf_lesson)
  sf_test(test_lesson test_lesson.c LIBS sf_lesson)
  add_dependencies(test_lesson stepformer)
  set_tests_properties(test_lesson PROPERTIES TIMEOUT 900) # (every lesson, checked under ASan: 136 s alone, more on a busy machine)
endif()
# Every shipped lesson checked as `lesson --check --strict` does before class, in both languages, screen
# included (played headless at 1920x1080, 1024x768 and 1024x768 in projector mode): one test per lesson and
# language, so they run in parallel and each has its own timeout. Needs the trained models (assets/models)
# and the visualizer.
if(TARGET sf_viz AND TARGET sf_lesson AND EXISTS ${PROJECT_SOURCE_DIR}/assets/models/reverse.sfm)
  file(GLOB SF_SHIPPED_LESSONS ${PROJECT_SOURCE_DIR}/lessons/[0-9][0-9]-*.md)
  foreach(f ${SF_SHIPPED_LESSONS})
    get_filename_component(n ${f} NAME_WE)
    string(SUBSTRING ${n} 0 2 num)
    foreach(lang en zh)
      add_test(NAME lesson_screen_${num}_${lang} COMMAND stepformer lesson --check --strict --lang ${lang} ${f})
      set_tests_properties(lesson_screen_${num}_${lang} PROPERTIES TIMEOUT 300 ENVIRONMENT "SDL_VIDEODRIVER=dummy"
                           LABELS "lesson")
    endforeach()
  endforeach()
endif()
