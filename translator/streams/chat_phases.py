"""The phases of a Chat -> Responses translation, and the table of what moves between them.

Theory of operation
===================

Rule 1: everything that decides the phase lives here.  The translator
(:class:`~translator.streams.chat_to_responses.ChatToResponses`) turns what arrives into
:class:`Input`\\ s, asks :func:`advance` for the next phase, and then writes what the move means; it
never sets a phase itself.  Rule 2: this module knows nothing about events or chunks' fields.

A translation is in exactly one :class:`Phase`; the moves (:data:`TRANSITIONS`)::

        preamble         delta, usage chunk       delta, finish_reason (again)
         ┌────┐             ┌────┐                    ┌────┐
         │    ▼             │    ▼                    │    ▼
        IDLE ──first chunk──▶ STREAMING ──finish_reason──▶ FINISHED
         │                    │                            │
         │ [DONE]             │ error, [DONE]              │ usage chunk, error, [DONE]
         │                    ▼                            │
         └──────────────────▶ ENDED ◀──────────────────────┘
                              │    ▲
                              └────┘ [DONE]

        close(), from any phase but CLOSED ──▶ CLOSED (which accepts nothing)

* ``IDLE``: nothing translated yet.  A chunk that carries nothing to translate (Azure's
  ``prompt_filter_results`` preamble) leaves it here.  The first chunk that carries anything sends
  ``response.created`` and ``response.in_progress``.
* ``STREAMING``: the response is open and its choice is running: deltas open, continue and close
  output items (one at a time, in order).  A usage chunk here is kept for the terminal event.
* ``FINISHED``: a ``finish_reason`` closed every item.  Deltas that still come are translated (into
  new items); the include_usage chunk (usage and no choices) or ``[DONE]`` ends the response.
* ``ENDED``: the terminal event went out.  Chunks are not read any more (the translator drops them
  unread, so no chunk input reaches the table here); ``[DONE]`` is accepted and changes nothing.
* ``CLOSED``: ``close()`` was called; nothing is accepted (``feed()`` raises
  :class:`~translator.errors.StreamStateError`).

What goes out on a move (written by the translator, after the move):

* ``IDLE`` -first chunk-> ``STREAMING``: ``response.created``, ``response.in_progress``.
* ``STREAMING`` -finish_reason-> ``FINISHED``: what waited goes out, then every open item closes
  (an abnormal finish_reason, or a ``length`` that cut a call's arguments: what is open is left
  unfinished instead, never announced done).
* -error-> ``ENDED``: ``error`` and ``response.failed``, which lists what was open as unfinished
  (status ``incomplete``, no done events).
* ``FINISHED`` -usage chunk-> ``ENDED``, and -[DONE]-> ``ENDED`` or -close()-> ``CLOSED`` from a phase
  before ``ENDED``: open items close and the terminal event goes out.  After a finish_reason it
  follows the finish_reason; without one, ``[DONE]`` completes the response (Snowflake sends no
  finish_reason), ``close()`` fails it (the stream was cut), and both fail it naming the typed error
  that stopped the input earlier, if one did.  From ``IDLE`` the response is first created (empty).

A move that is not in :data:`TRANSITIONS` is a :class:`~translator.errors.StreamStateError`: none
can be caused by input data (chunks are dropped unread after the terminal event, and the first
chunk always starts the response before its deltas are read), only by using the translator out of
order.

The per-chunk path never looks the table up: a delta never changes the phase, and whether deltas are
translated is precomputed per phase (:data:`DELTAS_FLOW`, as h2 precomputes ``STREAM_OPEN``).
"""

from __future__ import annotations

from enum import IntEnum

from ..errors import StreamStateError

__all__ = ["DELTAS_FLOW", "TRANSITIONS", "Input", "Phase", "advance"]


class Phase(IntEnum):
    """Where a translation is (see the module's theory of operation)."""

    #: Nothing translated yet (at most a preamble chunk that carried nothing).
    IDLE = 0
    #: ``response.created`` went out; the choice is running.
    STREAMING = 1
    #: A ``finish_reason`` closed the items; usage or ``[DONE]`` ends the response.
    FINISHED = 2
    #: The terminal event went out; chunks are dropped unread.
    ENDED = 3
    #: ``close()`` was called.
    CLOSED = 4


class Input(IntEnum):
    """What can happen to a translation."""

    #: A first chunk that carries nothing to translate (Azure's ``prompt_filter_results`` chunk).
    PREAMBLE = 0
    #: The first chunk that carries anything (model, choices, usage or an error).
    FIRST_CHUNK = 1
    #: A choice's ``delta`` (of the translated choice).
    DELTA = 2
    #: A choice's ``finish_reason``.
    FINISH_REASON = 3
    #: A chunk with ``usage`` and no choices (the include_usage chunk).
    USAGE_CHUNK = 4
    #: A chunk that carries an error.
    ERROR = 5
    #: ``data: [DONE]``.
    DONE = 6
    #: ``close()``: the input is over.
    CLOSE = 7


#: (phase, input) -> the phase it moves to.  Anything not here is a :class:`StreamStateError`.
TRANSITIONS: dict[tuple[Phase, Input], Phase] = {
    (Phase.IDLE, Input.PREAMBLE): Phase.IDLE,
    (Phase.IDLE, Input.FIRST_CHUNK): Phase.STREAMING,
    (Phase.IDLE, Input.DONE): Phase.ENDED,
    (Phase.IDLE, Input.CLOSE): Phase.CLOSED,
    (Phase.STREAMING, Input.DELTA): Phase.STREAMING,
    (Phase.STREAMING, Input.USAGE_CHUNK): Phase.STREAMING,
    (Phase.STREAMING, Input.FINISH_REASON): Phase.FINISHED,
    (Phase.STREAMING, Input.ERROR): Phase.ENDED,
    (Phase.STREAMING, Input.DONE): Phase.ENDED,
    (Phase.STREAMING, Input.CLOSE): Phase.CLOSED,
    (Phase.FINISHED, Input.DELTA): Phase.FINISHED,
    (Phase.FINISHED, Input.FINISH_REASON): Phase.FINISHED,
    (Phase.FINISHED, Input.USAGE_CHUNK): Phase.ENDED,
    (Phase.FINISHED, Input.ERROR): Phase.ENDED,
    (Phase.FINISHED, Input.DONE): Phase.ENDED,
    (Phase.FINISHED, Input.CLOSE): Phase.CLOSED,
    (Phase.ENDED, Input.DONE): Phase.ENDED,
    (Phase.ENDED, Input.CLOSE): Phase.CLOSED,
}

#: The phases in which deltas are translated: the per-chunk path's one check (a delta never moves).
DELTAS_FLOW = frozenset(phase for (phase, input_) in TRANSITIONS if input_ is Input.DELTA)


def advance(phase: Phase, input_: Input) -> Phase:
    """The phase ``input_`` moves ``phase`` to; :class:`StreamStateError` if the table has no such move."""
    try:
        return TRANSITIONS[phase, input_]
    except KeyError:
        raise StreamStateError(f"{input_.name} is not allowed in phase {phase.name}") from None
