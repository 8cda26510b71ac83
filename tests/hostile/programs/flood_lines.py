# Attack: print numbered lines forever.
# Expected: `output_limit_exceeded`, stdout_truncated, exactly output_bytes bytes kept
# (starting "line 0"), and nothing of the flood in the journal.
i = 0
while True:
    print("line", i)
    i += 1
