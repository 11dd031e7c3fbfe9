"""Registry service: the places and programmes every other service refers to."""
