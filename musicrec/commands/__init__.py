"""Sub-commands of the ``musicrec`` CLI, one module each (see ``musicrec.cli``).

Keep imports of heavy libraries (torch, SB3, librosa) inside the command functions so that
``musicrec --help`` stays fast.
"""
