"""Per-region work: tasks of the layer-wise refinement (`tasks`), the split of one cell by a
layer's hyperplanes in LP mode (`split`) and vertex mode (`vertex`), the homogeneous lifting of
the whole space (`lifting`) and the step that keeps cells meeting a Euclidean ball (`ball`).
No processes, no files."""
