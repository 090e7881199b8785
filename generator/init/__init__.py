"""`doll init`: the Pod's init container, placing the wrapper, plan and scripts on the shared volumes.

May import: the standard library, contracts, entrypoint and contracts.plans; nothing else of generator.
"""
