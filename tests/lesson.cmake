# The lesson parser and interpreter (src/lesson); the shipped-lessons check skips until the models exist.
if(TARGET sf_lesson)
  sf_test(test_lesson test_lesson.c LIBS sf_lesson)
  add_dependencies(test_lesson stepformer)
endif()
