"""Print-house files: batch index, return files and the printability check."""
