# The presenter controls (src/viz/keys.h): the key table in every mode, driven headless through the app and
# the lesson player; the issue-10 app defects; docs/visualizer.md's key tables against the table.
if(TARGET sf_viz AND TARGET sf_lesson)
  sf_test(test_keys test_keys.c vizkit.c LIBS sf_viz sf_lesson)
endif()
