"""execute package."""
