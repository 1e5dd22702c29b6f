"""The sans-I/O plumbing under both stream translators; it knows no protocol's fields.

* :mod:`.feed`: ``FeedBase`` (one ``feed()`` over dicts, SDK objects, ``DONE`` and raw bytes; errors
  that lose nothing) and the sync/async drivers;
* :mod:`.sse`: incremental SSE and JSON-lines decoding, the ``DONE`` sentinel, one SSE frame;
* :mod:`.jsonio`: JSON in and out (orjson, with the repairs orjson refuses to make);
* :mod:`.json_stream`: incremental JSON over text that arrives in fragments (tool-call arguments).
"""
