"""Pipeline files: dialects translated into one frozen model (see ``model``)."""
