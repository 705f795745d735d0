"""Pure numba kernels over numpy arrays: no Python objects, no I/O, no engine imports.

Every kernel is ``@njit(cache=True)`` and private; the public wrapper validates,
allocates and calls it once. :func:`jis.kernels.warmup.compile_all` compiles them all
before the server reports SERVING.
"""
