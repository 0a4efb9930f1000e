"""Exercise checks for notebook 01."""
