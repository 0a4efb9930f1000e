"""Exercise checks for notebook 04."""
