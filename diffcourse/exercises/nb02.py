"""Exercise checks for notebook 02."""
