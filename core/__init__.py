"""ECG–language explorer core: data, text, measurements, models, training, evaluation, index and map."""

__version__ = "0.1.0"
