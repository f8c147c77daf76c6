# The softmax over many rows at once (one row per lane) against the row path, bit for bit.
sf_test(test_ops_softmax test_ops_softmax.c)
