"""Render the main window with a sample conversation to PNGs for design review.

Not a test. Run from the project root::

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/ui/make_screenshot.py

Writes ``shots/window.png`` (a normal conversation), ``shots/window-talking.png``,
``shots/window-error.png`` (an error banner, a reconnect countdown and an
unavailable microphone) and ``shots/window-empty.png``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PySide6.QtWidgets import QApplication

from desktop.protocols.events import Interrupted, Speaker, TextKind, Transcript, TurnComplete
from desktop.transcript import TranscriptModel
from desktop.ui.main_window import MainWindow

USER, MODEL = Speaker.USER, Speaker.MODEL
SPOKEN = TextKind.TRANSCRIPTION


def sample_conversation() -> TranscriptModel:
    model = TranscriptModel()
    model.apply(Transcript(USER, "What's a good way to learn to play the guitar?", kind=SPOKEN))
    for piece in ("Start with a few open chords — G, C, D and E minor — ",
                  "and practise switching between them slowly. ",
                  "Ten focused minutes a day beats one long session a week."):
        model.apply(Transcript(MODEL, piece))
    model.apply(Transcript(MODEL, "Start with a few open chords.", kind=SPOKEN))  # shown once: text wins
    model.apply(TurnComplete())
    model.apply(Transcript(USER, "And which songs should I try first?", kind=SPOKEN))
    model.apply(Transcript(MODEL, "Songs with three or four chords are ideal, for example "))
    model.apply(Interrupted())
    typed = model.add_typed("Can you write that down as a list?", sent=True)
    model.mark_sent(typed.id)
    model.apply(Transcript(MODEL, "Sure! Here are five beginner songs:\n"))
    model.apply(Transcript(MODEL, "1. Knockin' on Heaven's Door\n2. Horse with No Name", final=False))
    model.add_typed("Thanks!", sent=False)
    return model


def main() -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    app.setStyle("Fusion")
    out = ROOT / "shots"
    out.mkdir(exist_ok=True)

    window = MainWindow()
    window.set_transcript_model(sample_conversation())
    window.set_connection_state("connected")
    window.set_mic_state("listening")
    window.set_level(-14.0)
    window.show()
    window.transcript.flush()
    app.processEvents()
    window.level_meter.on_tick()
    window.show_notice("Gemini session resumed")
    app.processEvents()
    window.transcript.scroll_to_bottom()
    app.processEvents()
    window.grab().save(str(out / "window.png"))

    window.talk.press()
    app.processEvents()
    window.grab().save(str(out / "window-talking.png"))
    window.talk.release()

    window.show_error("Could not reach the server at ws://localhost:8765: connection refused.")
    window.set_connection_state("reconnecting", "connection refused")
    window.set_retry_countdown(4.2)
    window.set_mic_state("unavailable", "no input device")
    window.set_talk_enabled(False)
    app.processEvents()
    window.grab().save(str(out / "window-error.png"))

    empty = MainWindow()
    empty.set_transcript_model(TranscriptModel())
    empty.set_connection_state("connecting")
    empty.show()
    app.processEvents()
    empty.grab().save(str(out / "window-empty.png"))
    print(f"wrote {out}/window.png, window-talking.png, window-error.png, window-empty.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
