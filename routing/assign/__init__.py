"""Who gets an incident: the grid it happened in, and who is on duty there.

grids.py — grids (网格) from GeoJSON, each naming its street and community, and point -> grid lookup.
organisation.py — the tree 区 → 街道 → 社区 → 网格 over the grids, and which grids lie under a node.
roster.py — grid workers (网格员), their shifts, who is on duty in a grid at a moment.
"""
