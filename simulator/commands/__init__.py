"""Sub-commands of the ``leosim`` CLI, one module each; each exposes ``register(subparsers)``."""
