# Snapshot playback in the window, render --snapshots and train --watch (its shared state, pause, the
# headless frames and their figures against the printed progress).
if(TARGET sf_viz AND TARGET sf_train)
  sf_test(test_watch test_watch.c vizkit.c runkit.c LIBS sf_viz sf_train)
  add_dependencies(test_watch stepformer)
endif()
