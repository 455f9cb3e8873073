"""Geometry below the engine: the solvers (HiGHS LPs and QP, least-distance NNLS: `solvers`) and
the numerical contract with its error bounds (`contract`)."""
