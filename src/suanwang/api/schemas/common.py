"""Shared field types of the API schemas.

Money goes out as a JSON number with at most 4 decimals (``float`` of the exact Decimal: the
shortest repr of a float round-trips any decimal of up to 15 significant digits, so the digits
on the wire are exactly the stored ones; parse them as Decimal). Money comes in as a number or a
string with at most 4 decimals (prices: 6).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

MoneyOut = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]
MoneyIn = Annotated[Decimal, Field(ge=0, le=Decimal("1e12"), decimal_places=4,
                                   allow_inf_nan=False)]
PriceIn = Annotated[Decimal, Field(ge=0, le=Decimal("1e9"), decimal_places=6,
                                   allow_inf_nan=False)]
QuantityOut = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]


class Out(BaseModel):
    """Response models read attributes of ORM rows."""

    model_config = ConfigDict(from_attributes=True)


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Message(BaseModel):
    detail: str


def json_response(model: BaseModel, status_code: int = 200) -> Response:
    """``model`` serialised once (pydantic-core, no second validation by FastAPI); the route
    keeps ``response_model=`` so the OpenAPI schema is unchanged."""
    return Response(model.model_dump_json(), status_code=status_code,
                    media_type="application/json")
