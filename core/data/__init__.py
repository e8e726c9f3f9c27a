"""Data layer: readers, preprocessing, catalogs, download and torch datasets."""
