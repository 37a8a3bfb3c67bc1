"""Scoring: polarity, dimension means, weighted overall."""
from fingereval.score.aggregate import (default_weights, dimension_scores, overall_score, question_results,
                                        question_score, video_result)

__all__ = ["default_weights", "dimension_scores", "overall_score", "question_results", "question_score", "video_result"]
