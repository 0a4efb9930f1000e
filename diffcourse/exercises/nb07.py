"""Exercise checks for notebook 07."""
