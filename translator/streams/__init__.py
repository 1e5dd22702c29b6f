"""The stream translators (sans-I/O, ``feed()``/``close()``) and what reads or makes whole streams.

* :mod:`.chat_to_responses`: a ``chat.completion.chunk`` stream -> Responses events, in parts:
  :mod:`.chat_phases` (its phases and their transition table), :mod:`.item_writers` (one writer per
  output item kind), :mod:`.provider_quirks` (what providers send beyond OpenAI's chunks),
  :mod:`.chat_tool_calls` (which call a tool-call delta continues), :mod:`.chat_waiting` (what waits
  for the open call's arguments), :mod:`.chat_endings` (the terminal event);
* :mod:`.responses_to_chat`: Responses events -> ``chat.completion.chunk`` stream;
* :mod:`.accumulate`: either stream -> its final object;
* :mod:`.object_stream`: a final object -> the stream that would have produced it;
* :mod:`.think_tags`: ``<think>`` reasoning split out of streamed text.
"""
