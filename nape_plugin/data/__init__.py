"""Data: labelled benchmark tables as graphs (``datasets``), their on-disk cache, generated networks, the demo sample.

This folder also ships the demo sample itself (``demo_nb201.csv``, see ``README.md`` here).
"""
