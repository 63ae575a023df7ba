"""The device table's rows and the filter bar's options as HTML, built in Python.

At 50-200 rows of 10-13 cells, Django's template engine alone spent most of the 20 ms budget of the list page;
plain string building with escaping does the same markup in a fraction of that. The same holds for the selects
of the filter and bulk bars, which list every token and profile the user may see (hundreds of options).
The standard library's escape is what django.utils.html.escape calls, without its lazy-string wrapper per cell.
"""

from html import escape

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

_STATUS_BADGE = {"assigned": " badge-ok", "pushed": " badge-info", "removed": " badge-warn"}
_RESULT_BADGE = {"SUCCESS": " badge-ok", "THROTTLED": " badge-warn"}


def _cell(device, key: str, text: str, detail: str, token_list: str) -> str:
    if key == "serial_number":
        state = ""
        if device.deleted_here_at:
            state = ' <span class="badge badge-err">Deleted here</span>'
        elif device.removed_at:
            state = ' <span class="badge badge-warn">Removed at Apple</span>'
        return f'<td class="mono"><a href="{detail}">{escape(text)}</a>{state}</td>'
    if key == "profile_status":
        return f'<td><span class="badge{_STATUS_BADGE.get(device.profile_status, "")}">{escape(text)}</span></td>'
    if key == "assignment_result":
        if not text:
            return "<td>—</td>"
        return f'<td><span class="badge{_RESULT_BADGE.get(text, " badge-err")}">{escape(text)}</span></td>'
    if key == "token":
        return f'<td><a href="{token_list}">{escape(text)}</a></td>'
    if key == "description":
        return f'<td class="desc" title="{escape(text)}">{escape(text) or "—"}</td>'
    return f"<td>{escape(text) or '—'}</td>"


def device_rows_html(rows: list[tuple]) -> SafeString:
    """`<tr>` elements for (device, [(key, text), ...]) rows, with the selection checkbox first."""
    # reverse() once per page, not per row: the ids are swapped into a template URL.
    detail_url = reverse("devices:device_detail", args=[0]).replace("/0/", "/{}/")
    token_url = reverse("devices:token_device_list", args=[0]).replace("/0/", "/{}/")
    parts = []
    for device, cells in rows:
        detail = detail_url.format(device.pk)
        token_list = token_url.format(device.token_id)
        css = ' class="is-deleted"' if device.deleted_here_at else ""
        serial = escape(device.serial_number)
        parts.append(
            f'<tr{css}><td class="check"><input type="checkbox" class="row-check" name="id" value="{device.pk}" '
            f'form="bulk-form" aria-label="Select {serial}"></td>'
            + "".join(_cell(device, key, text, detail, token_list) for key, text in cells)
            + "</tr>"
        )
    return mark_safe("\n".join(parts))  # noqa: S308 - every value above is escaped


def column_headers_html(columns: list[tuple], sort_key: str, descending: bool) -> SafeString:
    """The table's `<th>` for (column, sort link) pairs, the sorted one marked, as the list's template wrote them."""
    parts = []
    for column, link in columns:
        sorted_here = column.key == sort_key
        state = ("descending" if descending else "ascending") if sorted_here else "none"
        arrow = (" ▼" if descending else " ▲") if sorted_here else ""
        parts.append(
            f'<th aria-sort="{state}"><a href="{escape(link)}" title="Sort by {escape(column.label.lower())}">'
            f"{escape(column.heading)}{arrow}</a></th>"
        )
    return mark_safe("".join(parts))  # noqa: S308 - links and labels are escaped


def column_choices_html(columns, chosen: set[str]) -> SafeString:
    """The column chooser's checkboxes, the chosen ones checked; the serial number cannot be left out."""
    return mark_safe(  # noqa: S308 - keys and labels are escaped
        "".join(
            f'<label><input type="checkbox" name="columns" value="{escape(column.key)}" '
            f"{'checked' if column.key in chosen else ''} {'disabled' if column.key == 'serial_number' else ''}> "
            f"{escape(column.label)}</label>"
            for column in columns
        )
    )


def options_html(options) -> SafeString:
    """`<option>` elements for (value, label, selected) triples, as the filter bar's template used to write them."""
    return mark_safe(  # noqa: S308 - values and labels are escaped
        "".join(
            f'<option value="{escape(str(value))}"{" selected" if selected else ""}>{escape(str(label))}</option>'
            for value, label, selected in options
        )
    )
