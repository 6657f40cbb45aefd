"""Demo retail-media data for Acme Foods: real network export formats generated from a known truth.

`generate_demo(out_dir)` writes the files, truth.json and manifest.json; `upc_check_digit` is the GS1 rule used.
"""

from campaigns.demo.catalog import upc_check_digit

__all__ = ["generate_demo", "upc_check_digit"]


def __getattr__(name: str):
    # Imported lazily so `python -m campaigns.demo.generate` does not import the module twice.
    if name == "generate_demo":
        from campaigns.demo.generate import generate_demo

        return generate_demo
    raise AttributeError(name)
