"""Exact 2-D partitions: the mesh split neuron by neuron (`mesh`), slices of any network by a
plane and their adjacency (`slices`), and their pictures (`plot`, needs matplotlib)."""
