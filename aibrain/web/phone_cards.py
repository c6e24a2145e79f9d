"""How an incident reads in the phone app: the inbox card's fields, deadlines and allowed actions."""

from __future__ import annotations
