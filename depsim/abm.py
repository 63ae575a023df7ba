"""A mini Apple Business Manager: server-rendered pages (and the same as JSON) to manage MDM servers and devices."""

from __future__ import annotations

import csv
import email.parser
import email.policy
import io
import json
import re
from html import escape
from typing import Any
from urllib.parse import parse_qs, quote

from depsim import business, orders
from depsim.errors import ControlError
from depsim.state import Simulator, token_filename, token_p7m

HTML_TYPE = "text/html; charset=utf-8"
JSON_TYPE = "application/json;charset=UTF8"
MAX_DEMO_DEVICES = 100_000
_SPLIT = re.compile(r"[\s,;]+")

Answer = tuple[int, dict[str, str], bytes, str]

STYLE = """
body{font:14px/1.45 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;background:#f5f5f7;color:#1d1d1f}
header{background:#1d1d1f;color:#fff;padding:12px 24px;display:flex;gap:24px;align-items:center}
header a{color:#d2d2d7;text-decoration:none}header a:hover{color:#fff}header strong{font-size:16px}
main{max-width:1100px;margin:24px auto;padding:0 24px}
section{background:#fff;border-radius:12px;padding:16px 20px;margin-bottom:20px;box-shadow:0 1px 2px #0001}
h1{font-size:24px;margin:0 0 16px}h2{font-size:17px;margin:0 0 12px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e5e5ea}
th{font-weight:600;color:#6e6e73;font-size:12px;text-transform:uppercase}
label{display:block;margin:8px 0 4px;font-weight:600}
input[type=text],input[type=number],textarea,select{padding:6px 8px;border:1px solid #c7c7cc;border-radius:6px;
font:inherit;width:100%;box-sizing:border-box;max-width:480px}
input[type=file]{display:block}
textarea{height:90px;font-family:ui-monospace,Menlo,monospace}
button,.button{background:#0071e3;color:#fff;border:0;border-radius:980px;padding:7px 16px;font:inherit;
cursor:pointer;text-decoration:none;display:inline-block;margin-top:10px}
.secondary{background:#e8e8ed;color:#1d1d1f}
.notice{background:#e3f1ff;border:1px solid #b6dcfe;border-radius:8px;padding:10px 14px;margin-bottom:16px}
.error{background:#ffe9e7;border-color:#ffc0b9}
.muted{color:#6e6e73}code{font-family:ui-monospace,Menlo,monospace;font-size:12px}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:20px}
"""


def handle(sim: Simulator, method: str, path: str, query: dict, body: bytes, headers: Any) -> Answer:
    """Answer one ABM request (HTML, or JSON when asked for with Accept or ?format=json)."""
    wants_json = "application/json" in (headers.get("Accept") or "") or query.get("format") == ["json"]
    content_type = headers.get("Content-Type") or ""
    try:
        form = parse_form(body, content_type) if method == "POST" else {}
        if "application/json" in content_type:
            wants_json = True
        return route(sim, method, path.rstrip("/") or "/", query, form, wants_json)
    except ControlError as exc:
        if wants_json:
            return json_answer({"error": exc.message}, exc.status)
        return html_answer(
            page(
                "Error",
                f'<div class="notice error">{escape(exc.message)}</div>'
                '<a class="button secondary" href="/abm/">Back</a>',
            ),
            exc.status,
        )


def route(sim: Simulator, method: str, path: str, query: dict, form: dict, wants_json: bool) -> Answer:
    """Dispatch by method and path."""
    parts = [p for p in path.split("/") if p]
    if path == "/":
        return redirect("/abm/")
    notice = (query.get("notice") or [""])[0]
    if parts == ["abm"] and method == "GET":
        if wants_json:
            return json_answer({"servers": sim.list_servers(), "unassigned_devices": len(sim.unassigned_serials())})
        return html_answer(index_page(sim, notice))
    if parts == ["abm", "servers"] and method == "POST":
        return add_server(sim, form, wants_json)
    if parts == ["abm", "devices"] and method == "GET":
        search = (query.get("q") or [""])[0]
        devices = with_orders(sim, sim.org_devices(limit=500, query=search))
        if wants_json:
            return json_answer({"devices": devices})
        return html_answer(devices_page(devices, search, notice))
    if parts == ["abm", "api"]:
        from depsim import business_abm  # it builds on this module's page helpers

        return business_abm.handle(sim, method, form, wants_json)
    if parts == ["abm", "devices", "demo"] and method == "POST":
        return create_demo_devices(sim, form, wants_json)
    if parts == ["abm", "vpp"] and method == "POST":
        return download_vpp_token(sim, form)
    if parts == ["abm", "history"] and method == "GET":
        serial = (query.get("serial") or [""])[0]
        lines = orders.assignment_history(sim, serial=serial)
        if wants_json:
            return json_answer({"history": lines})
        return html_answer(history_page(lines, serial))
    if len(parts) >= 3 and parts[:2] == ["abm", "servers"]:
        server_uuid, action = parts[2], parts[3] if len(parts) > 3 else ""
        sim.server(server_uuid)
        if action == "" and method == "GET":
            if wants_json:
                return json_answer({**sim.server_info(server_uuid), "devices": sim.server_devices(server_uuid)})
            return html_answer(server_page(sim, server_uuid, notice))
        if action == "token" and method == "GET":
            return download_token(sim, server_uuid)
        if action == "renew" and method == "POST":
            return renew(sim, server_uuid, form, wants_json)
        if action in ("assign", "unassign") and method == "POST":
            return assign(sim, server_uuid, form, wants_json, unassign=action == "unassign")
    raise ControlError("No such page.", status=404)


# ----- actions -------------------------------------------------------------------------------------------------------


def add_server(sim: Simulator, form: dict, wants_json: bool) -> Answer:
    """Add MDM Server: a name and the MDM's public key (.pem certificate)."""
    certificate = form.get("public_key") or form.get("certificate_pem")
    if not certificate:
        raise ControlError("Upload the public key (.pem) your MDM server gave you.")
    created = sim.create_server(
        form_text(form, "name"), org_name=form_text(form, "org_name") or "Example Org", certificate_pem=certificate
    )
    if wants_json:
        return json_answer(sim.server_info(created["server_uuid"]), 201)
    return redirect(f"/abm/servers/{created['server_uuid']}?notice=" + quote("MDM server added. Download its token."))


def renew(sim: Simulator, server_uuid: str, form: dict, wants_json: bool) -> Answer:
    """Generate New Token: new access token and secret, same consumer key, optionally a new public key."""
    sim.renew_server(server_uuid, certificate_pem=form.get("public_key") or form.get("certificate_pem") or None)
    if wants_json:
        return json_answer(sim.server_info(server_uuid))
    return redirect(
        f"/abm/servers/{server_uuid}?notice="
        + quote("New token generated; the previous one no longer works. Download it and upload it to your MDM.")
    )


def download_token(sim: Simulator, server_uuid: str) -> Answer:
    """The server token file, encrypted to the server's public key."""
    with sim.lock:
        server = sim.server(server_uuid)
        if not server.certificate_pem:
            raise ControlError("This MDM server has no public key; upload one with Generate New Token.", 409)
        payload, name = token_p7m(server), token_filename(server)
    return 200, {"Content-Disposition": f'attachment; filename="{name}"'}, payload, "application/pkcs7-mime"


# Microsoft's Intune Company Portal on the App Store (apps.apple.com/app/id719171358).
COMPANY_PORTAL_ADAM_ID = "719171358"


def download_vpp_token(sim: Simulator, form: dict) -> Answer:
    """Settings > Apps and Books > Download: a location's content token, with Company Portal licences bought."""
    name = form_text(form, "location_name") or "Main location"
    try:
        licences = max(0, int(form_text(form, "licences") or "25"))
    except ValueError:
        raise ControlError("Enter a number of Company Portal licences.") from None
    created = sim.vpp.create_location(name, org_name=form_text(form, "org_name") or "Example Org")
    if licences:
        sim.vpp.set_asset(created["s_token"], COMPANY_PORTAL_ADAM_ID, total=licences)
    filename = "".join(ch if ch.isalnum() else "_" for ch in name) + ".vpptoken"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return 200, headers, created["vpptoken"].encode(), "application/octet-stream"


def serials_from_form(sim: Simulator, form: dict) -> tuple[list[str], list[str]]:
    """(serials, how they were chosen): typed serial numbers, order numbers, an uploaded CSV (seed step 7)."""
    serials = [s for s in _SPLIT.split(form_text(form, "serials")) if s]
    chosen = ["serial numbers"] if serials else []
    numbers = [n for n in _SPLIT.split(form_text(form, "orders")) if n]
    if numbers:
        serials.extend(orders.serials_of_orders(sim, numbers))
        chosen.append(f"order {', '.join(n.upper() for n in numbers)}")
    upload = form.get("csv")
    if upload:
        serials.extend(serials_from_csv(upload))
        chosen.append("CSV file")
    return serials, chosen


def serials_from_csv(text: str) -> list[str]:
    """Serial numbers from CSV text; a header row naming a serial column is honoured."""
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        return []
    column = 0
    header = [cell.strip().lower() for cell in rows[0]]
    if any("serial" in cell for cell in header):
        column = next(i for i, cell in enumerate(header) if "serial" in cell)
        rows = rows[1:]
    return [row[column].strip() for row in rows if len(row) > column and row[column].strip()]


def assign(sim: Simulator, server_uuid: str, form: dict, wants_json: bool, *, unassign: bool) -> Answer:
    """Assign (or unassign) devices to the server by serial list, CSV, or all unassigned devices."""
    serials, chosen = serials_from_form(sim, form)
    if form_text(form, "all_unassigned") and not unassign:
        serials.extend(sim.unassigned_serials())
        chosen.append("all unassigned devices")
    if not serials:
        raise ControlError("Give at least one serial number, order number or CSV file.")
    if unassign:
        done = sim.unassign_devices(server_uuid, serials)
        orders.record_assignment(sim, "unassign", server_uuid, done, " and ".join(chosen))
        result = {"unassigned": done}
        message = f"{len(done)} device(s) unassigned."
    else:
        result = sim.assign_to_server(server_uuid, serials)
        orders.record_assignment(sim, "assign", server_uuid, result["assigned"], " and ".join(chosen))
        done = result["assigned"]
    # Apple Business sends webhook events for changes made in its web portal too.
    with sim.lock:
        events = business.state_for(sim)
        for serial in done:
            events.notify(business.EVENT_SERVER_CHANGED, serial, None if unassign else server_uuid)
    if not unassign:
        message = f"{len(result['assigned'])} device(s) assigned"
        if result["already"]:
            message += f", {len(result['already'])} already on this server"
        if result["not_found"]:
            message += f", not in your organisation: {', '.join(result['not_found'][:20])}"
        message += "."
    if wants_json:
        return json_answer(result)
    return redirect(f"/abm/servers/{server_uuid}?notice=" + quote(message))


def create_demo_devices(sim: Simulator, form: dict, wants_json: bool) -> Answer:
    """Create N realistic devices in the organisation, optionally assigned to a server."""
    try:
        count = int(form_text(form, "count") or "0")
    except ValueError:
        raise ControlError("The number of devices must be a whole number.") from None
    if not 1 <= count <= MAX_DEMO_DEVICES:
        raise ControlError(f"Create between 1 and {MAX_DEMO_DEVICES} devices at a time.")
    server_uuid = form_text(form, "server_uuid") or None
    if server_uuid:
        sim.server(server_uuid)
    order = orders.create_order(sim, count, server_uuid)
    if wants_json:
        return json_answer(order, 201)
    message = f"Order {order['order_number']}: {len(order['devices'])} demo device(s) created."
    return redirect("/abm/devices?notice=" + quote(message))


# ----- pages ---------------------------------------------------------------------------------------------------------


def index_page(sim: Simulator, notice: str) -> str:
    """MDM servers, Add MDM Server, demo devices."""
    rows = "".join(
        f'<tr><td><a href="/abm/servers/{s["server_uuid"]}">{escape(s["server_name"])}</a></td>'
        f"<td>{s['device_count']}</td><td>{s['access_token_expiry']}</td>"
        f"<td><code>{s['server_uuid']}</code></td></tr>"
        for s in sim.list_servers()
    )
    table = (
        f"<table><tr><th>Name</th><th>Devices</th><th>Token expires</th><th>Server UUID</th></tr>{rows}</table>"
        if rows
        else '<p class="muted">No MDM servers yet.</p>'
    )
    options = server_options(sim)
    body = f"""
<h1>Device Management Settings</h1>{notice_html(notice)}
<section><h2>MDM servers</h2>{table}</section>
<div class="grid">
<section><h2>Add MDM server</h2>
<form method="post" action="/abm/servers" enctype="multipart/form-data">
<label for="name">MDM server name</label><input type="text" id="name" name="name" required maxlength="100">
<label for="public_key">Public key (.pem from your MDM)</label>
<input type="file" id="public_key" name="public_key" accept=".pem,.crt,.cer" required>
<button type="submit">Save</button></form></section>
<section><h2>Demo devices</h2><p class="muted">{len(sim.unassigned_serials())} device(s) not assigned to any
server. <a href="/abm/devices">All devices</a></p>
<form method="post" action="/abm/devices/demo">
<label for="count">Number of devices</label><input type="number" id="count" name="count" value="25" min="1"
max="{MAX_DEMO_DEVICES}">
<label for="server_uuid">Assign to</label><select id="server_uuid" name="server_uuid">
<option value="">Nobody (organisation only)</option>{options}</select>
<button type="submit">Create devices</button></form></section>
<section><h2>Apps and Books</h2><p class="muted">A location's content token (.vpptoken) for your MDM, with
Company Portal licences bought for it.</p>
<form method="post" action="/abm/vpp">
<label for="location_name">Location</label>
<input type="text" id="location_name" name="location_name" value="Main location">
<label for="licences">Company Portal licences</label>
<input type="number" id="licences" name="licences" value="25" min="0">
<button type="submit" id="download-vpp">Download token</button></form></section></div>"""
    return page("MDM servers", body)


def server_page(sim: Simulator, server_uuid: str, notice: str) -> str:
    """One MDM server: token download/renewal, assignment by serial or CSV, its devices."""
    summary = sim.server_info(server_uuid)
    devices = sim.server_devices(server_uuid)
    rows = "".join(device_row(d) for d in with_orders(sim, devices[:200]))
    more = f'<p class="muted">Showing 200 of {len(devices)}.</p>' if len(devices) > 200 else ""
    download = (
        f'<a class="button" id="download-token" href="/abm/servers/{server_uuid}/token">Download token</a>'
        if summary["has_public_key"]
        else '<p class="muted">Upload a public key to download a token.</p>'
    )
    body = f"""
<h1>{escape(summary["server_name"])}</h1>{notice_html(notice)}
<section><h2>Server token</h2>
<table><tr><th>Server UUID</th><td><code>{server_uuid}</code></td></tr>
<tr><th>Token issued</th><td>{summary["token_issued"]}</td></tr>
<tr><th>Token expires</th><td>{summary["access_token_expiry"]}</td></tr>
<tr><th>Devices</th><td>{summary["device_count"]}</td></tr></table>
{download}
<form method="post" action="/abm/servers/{server_uuid}/renew" enctype="multipart/form-data">
<label for="public_key">New public key (optional)</label>
<input type="file" id="public_key" name="public_key" accept=".pem,.crt,.cer">
<button class="secondary" type="submit">Generate new token</button></form></section>
<div class="grid">
<section><h2>Assign devices</h2>
<form method="post" action="/abm/servers/{server_uuid}/assign" enctype="multipart/form-data">
<p class="muted">Choose devices by serial number, order number or CSV file.</p>
<label for="serials">Serial numbers</label><textarea id="serials" name="serials"
placeholder="One per line, or separated by commas"></textarea>
<label for="orders">Order numbers</label><input type="text" id="orders" name="orders" placeholder="D7000001">
<label for="csv">CSV file</label><input type="file" id="csv" name="csv" accept=".csv,.txt">
<label><input type="checkbox" name="all_unassigned" value="1"> All {len(sim.unassigned_serials())} unassigned
device(s)</label>
<button type="submit">Assign</button></form></section>
<section><h2>Unassign devices</h2>
<form method="post" action="/abm/servers/{server_uuid}/unassign" enctype="multipart/form-data">
<label for="unassign-serials">Serial numbers</label><textarea id="unassign-serials" name="serials"></textarea>
<button class="secondary" type="submit">Unassign</button></form></section></div>
<section><h2>Devices</h2>{device_table(rows)}{more}</section>"""
    return page(summary["server_name"], body)


def devices_page(devices: list[dict], search: str, notice: str) -> str:
    """Organisation devices with the server each is assigned to."""
    rows = "".join(device_row(d, with_server=True) for d in devices)
    body = f"""
<h1>Devices</h1>{notice_html(notice)}
<section><form method="get" action="/abm/devices"><label for="q">Serial number or model</label>
<input type="text" id="q" name="q" value="{escape(search)}"><button class="secondary" type="submit">Search</button>
</form></section>
<section>{device_table(rows, with_server=True)}<p class="muted">At most 500 shown.</p></section>"""
    return page("Devices", body)


def with_orders(sim: Simulator, devices: list[dict]) -> list[dict]:
    """Device records with the order each was bought on (ABM shows it; Apple's DEP records do not)."""
    return [{**device, "order_number": orders.order_of(sim, device["serial_number"])} for device in devices]


def history_page(lines: list[dict], serial: str) -> str:
    """View Assignment History: who assigned which devices to which server, newest first."""
    rows = "".join(
        f"<tr><td>{escape(line['at'])}</td><td>{escape(line['action'].capitalize())}</td>"
        f'<td><a href="/abm/servers/{line["server_uuid"]}">{escape(line["server_name"])}</a></td>'
        f"<td>{len(line['serials'])}</td><td>{escape(line['chosen_by'])}</td>"
        f"<td><code>{escape(', '.join(line['serials'][:10]))}{' ...' if len(line['serials']) > 10 else ''}</code></td>"
        "</tr>"
        for line in lines
    )
    table = (
        '<table id="history"><tr><th>When</th><th>Action</th><th>MDM server</th><th>Devices</th><th>Chosen by</th>'
        f"<th>Serial numbers</th></tr>{rows}</table>"
        if rows
        else '<p class="muted">No assignment yet.</p>'
    )
    body = f"""
<h1>Assignment history</h1>
<section><form method="get" action="/abm/history"><label for="serial">Serial number</label>
<input type="text" id="serial" name="serial" value="{escape(serial)}"><button class="secondary" type="submit">Search
</button></form></section>
<section>{table}</section>"""
    return page("Assignment history", body)


def device_table(rows: str, *, with_server: bool = False) -> str:
    """The device list's table (or an empty-state line)."""
    if not rows:
        return '<p class="muted">No devices.</p>'
    server = "<th>MDM server</th>" if with_server else ""
    return (
        f'<table id="devices"><tr><th>Serial number</th><th>Model</th><th>Description</th><th>Color</th>'
        f"<th>Order</th><th>Profile</th>{server}</tr>{rows}</table>"
    )


def device_row(device: dict, *, with_server: bool = False) -> str:
    """One device line."""
    server = ""
    if with_server:
        name = device.get("server_name")
        server = (
            f'<td><a href="/abm/servers/{device["server_uuid"]}">{escape(name)}</a></td>'
            if name
            else '<td class="muted">Unassigned</td>'
        )
    return (
        f"<tr><td><code>{escape(device['serial_number'])}</code></td><td>{escape(device.get('model', ''))}</td>"
        f"<td>{escape(device.get('description', ''))}</td><td>{escape(device.get('color', ''))}</td>"
        f"<td>{escape(device.get('order_number') or '-')}</td>"
        f"<td>{escape(device.get('profile_status', '-'))}</td>{server}</tr>"
    )


def server_options(sim: Simulator) -> str:
    """<option>s for every MDM server."""
    return "".join(
        f'<option value="{s["server_uuid"]}">{escape(s["server_name"])}</option>' for s in sim.list_servers()
    )


def notice_html(notice: str) -> str:
    """The flash message after a redirect."""
    return f'<div class="notice" id="notice">{escape(notice)}</div>' if notice else ""


def page(title: str, body: str) -> str:
    """The page frame: header navigation and inline style, nothing external."""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>{escape(title)} - depsim Business Manager
</title><style>{STYLE}</style></head><body><header><strong>depsim Business Manager</strong>
<a href="/abm/">MDM servers</a><a href="/abm/devices">Devices</a>
<a href="/abm/history">Assignment history</a><a href="/abm/api">API</a></header><main>{body}</main></body></html>"""


# ----- plumbing ------------------------------------------------------------------------------------------------------


def parse_form(body: bytes, content_type: str) -> dict[str, str]:
    """Fields of a urlencoded, multipart or JSON body; uploaded files become their text."""
    if "application/json" in content_type:
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            raise ControlError("The body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise ControlError("Send a JSON object.")
        return {key: json_field(value) for key, value in data.items()}
    if content_type.startswith("multipart/form-data"):
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
        )
        fields: dict[str, str] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name:
                payload = part.get_payload(decode=True) or b""
                fields[name] = payload.decode("utf-8", "replace")
        return fields
    return {key: values[-1] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}


def json_field(value: Any) -> str:
    """A JSON value as form text: lists become one item per line."""
    if isinstance(value, list):
        return "\n".join(str(item) for item in value)
    if isinstance(value, bool):
        return "1" if value else ""
    return "" if value is None else str(value)


def form_text(form: dict, key: str) -> str:
    """A form field, stripped ('' when absent)."""
    return (form.get(key) or "").strip()


def html_answer(text: str, status: int = 200) -> Answer:
    """An HTML page."""
    return status, {}, text.encode(), HTML_TYPE


def json_answer(payload: object, status: int = 200) -> Answer:
    """The same data as JSON."""
    return status, {}, json.dumps(payload).encode(), JSON_TYPE


def redirect(location: str) -> Answer:
    """303 See Other (post/redirect/get)."""
    return 303, {"Location": location}, b"", HTML_TYPE
