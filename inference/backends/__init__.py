"""Inference backends other than the local torch runtime (inference/runtime/): see `vllm`."""
