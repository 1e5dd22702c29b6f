"""What the tests share: the corpus, the SDK checks, fake upstreams, gateway and store helpers, Codex."""
