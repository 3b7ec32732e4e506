"""Oscar: forwards OSC cues from show control to devices that speak raw TCP."""

__version__ = "0.1.0"
