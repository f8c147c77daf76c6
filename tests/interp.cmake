# The experiments (src/model interv, lens, heads): ablation and the logit lens against PyTorch
# (fixtures from tests/make_interp_fixtures.py), patching, head-role scores, names; and the CLI flags.
sf_test(test_interp test_interp.c expect.c)
sf_test(test_interp_cli test_interp_cli.c)
add_dependencies(test_interp_cli stepformer)
