"""Runtime resources shipped with SegLab: demo data, icons, style sheet."""
