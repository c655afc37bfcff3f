"""MNIST: the data, the models, their training and what they learned."""
