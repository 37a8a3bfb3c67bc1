"""Answerers: a model watches a video and answers yes/no questions (interface in base.py)."""
