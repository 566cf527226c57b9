"""netverify: network-isolation verifier for Azure Machine Learning online endpoints."""

__version__ = "0.1.0"
