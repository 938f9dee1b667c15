"""The lessons catalog: content format, the starter course, loading and validation."""
