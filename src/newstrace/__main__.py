"""``python -m newstrace`` runs the CLI."""

from newstrace.cli import main

if __name__ == "__main__":
    main()
