"""Built-in goAML profiles (YAML)."""
