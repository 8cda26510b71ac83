# Attack: source code that is not UTF-8 (a stray 0xff byte and an overlong sequence).
# Expected: refused with 400 and a sentence saying the code must be UTF-8.
print("ÿÀ¯")
