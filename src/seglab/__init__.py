"""SegLab: a desktop workbench for segmenting users and accounts.

Importing ``seglab`` must stay cheap and Qt-free: the CLI and the core use it.
"""

__version__ = "0.1.0"
