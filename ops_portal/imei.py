"""IMEI check digits (the Luhn algorithm over the first 14 digits)."""


def luhn_check_digit(digits: str) -> str:
    """Return the Luhn check digit that completes a string of decimal digits."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def imei_with_check_digit(body: str) -> str:
    """Complete a 14-digit IMEI body with its check digit."""
    if len(body) != 14 or not body.isdigit():
        raise ValueError(f"An IMEI body has 14 digits, not {body!r}.")
    return body + luhn_check_digit(body)


def imei_is_valid(value: str) -> bool:
    """Return whether a 15-digit string has a correct IMEI check digit."""
    return len(value) == 15 and value.isdigit() and luhn_check_digit(value[:14]) == value[14]
