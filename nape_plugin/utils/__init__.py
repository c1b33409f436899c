"""Small helpers every layer may use: progress bars, files and folders."""
