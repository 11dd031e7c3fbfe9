"""Training service: how provinces keep stations professional."""
