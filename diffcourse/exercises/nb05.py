"""Exercise checks for notebook 05."""
