"""The scenario driver behind `jis simulate`."""
