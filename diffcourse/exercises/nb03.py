"""Exercise checks for notebook 03."""
