"""Reference VAE reproduction on MICRO2D with spatial-statistics losses (an example built on :mod:`spatialstats`).

Modules: :mod:`data` (lazy HDF5 reader and stratified splits), :mod:`make_synthetic_dataset` (an offline,
MICRO2D-shaped stand-in), :mod:`model` (TAESD-inspired VAE), :mod:`style` (VGG-19 Gram-matrix style loss),
:mod:`train` (experiments, checkpoints, DDP), :mod:`sweep` (Optuna), :mod:`evaluate` (figures and tables) and
:mod:`demo` (everything end to end at a small size).

The scripts are run by path (``python examples/vae_micro2d/train.py ...``); each puts ``examples/`` on
``sys.path`` so that the package imports as ``vae_micro2d``.
"""
