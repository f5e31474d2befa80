#!/usr/bin/env python3
"""mdwe.py PROGRAM ARGS...: runs PROGRAM with memory-deny-write-execute.

prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN) is what the unit's
MemoryDenyWriteExecute=yes asks the kernel for: no mapping may become
writable and executable, and the setting survives execve().  The program
replaces this one (same process id)."""
import ctypes
import os
import sys

PR_SET_MDWE = 65
PR_MDWE_REFUSE_EXEC_GAIN = 1


def main():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
        sys.exit("mdwe.py: prctl(PR_SET_MDWE): " + os.strerror(ctypes.get_errno()))
    os.execvp(sys.argv[1], sys.argv[1:])


if __name__ == "__main__":
    main()
