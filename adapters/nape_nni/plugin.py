"""nape-plugin hooks contributed by the NNI adapter (loaded through the ``nape_plugin`` entry point)."""
