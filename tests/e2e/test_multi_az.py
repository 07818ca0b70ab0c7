"""Multi-AZ end-to-end tests (being written)."""
