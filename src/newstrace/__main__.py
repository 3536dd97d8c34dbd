"""``python -m newstrace`` runs the CLI."""

import sys

try:
    from newstrace.cli import main
except KeyboardInterrupt:  # Ctrl-C while the modules load: nothing started yet
    sys.stderr.write("Interrupted; run the same command again to resume.\n")
    sys.exit(130)

if __name__ == "__main__":
    main()
