"""Site configuration: the pydantic schema of the site YAML, its loader and cross-field checks.

It sits between the stages and the app: it knows every stage's vocabulary (rule kinds, object
kinds, shift syntax, grid files) so that a bad config is rejected at start-up with every problem
named at once; the stages themselves never import it.
"""
