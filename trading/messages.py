"""The `data` of every trading stream's messages, as PROTOCOL.md promises
it (streams.wire.messages explains the models' role). Each stream's
registration names its event models and its snapshot model from here."""

from typing import Literal

from pydantic import Field

from streams import Strict
from trading import actors
from trading.instances import states
from trading.instances.querysets import REASON_LENGTH

State = Literal[states.STATES]
Number = int | float


class Instance(Strict):
    """`instance_added`, `state_change`, and each row of a full_update."""

    id: str
    session_id: str
    strategy: str
    symbol: str
    state: State
    previous_state: State | None
    version: int = Field(ge=1)
    updated_at: str
    state_changed_at: str
    reason: str = Field(
        max_length=REASON_LENGTH, description="Why the last state move happened; may be empty."
    )
    actor: str = Field(
        pattern=actors.PATTERN,
        description="Who made the last state move, '<kind>:<who>': coordinator:<strategy>, "
        "admin:<username>, command:<command>@<OS user>, shell:<OS user>, api:<username>, "
        "system:<what>.",
    )
    changed_at: str = Field(
        description="When the last state move happened (ISO 8601 UTC, milliseconds); "
        "the same moment as state_changed_at."
    )


class InstanceRemoved(Strict):
    id: str
    session_id: str
    version: int = Field(ge=1)
    state: State


class InstancesSnapshot(Strict):
    instances: list[Instance]


class Condition(Strict):
    name: str
    value: Number | None
    threshold: Number | None
    progress: float = Field(ge=0, le=1)
    met: bool


class ConditionProgress(Strict):
    instance_id: str
    conditions: list[Condition]


class ConditionRow(ConditionProgress):
    symbol: str
    strategy: str


class ConditionsSnapshot(Strict):
    instances: list[ConditionRow]


class Indicators(Strict):
    symbol: str
    price: Number
    change_1m_pct: Number
    change_5m_pct: Number
    volume_ratio: Number
    pump_score: Number


class IndicatorsSnapshot(Strict):
    indicators: list[Indicators]


class Ticker(Strict):
    symbol: str
    price: Number
    bid: Number
    ask: Number
    volume_24h: Number


class TickersSnapshot(Strict):
    tickers: list[Ticker]


class Liquidation(Strict):
    symbol: str
    side: Literal["long", "short"]
    price: Number
    quantity: Number
    value_usd: Number
    timestamp: str


class LiquidationsSnapshot(Strict):
    liquidations: list[Liquidation]


class Signal(Strict):
    instance_id: str
    symbol: str
    side: str
    reason: str
    price: Number
    timestamp: str


class SignalsSnapshot(Strict):
    signals: list[Signal]
