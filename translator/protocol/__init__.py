"""What the two protocols are and how their fields correspond, shared by every part above it.

* :mod:`.mapping`: field tables (finish reasons, usage, logprobs, the ``Response`` shell);
* :mod:`.provider_errors`: providers' error bodies in OpenAI's shape, with the codes clients act on;
* :mod:`.tool_names`: Chat function names for Responses tools, and the map that turns them back;
* :mod:`.capabilities`: what a Chat Completions upstream accepts (``UpstreamProfile``);
* :mod:`.schemas`: tool parameter schemas that strict Chat upstreams accept.
"""
