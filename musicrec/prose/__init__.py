"""Sentences that state results, built from small tables of those results (one function per comparison).

A notebook computes its tables, then calls one function here to say what they show; the functions take
a table and return Markdown, so the text follows the runs and is unit-tested on hand-made tables.
"""
