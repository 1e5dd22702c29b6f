"""The stream translators (sans-I/O, ``feed()``/``close()``) and what reads or makes whole streams.

* :mod:`.chat_to_responses`: a ``chat.completion.chunk`` stream -> Responses events;
* :mod:`.responses_to_chat`: Responses events -> ``chat.completion.chunk`` stream;
* :mod:`.accumulate`: either stream -> its final object;
* :mod:`.object_stream`: a final object -> the stream that would have produced it;
* :mod:`.think_tags`: ``<think>`` reasoning split out of streamed text.
"""
