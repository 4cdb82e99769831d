"""Tools a teacher may call, for tool-use data: where they come from (`catalog`, `signature`), how a call is read
from a reply (`calls`), and the format and execution stages that check a call (`checks`)."""
