"""Exercise checks for notebook 08."""
