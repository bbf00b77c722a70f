"""Engine adapters: each renders the neutral plan in its dialect and runs it."""
