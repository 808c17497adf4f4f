"""SegLab's documentation, shipped inside the package as ``seglab.docs`` (Help → User guide)."""
