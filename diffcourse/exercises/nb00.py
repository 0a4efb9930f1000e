"""Exercise checks for notebook 00."""
