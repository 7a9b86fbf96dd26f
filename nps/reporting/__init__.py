"""Rollups for reporting: per day and dimension, maintained from both apps' data."""
