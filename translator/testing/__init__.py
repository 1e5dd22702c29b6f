"""Tools for testing LLM streams: a validator, a normalizer, golden ``.sse`` snapshots and their plugin.

* :mod:`.validate`: a stream against its protocol's invariants;
* :mod:`.normalize`: volatile fields rewritten so two recordings compare equal;
* :mod:`.snapshot`: syrupy's extension for readable, normalized ``.sse`` files;
* :mod:`.pytest_plugin`: the ``pytest11`` entry point (ini option, ``golden`` marker, selection bookkeeping).
"""
