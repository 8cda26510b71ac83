# Attack: flood stdout with bytes that are not UTF-8 (lone continuation bytes, 0xff, NULs).
# Expected: `output_limit_exceeded`; the JSON shows U+FFFD for the invalid bytes and the raw
# endpoint gives exactly the first output_bytes bytes written.
import os

chunk = bytes(range(256)) * 16
while True:
    os.write(1, chunk)
