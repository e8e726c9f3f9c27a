"""One module per file format; :func:`core.data.readers.read_ecg` dispatches to them."""
