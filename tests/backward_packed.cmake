# The trainer's packed passes against the single-sequence passes, bit for bit (forward and gradient).
sf_test(test_backward_packed test_backward_packed.c LIBS sf_train)
