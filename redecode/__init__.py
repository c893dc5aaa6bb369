"""redecode: repair compressed video with networks steered by the bitstream's metadata."""

__version__ = "0.1.0"
