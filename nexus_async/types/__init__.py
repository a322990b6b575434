"""Response models and request parameters, one family per module."""
