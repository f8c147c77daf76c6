# The attention's per-head kernels (src/core/ops.c: sf_attn_values_backward, sf_attn_scores_backward,
# sf_dot_rows's signed zeros) against the products they stand for, with every kernel set.
sf_test(test_attn_ops test_attn_ops.c)
