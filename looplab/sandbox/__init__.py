"""One protocol to run untrusted code; backends docker, bubblewrap, process.

Not built yet: arrives with the sandbox issue (#5). ``looplab doctor`` already
reports which isolation engines this machine has.
"""

__all__: list[str] = []
