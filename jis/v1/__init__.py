"""Generated from proto/jis/v1 by proto/generate.py. Do not edit."""
