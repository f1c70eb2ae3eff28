"""The Q.850 disconnect causes and their default redial categories (docs/causes.md).

Both the catalogue and the cause → category table are data: MTT's cause semantics are
unverified, so an operator must be able to correct the table without a code change.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple


class Cause(NamedTuple):
    name: str
    text: str
    text_ru: str | None = None


class Category(StrEnum):
    """What a finished call means for redialing; every category has its own policy row."""

    LISTENED = "listened"
    HUNG_UP = "hung_up"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    UNAVAILABLE = "unavailable"
    NETWORK = "network"
    INVALID_NUMBER = "invalid_number"
    ROUTE_ERROR = "route_error"
    REJECTED = "rejected"


_NOT_IMPLEMENTED = Cause(
    "SERVICE_OR_OPTION_NOT_IMPLEMENTED",
    "service or option not implemented",
    "услуга не реализована",
)
_PROTOCOL_ERROR = Cause("PROTOCOL_ERROR", "protocol error", "ошибка протокола")

_NAMED: dict[int, Cause] = {
    1: Cause("UNALLOCATED_NUMBER", "number not assigned", "номер не существует"),
    2: Cause("NO_ROUTE_TRANSIT_NET", "transit network unknown", "нет маршрута в транзитную сеть"),
    3: Cause(
        "NO_ROUTE_DESTINATION",
        "network does not serve the destination",
        "нет маршрута к абоненту",
    ),
    5: Cause("MISDIALLED_TRUNK_PREFIX", "wrong trunk prefix", "неверный префикс"),
    16: Cause("NORMAL_CLEARING", "answered, then a party hung up", "разговор завершён"),
    17: Cause("USER_BUSY", "busy", "занято"),
    18: Cause("NO_USER_RESPONSE", "no response within the timer", "абонент не отвечает"),
    19: Cause("NO_ANSWER", "rang, nobody answered", "нет ответа"),
    20: Cause(
        "SUBSCRIBER_ABSENT",
        "mobile switched off or out of coverage",
        "абонент выключен или вне зоны действия сети",
    ),
    21: Cause("CALL_REJECTED", "rejected by the callee or the network", "вызов отклонён"),
    22: Cause("NUMBER_CHANGED", "number changed", "номер изменён"),
    24: Cause(
        "CALL_REJECTED_DUE_TO_FEATURE_AT_DESTINATION",
        "rejected by a feature at the destination",
        "вызов отклонён услугой абонента",
    ),
    25: Cause("EXCHANGE_ROUTING_ERROR", "routing error", "ошибка маршрутизации"),
    27: Cause("DESTINATION_OUT_OF_ORDER", "destination interface down", "абонент неисправен"),
    28: Cause("INVALID_NUMBER_FORMAT", "invalid or incomplete number", "неверный формат номера"),
    29: Cause("FACILITY_REJECTED", "supplementary service refused", "услуга отклонена"),
    31: Cause("NORMAL_UNSPECIFIED", "normal, nothing more specific", "нормальное завершение"),
    34: Cause("NO_CIRCUIT_AVAILABLE", "no circuit available", "нет свободных каналов"),
    38: Cause("NETWORK_OUT_OF_ORDER", "network out of order", "сеть неисправна"),
    41: Cause("NORMAL_TEMPORARY_FAILURE", "temporary failure", "временный сбой"),
    42: Cause("SWITCH_CONGESTION", "switching equipment congestion", "перегрузка станции"),
    44: Cause("REQUESTED_CHAN_UNAVAIL", "requested channel unavailable", "канал недоступен"),
    47: Cause("RESOURCE_UNAVAIL_UNSPECIFIED", "resource unavailable", "ресурс недоступен"),
    50: Cause("FACILITY_NOT_SUBSCRIBED", "facility not subscribed", "услуга не подключена"),
    52: Cause("OUTGOING_CALL_BARRED", "outgoing calls barred", "исходящие вызовы запрещены"),
    53: Cause(
        "OUTGOING_CALL_BARRED_WITHIN_CUG",
        "outgoing calls barred within the closed user group",
        "исходящие вызовы запрещены в закрытой группе",
    ),
    54: Cause("INCOMING_CALL_BARRED", "incoming calls barred", "входящие вызовы запрещены"),
    55: Cause(
        "INCOMING_CALL_BARRED_WITHIN_CUG",
        "incoming calls barred within the closed user group",
        "входящие вызовы запрещены в закрытой группе",
    ),
    57: Cause(
        "BEARERCAPABILITY_NOTAUTH", "bearer capability not authorised", "тип связи не разрешён"
    ),
    58: Cause(
        "BEARERCAPABILITY_NOTAVAIL", "bearer capability not available", "тип связи недоступен"
    ),
    63: Cause("SERVICE_UNAVAILABLE", "service or option unavailable", "услуга недоступна"),
    65: Cause(
        "BEARERCAPABILITY_NOTIMPL", "bearer capability not implemented", "тип связи не реализован"
    ),
    66: Cause("CHAN_NOT_IMPLEMENTED", "channel type not implemented", "тип канала не реализован"),
    69: Cause(
        "FACILITY_NOT_IMPLEMENTED", "requested facility not implemented", "услуга не реализована"
    ),
    70: Cause(
        "ONLY_RESTRICTED_DIGITAL_INFO_AVAILABLE",
        "only restricted digital information bearer available",
        "доступна только ограниченная цифровая передача",
    ),
    79: Cause("SERVICE_NOT_IMPLEMENTED", _NOT_IMPLEMENTED.text, _NOT_IMPLEMENTED.text_ru),
    88: Cause("INCOMPATIBLE_DESTINATION", "incompatible destination", "несовместимый абонент"),
    95: Cause("INVALID_MSG_UNSPECIFIED", "invalid message", "неверное сообщение"),
    96: Cause("MANDATORY_IE_MISSING", "mandatory parameter missing", "нет обязательного параметра"),
    97: Cause(
        "MESSAGE_TYPE_NONEXIST", "message type not implemented", "тип сообщения не реализован"
    ),
    98: Cause(
        "WRONG_MESSAGE",
        "message not compatible with the call state",
        "сообщение не соответствует состоянию вызова",
    ),
    99: Cause("IE_NONEXIST", "parameter not implemented", "параметр не реализован"),
    100: Cause("INVALID_IE_CONTENTS", "invalid parameter contents", "неверное значение параметра"),
    101: Cause(
        "WRONG_CALL_STATE",
        "message not compatible with the call state",
        "сообщение не соответствует состоянию вызова",
    ),
    102: Cause(
        "RECOVERY_ON_TIMER_EXPIRE", "recovery on timer expiry", "истёк таймер ожидания ответа"
    ),
    103: Cause(
        "MANDATORY_IE_LENGTH_ERROR",
        "parameter not implemented, passed on",
        "параметр не реализован, передан дальше",
    ),
    110: Cause(
        "MESSAGE_WITH_UNRECOGNIZED_PARAMETER",
        "message with an unrecognised parameter discarded",
        "сообщение с неизвестным параметром отброшено",
    ),
    111: _PROTOCOL_ERROR,
    127: Cause("INTERWORKING", "unspecified interworking", "ошибка взаимодействия сетей"),
}

# Q.850 reads an unassigned value inside a class as that class's generic cause.
CAUSES: Mapping[int, Cause] = MappingProxyType(
    {
        **dict.fromkeys(range(65, 80), _NOT_IMPLEMENTED),
        **dict.fromkeys(range(95, 112), _PROTOCOL_ERROR),
        **_NAMED,
    }
)


def _each(category: Category, *causes: int | range) -> dict[int, Category]:
    numbers: list[int] = []
    for cause in causes:
        numbers.extend(cause if isinstance(cause, range) else (cause,))
    return dict.fromkeys(numbers, category)


# 16 and 31 are `listened`; `classify` turns a short one into `hung_up`.
DEFAULT_CATEGORIES: Mapping[int, Category] = MappingProxyType(
    {
        **_each(Category.LISTENED, 16, 31),
        **_each(Category.BUSY, 17),
        **_each(Category.NO_ANSWER, 18, 19, 102),
        **_each(Category.UNAVAILABLE, 20, 27),
        **_each(Category.NETWORK, 25, 34, 38, 41, 42, 44, 47, 58, 63),
        **_each(Category.INVALID_NUMBER, 1, 5, 22, 28),
        **_each(Category.ROUTE_ERROR, 2, 3, 29, 50, 57, range(65, 80), 88),
        **_each(Category.REJECTED, 21, 24, range(52, 56)),
    }
)

UNMAPPED_CATEGORY = Category.NO_ANSWER


def cause_text(cause: int, *, lang: str = "en") -> str:
    """Human text of a cause for exports; Russian when asked for and known."""
    known = CAUSES.get(cause)
    if known is None:
        return f"unknown cause {cause}" if lang != "ru" else f"неизвестная причина {cause}"
    if lang == "ru" and known.text_ru:
        return known.text_ru
    return known.text


def classify(
    cause: int,
    duration: int,
    *,
    min_listen_seconds: int,
    mapping: Mapping[int, Category] | None = None,
) -> Category:
    """The category of a finished call; a `listened` call shorter than the minimum is `hung_up`.

    `mapping` is the whole cause table (default `DEFAULT_CATEGORIES`); causes it lacks are
    `no_answer`, the cautious reading of a cause nobody has seen before.
    """
    if duration < 0:
        raise ValueError(f"duration must not be negative, got {duration}")
    table = DEFAULT_CATEGORIES if mapping is None else mapping
    category = table.get(cause, UNMAPPED_CATEGORY)
    if category == Category.LISTENED and duration < min_listen_seconds:
        return Category.HUNG_UP
    return category
