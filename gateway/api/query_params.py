"""Unknown query parameters are refused on every route, naming the parameter.

A misspelt or unsupported filter used to be ignored: `GET /deliveries?number=X` answered every delivery,
which looks like a result. `reject_unknown_query_params` is an app-wide dependency that compares the
request's parameters with those the matched route declares (its own, its dependencies', and the fields of
a query model).
"""

from __future__ import annotations

import types
import typing

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from gateway.api.errors import ErrorAnswer


def _query_model(annotation: object) -> type[BaseModel] | None:
    """The model of a query-model parameter (`Annotated[Model, Query()]`, also `Model | None`)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        annotation = members[0] if len(members) == 1 else None
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _query_names(dependant: Dependant) -> set[str]:
    names: set[str] = set()
    for field in dependant.query_params:
        model = _query_model(field.field_info.annotation)
        if model is None:
            names.add(field.alias)
        else:
            names.update(info.alias or name for name, info in model.model_fields.items())
    for dependency in dependant.dependencies:
        names |= _query_names(dependency)
    return names


def declared_query_params(route: APIRoute) -> frozenset[str]:
    """The query parameter names `route` takes, its dependencies' included (a walk of a few fields; only
    requests with a query string pay for it)."""
    return frozenset(_query_names(route.dependant))


def reject_unknown_query_params(request: Request) -> None:
    """A 422 naming every query parameter the route does not take (and saying which it does take)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    known = declared_query_params(route)
    unknown = [name for name in dict.fromkeys(request.query_params.keys()) if name not in known]
    if unknown:
        takes = ", ".join(sorted(known)) if known else "no query parameters"
        raise ErrorAnswer(
            422,
            [
                {"field": f"query.{name}", "reason": f"unknown query parameter; {route.path} takes {takes}"}
                for name in unknown
            ],
        )
