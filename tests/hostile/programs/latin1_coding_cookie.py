# -*- coding: latin-1 -*-
# Attack: Latin-1 source with a coding cookie (Python accepts it; the contract does not).
# Expected: refused with 400: the code must be UTF-8.
print("café")
