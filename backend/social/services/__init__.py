"""Writes for the social domain: follows (follows.py, edges.py), likes,
comments, and what a deleted photo leaves behind (photos.py)."""
