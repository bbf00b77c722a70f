"""HTTP routes: thin shells that validate input and call services (no SQL here)."""
