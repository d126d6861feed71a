"""Panel components of the viewer (imports Panel; the rest of vizcache does not)."""
