"""Outputs: tidy tables (pandas), CSV files written atomically, rich terminal tables."""
