"""``python -m crm_bridge`` works like the ``crm-bridge`` command."""

from crm_bridge.cli import main

if __name__ == "__main__":
    main()
