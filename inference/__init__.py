"""Text generation: the base-model registry, the gpu-worker runtime and the generate service."""
