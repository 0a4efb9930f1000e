"""Exercise checks for notebook 06."""
