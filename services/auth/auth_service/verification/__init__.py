"""Email addresses proven by links: verification after registration, and email changes."""
