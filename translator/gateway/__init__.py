"""The gateway: ``POST /v1/responses`` over Chat Completions upstreams and ``POST /v1/chat/completions``
over Responses upstreams, as an ASGI application served by uvicorn (``translator serve``).

Installed with the ``gateway`` extra (``pip install 'chat-responses-translator[gateway]'``).  This
subpackage imports the core library; the core never imports it.
"""
