# Gradients of the backward passes: finite differences and the PyTorch gradient fixtures.
sf_test(test_grad test_grad.c expect.c LIBS sf_train)
