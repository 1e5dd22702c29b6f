"""A Chat -> Responses translation its caller may stop early: :class:`InterruptibleChatToResponses`.

A gateway serving the Responses WebSocket stops reading the upstream when its client steers the running
response (``response.steer``): the translation then ends where it is, with ``response.incomplete`` and
``incomplete_details.reason = "steered"`` (the phase table's ``INTERRUPT`` move, :mod:`.chat_phases`;
the terminal response is shaped by :func:`.chat_endings.final_response`, like every other ending).  The
caller also numbers events of its own (``response.steer.accepted``...) in the response's sequence.

Everything else is :class:`~translator.streams.chat_to_responses.ChatToResponses`, unchanged.
"""

from __future__ import annotations

from .chat_endings import final_response
from .chat_phases import Input, Phase
from .chat_to_responses import ChatToResponses, Event

__all__ = ["InterruptibleChatToResponses"]


class InterruptibleChatToResponses(ChatToResponses):
    """:class:`ChatToResponses` with :meth:`interrupt`, and a way to number the caller's own events."""

    __slots__ = ()

    @property
    def has_tool_calls(self) -> bool:
        """Whether a tool call has started in this response (its output then waits for the client's tool
        results: a gateway lets such a response complete rather than interrupt it)."""
        return bool(self._calls.calls)

    def interrupt(self, reason: str) -> list[Event]:
        """The caller stops reading the input here: what waits goes out, open items close as
        ``incomplete``, and ``response.incomplete`` ends the response with ``incomplete_details.reason =
        reason``.  Nothing once the response has ended."""
        if self._phase is Phase.ENDED or self._closed:
            return []
        out = self._start({}) if self._move(Input.INTERRUPT) is Phase.IDLE else []
        out += self._flush_think() + self._close_all("incomplete")
        if self._audio is not None:
            out += self._audio.done()
            self._audio = None
        assert self._response is not None
        kind, response, _ = final_response(
            self._response, self._stream.items, self._usage, self._service_tier, None, None, reason
        )
        out.append(self._stream.ended(kind, response))
        return out

    @property
    def next_sequence(self) -> int:
        """The ``sequence_number`` the next event of this response gets."""
        return self._stream.seq

    def number(self, event: Event) -> Event:
        """``event``, one of the caller's own (a WebSocket's ``response.steer.accepted``), numbered in this
        response's sequence."""
        return self._stream.event(event)
