"""Who gets an incident: the grid it happened in, and who is on duty there.

grids.py — grids (网格) from GeoJSON, and point -> grid lookup.
roster.py — grid workers (网格员), their shifts, who is on duty in a grid at a moment.
"""
