"""The state (columnar, per line / supplier / group), applying inputs, evaluating breaks.

Knows nothing of gRPC: it takes and returns the values of :mod:`jis.engine.model`.
"""
