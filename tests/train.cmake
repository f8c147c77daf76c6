# The trainer's tests: tasks, AdamW, schedule, determinism, a short run, resume, bad input through the CLI,
# and the first losses of a fixed run against PyTorch (fixtures from tests/make_train_fixtures.py).
if(TARGET sf_train)
  sf_test(test_train test_train.c LIBS sf_train)
  add_dependencies(test_train stepformer)
endif()
# Snapshot series: float16, the writer and the validating reader, train --snapshots end to end.
if(TARGET sf_train)
  sf_test(test_snapshot test_snapshot.c LIBS sf_train)
  add_dependencies(test_snapshot stepformer)
endif()
