"""Reads for the social domain: follows, likes and comments, activity, and
the viewer-aware reads of a user's content (content.py)."""
