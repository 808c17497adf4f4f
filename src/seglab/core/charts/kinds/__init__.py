"""One module per chart kind: its request, its analysis and the people behind a slice."""
