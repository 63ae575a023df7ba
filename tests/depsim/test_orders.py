"""The mini ABM's orders and assignment history, in the simulator itself (no HTTP)."""

import json

from depsim import orders, persist
from depsim.state import Simulator


def test_orders_and_history_survive_a_restart():
    sim = Simulator(seed=7)
    server = sim.create_server("Orders MDM")
    order = orders.create_order(sim, 2, server["server_uuid"])
    serial = order["devices"][0]["serial_number"]
    assert orders.order_of(sim, serial) == order["order_number"]
    assert "order_number" not in sim.devices[serial].version.fields  # Apple's device records never show it

    restarted = Simulator(seed=7)
    persist.restore(restarted, json.loads(json.dumps(persist.snapshot(sim))))
    assert orders.order_of(restarted, serial) == order["order_number"]
    assert orders.serials_of_orders(restarted, [order["order_number"]]) == [
        d["serial_number"] for d in order["devices"]
    ]
    (line,) = orders.assignment_history(restarted)
    assert line["action"] == "assign" and line["chosen_by"] == f"order {order['order_number']}"
    restarted.reset()
    assert restarted.orders == {} and restarted.assignment_history == []
