"""nape-plugin hooks contributed by the NASLib adapter (loaded through the ``nape_plugin`` entry point)."""
