"""The Pod's contracts, defined once: layout, wire messages, records, the wrapper's options, the plan, outcomes.

Standard library only and cheap to import (bundled with the step wrapper); every other package imports it.
"""
