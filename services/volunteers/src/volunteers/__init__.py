"""Volunteers service: volunteers, teams, backbones, hours, points, certificates."""
