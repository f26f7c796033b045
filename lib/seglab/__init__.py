"""seglab: customer segmentation by density clustering (UMAP + DBSCAN), tracked and reproducible."""

__version__ = "0.1.0"
