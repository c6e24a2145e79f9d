"""Site configuration: the pydantic schema of the site YAML, its loader and cross-field checks.

It sits between the stages and the app: it knows every stage's vocabulary (rule kinds, object
kinds, shift syntax, grid files) so that a bad config is rejected at start-up with every problem
named at once; the stages themselves never import it.

schema.py — the site YAML schema (a public contract: extend it, keep these names).
strict.py — the base of every config model: unknown keys, NaN and infinity are errors; values frozen.
taxonomy.py — the kinds of violation (taxonomy.yaml) and how a site's rule resolves against them.
load.py — load a site: parse, validate, run the checks, report every problem at once.
checks.py — checks that span fields or files (grids, model cards, TLS files, evidence folder, …).
problems.py — a problem names the file, the field path and the camera/zone.
yaml_file.py — reading a YAML file into data, and pydantic errors into problems.
expand.py — `${VAR}` and `${VAR:-default}` in config strings.
file_size.py — caps on the files a site is made of, checked before parsing.
site_writer.py — one camera's zones written back into the site file's text, every other line kept (ruamel.yaml).
writable.py — whether a folder the site names can really be written.
examples/ — the worked example site (site.yaml, grids.geojson) that `scripts/demo.sh` runs.
"""
