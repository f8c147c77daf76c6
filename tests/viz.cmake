# The visualizer: headless pixel tests (software renderer, SDL_VIDEODRIVER=dummy set by sf_test).
if(TARGET sf_viz)
  sf_test(test_viz test_viz.c vizkit.c LIBS sf_viz)
  add_dependencies(test_viz stepformer)
endif()
# The string table: both languages, the same printf conversions.
if(TARGET sf_viz)
  sf_test(test_strings test_strings.c LIBS sf_viz)
endif()
# The layout on drawn frames of the shipped models and lessons, every size, mode and zoom step.
if(TARGET sf_viz AND TARGET sf_lesson)
  sf_test(test_layout test_layout.c LIBS sf_viz sf_lesson)
  set_tests_properties(test_layout PROPERTIES TIMEOUT 900)
endif()
# The window's experiments: knock-out from the grid = trace --ablate, restore = the original run, the lens
# panel's cells, the output panel's sampled and ablated distributions (docs/experiments.md).
if(TARGET sf_viz)
  sf_test(test_viz_interv test_viz_interv.c LIBS sf_viz)
  add_dependencies(test_viz_interv stepformer)
endif()
