from seglab.cli import main

raise SystemExit(main())
