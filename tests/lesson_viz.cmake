# Lessons played in the app (src/viz/lesson_player.c), headless: every shipped lesson, both languages.
if(TARGET sf_viz AND TARGET sf_lesson)
  sf_test(test_lesson_viz test_lesson_viz.c LIBS sf_viz sf_lesson)
  add_dependencies(test_lesson_viz stepformer)
endif()
