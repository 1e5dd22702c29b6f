"""Streams on the wire: one writer per protocol turns events or chunks into SSE bytes.

* :mod:`.responses_sse`: Responses events -> ``event: <type>`` + ``data: <json>`` frames;
* :mod:`.chat_sse`: Chat chunks -> ``data: <json>`` frames, an error chunk as ``event: error`` (the
  last frame), ``data: [DONE]`` at the end of a stream that did not fail; the streaming deltas of a
  ``ResponsesToChat`` go straight into frame templates (``ChatSSEWriter``), without a chunk each.

The library's SSE wrappers, the CLI and the gateway (bridge and relay) all write through these.
"""
