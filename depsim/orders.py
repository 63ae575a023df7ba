"""The mini ABM's purchase orders and its assignment history (Apple Business Manager's "Choose devices by Order
Number" and "View Assignment History"; the seed, steps 7 and 8). ABM-side records: the DEP web service never
shows them.
"""

from __future__ import annotations

from depsim.errors import ControlError
from depsim.state import Simulator, locked, normalise_serial

HISTORY_MAX = 1000
FIRST_ORDER = 7_000_001


@locked
def create_order(sim: Simulator, count: int, server_uuid: str | None = None) -> dict:
    """Devices bought on one new order (assigned to a server, or to nobody): {"order_number", "devices"}."""
    number = f"D{FIRST_ORDER + len(set(sim.orders.values()))}"
    created = sim.add_devices(server_uuid, count=count)
    for record in created:
        sim.orders[record["serial_number"]] = number
    if server_uuid:
        _record(sim, "assign", server_uuid, [r["serial_number"] for r in created], f"order {number}")
    return {"order_number": number, "devices": created}


def serials_of_orders(sim: Simulator, numbers: list[str]) -> list[str]:
    """The serials bought on these orders; an order the organisation never placed is an error."""
    wanted = [number.strip().upper() for number in numbers if number.strip()]
    with sim.lock:
        known = set(sim.orders.values())
        unknown = [number for number in wanted if number not in known]
        if unknown:
            raise ControlError(f"No order {', '.join(unknown)} in your organisation.")
        return [serial for serial, number in sim.orders.items() if number in wanted]


def order_of(sim: Simulator, serial: str) -> str:
    """The order a device was bought on ('' for devices that came another way)."""
    return sim.orders.get(normalise_serial(serial), "")


@locked
def record_assignment(sim: Simulator, action: str, server_uuid: str, serials: list[str], chosen_by: str) -> None:
    """One line of View Assignment History: what an admin did in ABM."""
    _record(sim, action, server_uuid, serials, chosen_by)


def assignment_history(sim: Simulator, *, serial: str = "") -> list[dict]:
    """View Assignment History, newest first; with `serial`, the lines that include that device."""
    wanted = normalise_serial(serial) if serial else ""
    with sim.lock:
        lines = [dict(line) for line in reversed(sim.assignment_history)]
    return [line for line in lines if not wanted or wanted in line["serials"]]


def _record(sim: Simulator, action: str, server_uuid: str, serials: list[str], chosen_by: str) -> None:
    if not serials:
        return
    sim.assignment_history.append(
        {
            "at": sim.now(),
            "action": action,
            "server_uuid": server_uuid,
            "server_name": sim.servers[server_uuid].name,
            "serials": list(serials),
            "chosen_by": chosen_by,
        }
    )
    del sim.assignment_history[:-HISTORY_MAX]
    sim.changed.set()
