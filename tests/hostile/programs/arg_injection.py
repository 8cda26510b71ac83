# Attack: arguments that a shell or systemd's specifier and variable expansion would act on:
# $VAR, ${VAR}, $(cmd), `cmd`, %n/%i specifiers, ;, |, &&, quotes, a leading option, an
# embedded newline.
# Expected: `succeeded`, each argument arrives exactly as sent (printed back as JSON).
import json
import sys

print(json.dumps(sys.argv[1:]), flush=True)
