"""Entry point of the PyInstaller bundle: the same `seglab` command as the wheel installs."""

from seglab.cli import main

raise SystemExit(main())
