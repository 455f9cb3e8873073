"""nncells: exact geometry of ReLU networks (activation regions, counts, slices)."""
from .domain import Box, Polytope, Space
from .domain import Ball
from .errors import NNCellsError
from .network import Network, random_network
from .regions import EnumerationResult, Region, enumerate_regions

__version__ = "0.1.0"

__all__ = ["Box", "Polytope", "Space", "Network", "random_network", "NNCellsError",
           "EnumerationResult", "Region", "enumerate_regions", "__version__"]
