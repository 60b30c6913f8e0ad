"""curriscale: build curricula for language-model training and measure what they do to scaling."""

__version__ = "0.1.0"
