# The visualizer: headless pixel tests (software renderer, SDL_VIDEODRIVER=dummy set by sf_test).
if(TARGET sf_viz)
  sf_test(test_viz test_viz.c vizkit.c LIBS sf_viz)
  add_dependencies(test_viz stepformer)
endif()
