"""Editors' rules: the expression language, its name registry, rule segments and profile names."""
