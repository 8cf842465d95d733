"""Vocabulary shared by every layer: units, ids, errors and small frozen value types.

Imports nothing of suanwang; keep it dependency-free (stdlib only) so every layer, and the
runtime shipped to compute nodes, can use it.
"""
