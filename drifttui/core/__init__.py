"""The pure core: models, normalisation, diff, classification, ignore rules, cost model.

Nothing in this package performs I/O, reads the clock or imports anything outside the
standard library and this package.
"""
