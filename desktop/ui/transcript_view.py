"""The conversation as chat bubbles, bound to a :class:`~desktop.transcript.TranscriptModel`.

One :class:`TurnWidget` per turn. When the model reports a change the view
marks that turn dirty and, at most ~30 times a second, updates only the dirty
bubbles in place, so a long conversation streams as cheaply as a short one.
It follows the newest text unless the user has scrolled up to read.

Only the newest :data:`LIVE_BUBBLES` turns are widgets: a word-wrapped bubble
costs layout time on every change, so 5,000 of them made each streamed word
take a fifth of a second. Scrolling to the top brings in :data:`PAGE` earlier
turns at a time (the view stays where it was); back at the bottom the extra
ones are let go again.
"""

from __future__ import annotations

import bisect
import html
import math
from collections.abc import Callable

from PySide6.QtCore import QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QResizeEvent, QTextDocument
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QStackedLayout,
    QVBoxLayout,
    QWidget,
)

from desktop.transcript import TranscriptModel, Turn, TurnState

from .resources import load_icon
from .status import repolish
from .throttle import Throttle

__all__ = ["LIVE_BUBBLES", "PAGE", "SPEAKER_NAMES", "TranscriptView", "TurnWidget"]

LIVE_BUBBLES = 80  # bubbles kept while following the newest text: several screens full
PAGE = 20  # earlier turns brought in when the user scrolls to the top (each bubble costs a few ms)

SPEAKER_NAMES = {"user": "You", "model": "Assistant"}
_BUBBLE_WIDTH = 0.78  # of the visible width: long enough to read, short enough to tell sides apart
_FOLLOW_SLACK_PX = 24
_TENTATIVE_COLOR = "#8a919c"


def _html(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


class TurnWidget(QFrame):
    """One bubble: who spoke, what was said (tentative text set apart), and a footnote."""

    def __init__(self, turn: Turn, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.turn_id = turn.id
        self.speaker = turn.speaker
        self.setObjectName("turn")
        self.setProperty("speaker", turn.speaker)
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)

        self.header = QLabel(SPEAKER_NAMES.get(turn.speaker, turn.speaker), self)
        self.header.setObjectName("turnSpeaker")
        self.body = QLabel(self)
        self.body.setObjectName("turnText")
        self.body.setWordWrap(True)
        self.body.setTextFormat(Qt.TextFormat.RichText)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                          | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.body.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.footer = QLabel(self)
        self.footer.setObjectName("turnNote")
        self.footer.setTextFormat(Qt.TextFormat.RichText)  # a held turn's note has a "send" link

        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 8, 14, 10)
        layout.setSpacing(2)
        layout.addWidget(self.header)
        layout.addWidget(self.body)
        layout.addWidget(self.footer)
        self._text = ""
        self._tentative = ""
        self._note = ""
        self._measured: tuple[tuple[str, str, str], int] | None = None
        self.update_from(turn)

    # What is shown, for tests and accessibility.
    @property
    def text(self) -> str:
        return self._text

    @property
    def tentative(self) -> str:
        return self._tentative

    @property
    def note(self) -> str:
        return self._note

    def update_from(self, turn: Turn) -> None:
        """Show the turn's current text and state; cheap enough to call per streamed piece."""
        text, tentative = turn.text, turn.tentative
        note = self._note_for(turn)
        if (text, tentative) != (self._text, self._tentative) or not self.body.text():
            self._text, self._tentative = text, tentative
            rendered = self._render(turn, text, tentative)
            self.body.setText(rendered)
            self.body.setAccessibleName(text + tentative)
            self.updateGeometry()
        if note != self._note:
            self._note = note
            self.updateGeometry()
            self.footer.setText(note)
            self.footer.setProperty("note", "interrupted" if turn.state is TurnState.INTERRUPTED else "unsent")
            repolish(self.footer)
        self.footer.setVisible(bool(note))
        for name, value in (("state", str(turn.state)), ("unsent", turn.typed and not turn.sent)):
            if self.property(name) != value:
                self.setProperty(name, value)
                repolish(self)

    def _natural_width(self) -> int:
        """The width the text takes unwrapped, so short turns get short bubbles.

        QLabel's own hint wraps long text at a fixed guess; measuring lets the
        bubble grow to its maximum width before wrapping. Cached per text and font.
        """
        for label in (self.header, self.body, self.footer):
            label.ensurePolished()
        key = (self.body.text(), self.body.font().key(), self._note)
        if self._measured is not None and self._measured[0] == key:
            return self._measured[1]
        document = QTextDocument()
        document.setDocumentMargin(0)
        document.setDefaultFont(self.body.font())
        document.setHtml(self.body.text())
        widths = [math.ceil(document.idealWidth()),
                  self.header.fontMetrics().horizontalAdvance(self.header.text())]
        if self._note:
            widths.append(self.footer.fontMetrics().horizontalAdvance(self._note))
        width = max(widths) + 2
        self._measured = (key, width)
        return width

    def sizeHint(self) -> QSize:
        margins = self.contentsMargins() + self.layout().contentsMargins()
        width = min(self.maximumWidth(), self._natural_width() + margins.left() + margins.right())
        return QSize(width, self.heightForWidth(width))

    @staticmethod
    def _render(turn: Turn, text: str, tentative: str) -> str:
        shown = _html(text)
        if tentative:
            shown += f'<span style="color:{_TENTATIVE_COLOR}; font-style:italic">{_html(tentative)}</span>'
        if not shown and turn.is_open:
            shown = f'<span style="color:{_TENTATIVE_COLOR}">…</span>'
        return shown

    @staticmethod
    def _note_for(turn: Turn) -> str:
        if turn.state is TurnState.INTERRUPTED:
            return "— interrupted"
        if turn.typed and turn.held:
            return 'Not sent — <a href="send">send</a>'
        if turn.typed and not turn.sent:
            return "Not sent yet"
        return ""


class TranscriptView(QWidget):
    """Scrollable bubbles for every turn of the model it is given with :meth:`set_model`."""

    #: The user clicked "send" on typed text from an earlier run that was never sent (a turn id).
    send_held_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("transcriptView")
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # clicking the transcript leaves the text box
        self._model: TranscriptModel | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._widgets: dict[int, TurnWidget] = {}
        self._rows: dict[int, QWidget] = {}
        self._dirty: dict[int, Turn] = {}
        self._first_id: int | None = None  # the oldest turn shown as a bubble; earlier ones wait in the model
        self._from_bottom: int | None = None  # keep this distance to the bottom when earlier turns come in
        self._follow = True
        self._render = Throttle(self._flush_dirty, parent=self)

        self.scroll = QScrollArea(self)
        self.scroll.setObjectName("transcriptScroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self._content = QWidget()
        self._content.setObjectName("transcriptContent")
        self._column = QVBoxLayout(self._content)
        self._column.setContentsMargins(16, 16, 16, 16)
        self._column.setSpacing(10)
        self._column.addStretch(1)
        self.scroll.setWidget(self._content)
        self.placeholder = self._build_placeholder()

        self._pages = QStackedLayout(self)
        self._pages.addWidget(self.placeholder)
        self._pages.addWidget(self.scroll)

        bar = self.scroll.verticalScrollBar()
        bar.valueChanged.connect(self.on_scrolled)
        bar.rangeChanged.connect(self.on_range_changed)

    def set_talk_hint(self, key_name: str, *, open_mic: bool = False) -> None:
        """Say in the empty conversation which key talks (or mutes, with an open mic)."""
        hint = self.placeholder.findChild(QLabel, "placeholderText")
        if hint is None:
            return
        action = "mute" if open_mic else "speak"
        hint.setText(f"Hold <b>{html.escape(key_name)}</b> or the talk button to {action},"
                     "<br>or type a message below.")

    def set_about(self, assistant: str, about: str) -> None:
        """Say in the empty conversation who answers, what it can do and how to get more (plain text)."""
        label = self.placeholder.findChild(QLabel, "placeholderAbout")
        if label is None:
            return
        label.setText(f"<b>{html.escape(assistant)}</b><br>{html.escape(about)}" if assistant else "")
        label.setVisible(bool(assistant))

    def about_text(self) -> str:
        """The empty conversation's description of the assistant, as plain text (tests, accessibility)."""
        label = self.placeholder.findChild(QLabel, "placeholderAbout")
        if label is None or not label.text():
            return ""
        return html.unescape(label.text().replace("<br>", "\n").replace("<b>", "").replace("</b>", ""))

    @staticmethod
    def _build_placeholder() -> QWidget:
        """What an empty conversation shows: the app's mark and how to start."""
        page = QWidget()
        page.setObjectName("transcriptPlaceholder")
        logo = QLabel(page)
        logo.setObjectName("placeholderLogo")
        logo.setPixmap(load_icon("voice-desktop", sizes=(72, 144)).pixmap(QSize(72, 72)))
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint = QLabel("Hold <b>Space</b> or the talk button to speak,<br>or type a message below.", page)
        hint.setObjectName("placeholderText")
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setWordWrap(True)
        about = QLabel(page)
        about.setObjectName("placeholderAbout")
        about.setAlignment(Qt.AlignmentFlag.AlignCenter)
        about.setWordWrap(True)
        about.setTextFormat(Qt.TextFormat.RichText)
        about.setContentsMargins(32, 0, 32, 0)
        about.hide()
        column = QVBoxLayout(page)
        column.setSpacing(14)
        column.addStretch(1)
        column.addWidget(logo)
        column.addWidget(hint)
        column.addWidget(about)
        column.addStretch(1)
        return page

    # -- binding --------------------------------------------------------------

    @property
    def model(self) -> TranscriptModel | None:
        return self._model

    def set_model(self, model: TranscriptModel | None) -> None:
        """Show ``model`` (replacing any previous one) and follow its changes."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._model = model
        self.on_cleared()
        if model is None:
            return
        for turn in model.turns[-LIVE_BUBBLES:]:
            self._add(turn)
        self._unsubscribe = model.subscribe(self.on_turn_changed, self.on_cleared)

    # -- reading (tests, accessibility) ------------------------------------------

    def turn_widget(self, turn_id: int) -> TurnWidget | None:
        return self._widgets.get(turn_id)

    def turn_widgets(self) -> list[TurnWidget]:
        return list(self._widgets.values())

    @property
    def following(self) -> bool:
        """Whether new text scrolls into view (the user has not scrolled up)."""
        return self._follow

    def flush(self) -> None:
        """Apply pending updates now instead of at the next throttle tick."""
        self._render.flush()

    # -- model callbacks --------------------------------------------------------

    def on_turn_changed(self, turn: Turn, is_new: bool) -> None:
        self._dirty[turn.id] = turn
        self._render()

    def on_cleared(self) -> None:
        self._render.cancel()
        self._dirty.clear()
        for row in self._rows.values():
            self._column.removeWidget(row)
            row.deleteLater()
        self._rows.clear()
        self._widgets.clear()
        self._first_id = None
        self._from_bottom = None
        self._follow = True
        self._pages.setCurrentWidget(self.placeholder)

    def _flush_dirty(self) -> None:
        dirty, self._dirty = self._dirty, {}
        newest = max(self._widgets, default=0)  # turns are only ever appended: new ones come after it
        new = [turn for turn_id, turn in dirty.items() if turn_id > newest]
        for turn in new[-LIVE_BUBBLES:]:  # a restored conversation: only its newest turns become bubbles
            self._add(turn)
        for turn_id, turn in dirty.items():
            widget = self._widgets.get(turn_id)
            if widget is not None:
                widget.update_from(turn)
        if self._follow:
            self._trim()

    def _trim(self) -> None:
        """Let go of the oldest bubbles beyond LIVE_BUBBLES (they stay in the model)."""
        extra = len(self._widgets) - LIVE_BUBBLES
        if extra <= 0:
            return
        for turn_id in list(self._widgets)[:extra]:
            del self._widgets[turn_id]
            row = self._rows.pop(turn_id)
            self._column.removeWidget(row)
            row.deleteLater()
        self._first_id = next(iter(self._widgets))

    def _load_earlier(self) -> None:
        """The user reached the top: show up to PAGE earlier turns above, without moving what is in view."""
        if self._model is None or self._first_id is None:
            return
        turns = self._model.turns
        start = bisect.bisect_left([t.id for t in turns], self._first_id)
        earlier = turns[max(0, start - PAGE):start]
        if not earlier:
            return
        bar = self.scroll.verticalScrollBar()
        self._from_bottom = bar.maximum() - bar.value()
        added = {}
        for turn in reversed(earlier):
            self._add(turn, at=0)
            added[turn.id] = self._widgets.pop(turn.id)
        self._widgets = {**dict(reversed(added.items())), **self._widgets}
        self._first_id = earlier[0].id

    def _add(self, turn: Turn, at: int | None = None) -> None:
        self._pages.setCurrentWidget(self.scroll)
        row = QWidget(self._content)
        row.setObjectName("turnRow")
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        bubble = TurnWidget(turn, row)
        bubble.footer.linkActivated.connect(lambda _link, turn_id=turn.id: self.send_held_requested.emit(turn_id))
        bubble.setMaximumWidth(self._bubble_width())
        if turn.is_user:
            line.addStretch(1)
            line.addWidget(bubble)
        else:
            line.addWidget(bubble)
            line.addStretch(1)
        # Before the trailing stretch, so turns stack from the top.
        self._column.insertWidget(self._column.count() - 1 if at is None else at, row)
        self._rows[turn.id] = row
        self._widgets[turn.id] = bubble
        if self._first_id is None or turn.id < self._first_id:
            self._first_id = turn.id

    # -- scrolling -------------------------------------------------------------

    def _bubble_width(self) -> int:
        # The view's own width: the scroll area may be hidden (placeholder page) and not yet sized.
        margins = self._column.contentsMargins()
        usable = self.width() - margins.left() - margins.right() - self.scroll.verticalScrollBar().sizeHint().width()
        return max(160, int(usable * _BUBBLE_WIDTH))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        width = self._bubble_width()
        for bubble in self._widgets.values():
            bubble.setMaximumWidth(width)

    @Slot(int)
    def on_scrolled(self, value: int) -> None:
        bar = self.scroll.verticalScrollBar()
        self._follow = value >= bar.maximum() - _FOLLOW_SLACK_PX
        if self._follow and len(self._widgets) > LIVE_BUBBLES:
            QTimer.singleShot(0, self, self._trim)
        elif value <= bar.minimum() and bar.maximum() > 0 and self._from_bottom is None:
            QTimer.singleShot(0, self, self._load_earlier)

    @Slot(int, int)
    def on_range_changed(self, minimum: int, maximum: int) -> None:
        bar = self.scroll.verticalScrollBar()
        if self._from_bottom is not None:  # earlier turns came in above: keep the reader's place
            bar.setValue(maximum - self._from_bottom)
            self._from_bottom = None
        elif self._follow:
            bar.setValue(maximum)

    @Slot()
    def scroll_to_bottom(self) -> None:
        self._follow = True
        bar = self.scroll.verticalScrollBar()
        bar.setValue(bar.maximum())
