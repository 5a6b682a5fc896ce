"""Reference VAE reproduction on MICRO2D with spatial-statistics losses (an example built on :mod:`spatialstats`).

Modules: :mod:`data` (lazy HDF5 reader, fraction-keeping resize, stratified splits), :mod:`make_synthetic_dataset`
(an offline, MICRO2D-shaped stand-in), :mod:`model` (TAESD-inspired VAE), :mod:`style` (VGG-19 style loss, from
:mod:`spatialstats.style`), :mod:`train_minimal` (CESS in a plain PyTorch loop), :mod:`train` (a full run) built from
:mod:`config` (options and command line), :mod:`experiments` (the losses), :mod:`loop` (step, epoch, validation) and
:mod:`runtime` (DDP, checkpoints, signals), :mod:`sweep` (Optuna), :mod:`evaluate` (figures and tables) and
:mod:`demo` (all five experiments end to end at a small size).

The scripts are run by path (``python examples/vae_micro2d/train.py ...``); each puts ``examples/`` on
``sys.path`` so that the package imports as ``vae_micro2d``.
"""
