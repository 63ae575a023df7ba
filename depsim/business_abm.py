"""The mini ABM's API page: list API accounts and create one, whose private key is shown once (as ABM does)."""

from __future__ import annotations

from html import escape

from depsim import business
from depsim.abm import Answer, form_text, html_answer, json_answer, notice_html, page
from depsim.state import Simulator


def accounts_page(sim: Simulator, notice: str = "", created: dict | None = None) -> str:
    with sim.lock:
        accounts = [business.account_summary(a) for a in business.state_for(sim).accounts.values()]
    rows = "".join(
        f"<tr><td>{escape(a['name'])}</td><td><code>{escape(a['client_id'])}</code></td>"
        f"<td><code>{escape(a['key_id'])}</code></td><td>{a['scope']}</td><td>{a['created']}</td></tr>"
        for a in accounts
    )
    table = (
        f"<table><tr><th>Name</th><th>Client ID</th><th>Key ID</th><th>Scope</th><th>Created</th></tr>{rows}</table>"
        if rows
        else '<p class="muted">No API accounts yet.</p>'
    )
    once = ""
    if created:
        key = escape(created["private_key_pem"])
        key_href = escape(created["private_key_pem"].replace(chr(10), "%0A"))
        once = f"""<section id="new-account"><h2>{escape(created["name"])} created</h2>
<div class="notice">Download the private key now: it is shown only this once.</div>
<label>Client ID</label><code id="client-id">{escape(created["client_id"])}</code>
<label>Key ID</label><code id="key-id">{escape(created["key_id"])}</code>
<label for="private-key">Private key</label><textarea id="private-key" readonly>{key}</textarea>
<a class="button" download="{escape(created["name"])}.pem"
href="data:application/x-pem-file;charset=utf-8,{key_href}">Download private key</a>
</section>"""
    body = f"""<h1>API</h1>{notice_html(notice)}{once}
<section><h2>API accounts</h2><p class="muted">Apps use an API account's client ID, key ID and private key to
get access tokens for the Apple Business Manager API.</p>{table}</section>
<section><h2>Create an API account</h2><form method="post" action="/abm/api">
<label for="name">Name</label><input type="text" id="name" name="name" required maxlength="100" value="DEP Portal">
<label for="kind">Service</label><select id="kind" name="kind"><option value="business">Apple Business Manager</option>
<option value="school">Apple School Manager</option></select>
<button type="submit">Create and generate a private key</button></form></section>"""
    return page("API", body)


def handle(sim: Simulator, method: str, form: dict, wants_json: bool) -> Answer:
    if method == "POST":
        with sim.lock:
            created = business.state_for(sim).create_account(
                form_text(form, "name"), kind=form_text(form, "kind") or "business"
            )
        if wants_json:
            return json_answer(created, 201)
        return html_answer(accounts_page(sim, created=created), 201)
    if wants_json:
        with sim.lock:
            return json_answer(
                {"accounts": [business.account_summary(a) for a in business.state_for(sim).accounts.values()]}
            )
    return html_answer(accounts_page(sim))
