"""Whole objects, one call each: requests, transcripts, tools and final results, both directions.

* :mod:`.requests`: Chat ``CompletionCreateParams`` <-> Responses ``ResponseCreateParams``;
* :mod:`.transcripts`: Chat ``messages`` <-> Responses ``input`` items;
* :mod:`.tools`: Responses tools -> Chat tools for an upstream's capabilities;
* :mod:`.objects`: ``ChatCompletion`` <-> ``Response``;
* :mod:`.drop_policy`: what happens to a value the target cannot hold (raise, warn or collect).
"""
