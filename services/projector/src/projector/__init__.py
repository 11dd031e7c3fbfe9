"""Projector: the province views, built from the event streams."""
