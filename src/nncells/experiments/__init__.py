"""Reproducible experiments, one module per study; each has ``run(out_dir, quick=False, seed=0)``
writing figures, data files and a Markdown report, and ``write_report(out_dir)`` that rebuilds the
report from the data files alone.

- `training_dynamics`: regions around training points while a network trains (Zhu, Lin, Tang 2020).
- `scaling`: runtime, LP solves, parallel speed-up, rank vs further partitioning and global bounds
  over a sweep of architectures (Drammis et al. 2024; Serra et al. 2018).
- `seed_paper`: the seed paper's own setting: two-hidden-layer MLPs 784-w-w-10 trained on 28x28
  images in [0, 1] (scikit-learn's digits upsampled, standing in for EMNIST), enumerated exactly in
  [0, 1]^784; runtime against regions, LP solves, speed-up, rank vs partitioning (Drammis et al. 2024).
- `topology`: when holes appear in a decision region during training: exact Betti numbers of the
  class regions and the boundary on two circles at checkpoints, and the final margin's barcode.
"""

EXPERIMENTS = {
    "training-dynamics": "nncells.experiments.training_dynamics",
    "scaling": "nncells.experiments.scaling",
    "seed-paper": "nncells.experiments.seed_paper",
    "topology": "nncells.experiments.topology_training",
}
