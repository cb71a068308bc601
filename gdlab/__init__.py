"""gdlab: a command-line lab for gradient descent on small neural networks."""

__version__ = "0.1.0"
