# Attack: crash the interpreter: unbounded recursion through C code (repr calling repr)
# with Python's recursion guard switched off, until the C stack overflows; perhaps leaving
# a core dump behind.
# Expected: `failed` with signal SIGSEGV (not a limit verdict), and no core dump
# (LimitCORE=0).
import sys

sys.setrecursionlimit(10**9)


class Deeper:
    def __repr__(self):
        return "<" + repr(self) + ">"


repr(Deeper())
