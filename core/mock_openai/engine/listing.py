"""Cursor pages as OpenAI's list endpoints answer them: `{object, data, first_id, last_id, has_more}`."""

from .errors import bad_request


def check_limit(limit: object, bounds: tuple[int, int]) -> int:
    low, high = bounds
    if isinstance(limit, bool) or not isinstance(limit, int) or not low <= limit <= high:
        raise bad_request(f"Invalid 'limit': expected an integer from {low} to {high}.", "limit", "invalid_value")
    return limit


def paginate(records: list[dict], key: str, after: str | None, limit: int) -> dict:
    """One page of the `key` objects of `records` (already in list order) after the object with id `after`."""
    ids = [record[key]["id"] for record in records]
    start = 0
    if after is not None:
        if after not in ids:
            raise bad_request(f"Invalid 'after': no object with id '{after}'.", "after", "invalid_value")
        start = ids.index(after) + 1
    items = [record[key] for record in records[start : start + limit]]
    return {
        "object": "list",
        "data": items,
        "first_id": items[0]["id"] if items else None,
        "last_id": items[-1]["id"] if items else None,
        "has_more": start + limit < len(records),
    }
