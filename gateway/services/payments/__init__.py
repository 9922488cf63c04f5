"""Remittance files in, matching runs and people's payment decisions."""
