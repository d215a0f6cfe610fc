"""Supply and demand: chains, regions, enterprises and their needs, institutions and their products."""
