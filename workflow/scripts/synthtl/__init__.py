"""synthtl: synthetic-data transfer learning for multivariate time-series classification.

Modules are imported explicitly (``from synthtl import data``); importing the package
itself loads nothing heavy, so the Snakefile can use its naming helpers.
"""

__version__ = "0.1.0"
