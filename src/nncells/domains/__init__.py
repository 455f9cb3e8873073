"""Input domains: `Box`, `Polytope`, `Ball` and the whole space `Space`."""
from __future__ import annotations

from typing import Any

from nncells.domains.ball import Ball
from nncells.domains.base import Domain
from nncells.domains.polyhedra import Box, Polytope, Space
from nncells.errors import DomainError

__all__ = ["Domain", "Box", "Polytope", "Space", "Ball", "domain_from_dict"]


def domain_from_dict(d: dict[str, Any]) -> Domain:
    """Inverse of ``Domain.to_dict``.

    Parameters
    ----------
    d : dict
        With ``"type"`` one of ``"box"``, ``"polytope"``, ``"space"``, ``"ball"`` and that
        domain's fields (a ball's ``"norm"`` defaults to 2).

    Returns
    -------
    Domain

    Raises
    ------
    DomainError
        For an unknown ``"type"`` (or invalid fields).

    Examples
    --------
    >>> domain_from_dict({"type": "ball", "center": [0.0, 0.0], "radius": 2.0})
    Ball(center=array([0., 0.]), radius=2.0, norm=2, dim=None)
    >>> domain_from_dict(Space(3).to_dict())
    Space(dim=3)
    >>> domain_from_dict({"type": "disk"})
    Traceback (most recent call last):
    ...
    nncells.errors.DomainError: unknown domain type 'disk'
    """
    kind = d.get("type")
    if kind == "box":
        return Box(d["lo"], d["hi"])
    if kind == "polytope":
        return Polytope(d["A"], d["b"])
    if kind == "space":
        return Space(d["dim"])
    if kind == "ball":
        return Ball(d["center"], d["radius"], d.get("norm", 2))
    raise DomainError(f"unknown domain type {kind!r}")
