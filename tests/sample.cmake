# What sampling draws from (src/model/run.c, sample.c): the dec.sample.probs record beside dec.probs.
sf_test(test_sample test_sample.c)
