# Attack: leave long-lived programs behind: /usr/bin/sleep in a new session, and a shell
# that traps every signal it can, then exit.
# Expected: `succeeded`, and both die with the unit: nothing of the run is left.
import subprocess

subprocess.Popen(["sleep", "3600"], start_new_session=True)
subprocess.Popen(["sh", "-c", "trap '' HUP TERM INT QUIT; while :; do sleep 1; done"], start_new_session=True)
print("left behind", flush=True)
