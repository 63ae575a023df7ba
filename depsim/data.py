"""Realistic generated device data: serials, models, colours, families, radios."""

from __future__ import annotations

import random
from dataclasses import dataclass

# Apple's post-2021 serials are 10 random characters; vowels are avoided so no words form.
_NEW_SERIAL_CHARS = "0123456789BCDFGHJKLMNPQRSTVWXYZ"
_OLD_SERIAL_CHARS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_PLANT_CODES = ("C02", "C07", "DMP", "DLX", "F9F", "FVF", "G8W", "GG7", "W80", "YM0")
_YEAR_CODES = "CDFGHJKLMNPQRSTVWXYZ"
_WEEK_CODES = "123456789CDFGHJKLMNPQRTVWXY"


@dataclass(frozen=True)
class ModelSpec:
    """One orderable Apple product: family, marketing model and description stem."""

    family: str
    model: str
    description: str
    colors: tuple[str, ...]
    capacities: tuple[str, ...]
    old_model_code: str
    cellular: bool = False
    ethernet: bool = False


CATALOGUE: tuple[ModelSpec, ...] = (
    ModelSpec(
        "iPhone",
        "iPhone 15",
        "IPHONE 15",
        ("BLACK", "BLUE", "GREEN", "YELLOW", "PINK"),
        ("128GB", "256GB", "512GB"),
        "0D52",
        cellular=True,
    ),
    ModelSpec(
        "iPhone",
        "iPhone 15 Pro",
        "IPHONE 15 PRO",
        ("BLACK TITANIUM", "WHITE TITANIUM", "BLUE TITANIUM", "NATURAL TITANIUM"),
        ("128GB", "256GB", "512GB", "1TB"),
        "0D6N",
        cellular=True,
    ),
    ModelSpec(
        "iPhone",
        "iPhone 14",
        "IPHONE 14",
        ("MIDNIGHT", "STARLIGHT", "BLUE", "PURPLE", "(PRODUCT)RED"),
        ("128GB", "256GB"),
        "0D2Q",
        cellular=True,
    ),
    ModelSpec(
        "iPhone",
        "iPhone SE (3rd generation)",
        "IPHONE SE",
        ("MIDNIGHT", "STARLIGHT", "(PRODUCT)RED"),
        ("64GB", "128GB"),
        "PLJX",
        cellular=True,
    ),
    ModelSpec(
        "iPad", "iPad (10th generation)", "IPAD WI-FI", ("SILVER", "BLUE", "PINK", "YELLOW"), ("64GB", "256GB"), "Q6FY"
    ),
    ModelSpec(
        "iPad",
        "iPad Air 11-inch (M2)",
        "IPAD AIR 11 WI-FI + CELLULAR",
        ("SPACE GRAY", "STARLIGHT", "PURPLE", "BLUE"),
        ("128GB", "256GB", "512GB"),
        "Q6L4",
        cellular=True,
    ),
    ModelSpec(
        "iPad",
        "iPad Pro 13-inch (M4)",
        "IPAD PRO 13 WI-FI",
        ("SPACE BLACK", "SILVER"),
        ("256GB", "512GB", "1TB"),
        "Q6T2",
    ),
    ModelSpec(
        "Mac",
        "MacBook Air",
        "MBA 13.6 MIDNIGHT/M3/8C CPU/10C GPU/16GB/512GB",
        ("MIDNIGHT", "STARLIGHT", "SPACE GRAY", "SILVER"),
        ("",),
        "MD6T",
    ),
    ModelSpec(
        "Mac",
        "MacBook Pro",
        "MBP 14 SPACE BLACK/M3 PRO/11C CPU/14C GPU/18GB/512GB",
        ("SPACE BLACK", "SILVER"),
        ("",),
        "MD6M",
    ),
    ModelSpec(
        "Mac",
        "iMac",
        "IMAC 24 4.5K/M3/8C CPU/10C GPU/8GB/256GB",
        ("BLUE", "GREEN", "PINK", "SILVER", "YELLOW", "ORANGE", "PURPLE"),
        ("",),
        "Q05P",
        ethernet=True,
    ),
    ModelSpec("Mac", "Mac mini", "MAC MINI/M2/8C CPU/10C GPU/8GB/256GB", ("SILVER",), ("",), "PJF2", ethernet=True),
    ModelSpec(
        "AppleTV",
        "Apple TV 4K (3rd generation)",
        "APPLE TV 4K WI-FI + ETHERNET",
        ("BLACK",),
        ("128GB",),
        "Q6R1",
        ethernet=True,
    ),
)

# Rough fleet mix of a company: phones first, then Macs and iPads, a few Apple TVs for meeting rooms.
_FAMILY_WEIGHTS = {"iPhone": 45, "iPad": 25, "Mac": 25, "AppleTV": 5}
OS_BY_FAMILY = {
    "iPhone": "iOS",
    "iPad": "iPadOS",
    "Mac": "OSX",
    "AppleTV": "tvOS",
    "iPod": "iOS",
    "Vision": "visionOS",
}
FAMILIES = tuple(_FAMILY_WEIGHTS)


def new_style_serial(rng: random.Random) -> str:
    """A 10-character serial as Apple issues them since 2021."""
    return "".join(rng.choice(_NEW_SERIAL_CHARS) for _ in range(10))


def old_style_serial(rng: random.Random, model_code: str) -> str:
    """A 12-character serial: plant, year/half, week, unit id, model code."""
    unit = "".join(rng.choice(_OLD_SERIAL_CHARS) for _ in range(3))
    return rng.choice(_PLANT_CODES) + rng.choice(_YEAR_CODES) + rng.choice(_WEEK_CODES) + unit + model_code


def _mac_address(rng: random.Random) -> str:
    # Apple OUIs keep the addresses plausible.
    oui = rng.choice(("A4:83:E7", "F0:18:98", "3C:22:FB", "BC:D0:74", "88:66:5A"))
    return oui + "".join(f":{rng.randrange(256):02X}" for _ in range(3))


def _luhn_digit(digits: str) -> str:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def _imei(rng: random.Random) -> str:
    body = "35" + "".join(str(rng.randrange(10)) for _ in range(12))
    return body + _luhn_digit(body)


def pick_model(rng: random.Random, family: str | None = None) -> ModelSpec:
    """A catalogue entry, of the given family or by the fleet mix."""
    if family is None:
        family = rng.choices(FAMILIES, weights=[_FAMILY_WEIGHTS[f] for f in FAMILIES])[0]
    options = [spec for spec in CATALOGUE if spec.family == family]
    if not options:
        raise ValueError(f"unknown device family {family!r}")
    return rng.choice(options)


def generate_device_fields(rng: random.Random, serial: str | None = None, family: str | None = None) -> dict:
    """Apple-side fields of one new device (no assignment or profile fields)."""
    spec = pick_model(rng, family)
    color = rng.choice(spec.colors)
    capacity = rng.choice(spec.capacities)
    if spec.family == "Mac":
        description = spec.description.replace(spec.colors[0], color, 1) + "-USA"
    else:
        description = " ".join(part for part in (spec.description, capacity, color) if part) + "-USA"
    if serial is None:
        serial = old_style_serial(rng, spec.old_model_code) if rng.random() < 0.3 else new_style_serial(rng)
    fields = {
        "serial_number": serial,
        "model": spec.model,
        "description": description,
        "color": color,
        "os": OS_BY_FAMILY[spec.family],
        "device_family": spec.family,
        "wifi_mac_address": _mac_address(rng),
        "bluetooth_mac_address": _mac_address(rng),
        "is_replacement_device": False,
    }
    if spec.ethernet:
        fields["ethernet_mac_address"] = _mac_address(rng)
    if spec.cellular:
        fields["imei"] = [_imei(rng)]
        fields["eid"] = "8904" + "".join(str(rng.randrange(10)) for _ in range(28))
    if rng.random() < 0.15:
        fields["asset_tag"] = f"AT-{rng.randrange(100000):05d}"
    return fields
