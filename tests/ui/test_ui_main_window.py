"""MainWindow: intents out (signals), state in (slots), push-to-talk by button and Space."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget

from desktop.ui.main_window import MINIMUM_SIZE, TITLE


def space(kind: QEvent.Type, *, autorepeat: bool = False) -> QKeyEvent:
    return QKeyEvent(kind, Qt.Key.Key_Space, Qt.KeyboardModifier.NoModifier, " ", autorepeat)


def send_space(widget, kind: QEvent.Type, *, autorepeat: bool = False) -> None:
    QApplication.sendEvent(widget, space(kind, autorepeat=autorepeat))


def focus(qtbot, widget) -> None:
    widget.setFocus()
    qtbot.waitUntil(widget.hasFocus)


# -- the window itself -----------------------------------------------------------


def test_window_basics(window):
    assert window.windowTitle() == TITLE
    assert window.minimumSize() == MINIMUM_SIZE
    assert not window.windowIcon().isNull()


# -- typed messages ------------------------------------------------------------------


def test_enter_submits_the_text_and_clears_the_box(window, qtbot):
    focus(qtbot, window.input)
    qtbot.keyClicks(window.input, "  hello there ")
    with qtbot.waitSignal(window.text_submitted) as blocker:
        qtbot.keyClick(window.input, Qt.Key.Key_Return)
    assert blocker.args == ["hello there"]
    assert window.input.text() == ""


def test_send_button_submits(window, qtbot):
    window.input.setText("from the button")
    assert window.send_button.isEnabled()
    with qtbot.waitSignal(window.text_submitted) as blocker:
        qtbot.mouseClick(window.send_button, Qt.MouseButton.LeftButton)
    assert blocker.args == ["from the button"]
    assert not window.send_button.isEnabled()


def test_empty_text_is_ignored(window, qtbot):
    focus(qtbot, window.input)
    with qtbot.assertNotEmitted(window.text_submitted):
        qtbot.keyClick(window.input, Qt.Key.Key_Return)
        window.input.setText("   ")
        qtbot.keyClick(window.input, Qt.Key.Key_Return)
    assert not window.send_button.isEnabled()


# -- push to talk -------------------------------------------------------------------


def test_space_held_talks_once_despite_auto_repeat(window, qtbot):
    target = window.transcript
    focus(qtbot, target)
    started, stopped = [], []
    window.talk_started.connect(lambda: started.append(True))
    window.talk_stopped.connect(lambda: stopped.append(True))

    with qtbot.waitSignal(window.talk_started):
        send_space(target, QEvent.Type.KeyPress)
    for _ in range(5):  # what X11 sends while the key is held
        send_space(target, QEvent.Type.KeyRelease, autorepeat=True)
        send_space(target, QEvent.Type.KeyPress, autorepeat=True)
    assert window.talk.talking and stopped == []

    with qtbot.waitSignal(window.talk_stopped):
        send_space(target, QEvent.Type.KeyRelease)
    assert (len(started), len(stopped)) == (1, 1)
    assert not window.talk.talking


def test_space_via_qtbot_on_the_window(window, qtbot):
    with qtbot.waitSignals([window.talk_started, window.talk_stopped], order="strict"):
        qtbot.keyPress(window, Qt.Key.Key_Space)
        qtbot.keyRelease(window, Qt.Key.Key_Space)


def test_space_in_the_text_box_types_instead_of_talking(window, qtbot):
    focus(qtbot, window.input)
    with qtbot.assertNotEmitted(window.talk_started):
        qtbot.keyClicks(window.input, "a b")
    assert window.input.text() == "a b"


def test_space_in_the_empty_text_box_talks(window, qtbot):
    """After sending a message the focus stays in the (now empty) box: Space talks from there."""
    focus(qtbot, window.input)
    with qtbot.waitSignals([window.talk_started, window.talk_stopped], order="strict"):
        qtbot.keyPress(window.input, Qt.Key.Key_Space)
        qtbot.keyRelease(window.input, Qt.Key.Key_Space)
    assert window.input.text() == ""


def test_escape_leaves_the_text_box_so_space_talks_again(window, qtbot):
    focus(qtbot, window.input)
    qtbot.keyClick(window.input, Qt.Key.Key_Escape)
    assert not window.input.hasFocus()
    with qtbot.waitSignal(window.talk_started):
        qtbot.keyPress(window.focusWidget() or window, Qt.Key.Key_Space)


def test_space_with_a_modifier_does_not_talk(window, qtbot):
    with qtbot.assertNotEmitted(window.talk_started):
        qtbot.keyPress(window, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)


def test_focus_loss_while_talking_stops(window, qtbot):
    send_space(window, QEvent.Type.KeyPress)
    assert window.talk.talking
    with qtbot.waitSignal(window.talk_stopped):
        QApplication.sendEvent(window, QEvent(QEvent.Type.WindowDeactivate))
    assert not window.talk.talking

    # The Space release that follows elsewhere must not start or stop anything.
    with qtbot.assertNotEmitted(window.talk_stopped), qtbot.assertNotEmitted(window.talk_started):
        send_space(window, QEvent.Type.KeyRelease)


def test_focus_loss_when_not_talking_emits_nothing(window, qtbot):
    with qtbot.assertNotEmitted(window.talk_stopped):
        QApplication.sendEvent(window, QEvent(QEvent.Type.WindowDeactivate))


def test_talk_button_press_and_release(window, qtbot):
    with qtbot.waitSignal(window.talk_started):
        qtbot.mousePress(window.talk_button, Qt.MouseButton.LeftButton)
    assert window.talk_button.property("talking") is True
    assert "release" in window.talk_button.text().lower()
    with qtbot.waitSignal(window.talk_stopped):
        qtbot.mouseRelease(window.talk_button, Qt.MouseButton.LeftButton)
    assert window.talk_button.property("talking") is False
    assert window.talk_button.text() == "Hold to talk"


def test_button_and_space_together_start_once(window, qtbot):
    started = []
    window.talk_started.connect(lambda: started.append(True))
    qtbot.mousePress(window.talk_button, Qt.MouseButton.LeftButton)
    send_space(window, QEvent.Type.KeyPress)
    assert started == [True]
    with qtbot.waitSignal(window.talk_stopped):
        send_space(window, QEvent.Type.KeyRelease)
    with qtbot.assertNotEmitted(window.talk_stopped):
        qtbot.mouseRelease(window.talk_button, Qt.MouseButton.LeftButton)


def test_disabling_talk_stops_a_talk_and_blocks_new_ones(window, qtbot):
    send_space(window, QEvent.Type.KeyPress)
    with qtbot.waitSignal(window.talk_stopped):
        window.set_talk_enabled(False)
    send_space(window, QEvent.Type.KeyRelease)
    assert not window.talk_button.isEnabled()
    with qtbot.assertNotEmitted(window.talk_started):
        send_space(window, QEvent.Type.KeyPress)
        window.talk_button.pressed.emit()

    window.set_talk_enabled(True)
    with qtbot.waitSignal(window.talk_started):
        qtbot.mousePress(window.talk_button, Qt.MouseButton.LeftButton)


def test_closing_the_window_while_talking_stops(window, qtbot):
    send_space(window, QEvent.Type.KeyPress)
    with qtbot.waitSignal(window.talk_stopped):
        window.close()


# -- other intents -----------------------------------------------------------------


def test_actions_emit_intents(window, qtbot):
    with qtbot.waitSignal(window.reset_requested):
        window.reset_action.trigger()
    with qtbot.waitSignal(window.settings_requested):
        window.settings_action.trigger()


def test_retry_now_button(window, qtbot):
    window.set_connection_state("reconnecting", "connection refused")
    button = window.status.connection.retry_button
    assert button.isVisible()
    with qtbot.waitSignal(window.retry_requested):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


# -- state slots ------------------------------------------------------------------


def test_mic_state_is_shown_with_its_reason(window):
    window.set_mic_state("unavailable", "no input device")
    assert window.mic.text() == "Mic unavailable: no input device"
    assert "no input device" in window.mic.toolTip()

    window.set_mic_state("listening")
    assert window.mic.text() == "Listening"
    assert window.level_meter.isEnabled()
    window.set_mic_state("muted")
    assert window.mic.text() == "Muted"
    assert not window.level_meter.isEnabled()


def test_connection_state_and_countdown(window, clock):
    connection = window.status.connection
    window.set_connection_state("connected")
    assert connection.text() == "Connected"
    assert not connection.retry_button.isVisible()

    window.set_connection_state("reconnecting", "connection refused")
    window.set_retry_countdown(4.2)
    assert connection.text() == "Reconnecting in 5 s — connection refused"
    clock.advance(2.5)
    connection.on_tick()
    assert connection.text() == "Reconnecting in 2 s — connection refused"
    clock.advance(5)
    connection.on_tick()
    assert connection.text() == "Reconnecting now — connection refused"

    window.set_connection_state("error", "the server refused the token")
    window.set_retry_countdown(0)
    assert connection.text() == "Connection error: the server refused the token"
    assert connection.retry_button.isVisible()

    window.set_connection_state("connected")
    assert connection.seconds_left is None and not connection.retry_button.isVisible()


def test_error_banner_shows_and_dismisses(window, qtbot):
    assert window.banner.isHidden()
    window.show_error("Microphone is busy: another app is using it.")
    assert window.banner.isVisible()
    assert window.banner.text() == "Microphone is busy: another app is using it."
    assert window.status.message_text() == "Microphone is busy: another app is using it."

    with qtbot.waitSignal(window.banner.dismissed):
        qtbot.mouseClick(window.banner.close_button, Qt.MouseButton.LeftButton)
    assert window.banner.isHidden()


def test_errors_never_show_a_traceback(window):
    window.show_error('Traceback (most recent call last):\n  File "x.py", line 1\nOSError: device gone')
    assert window.banner.text() == "OSError: device gone"


def test_notice_goes_to_the_status_bar(window):
    window.show_notice("Gemini session resumed")
    assert window.status.message_text() == "Gemini session resumed"
    window.status.clear_message_text()
    assert window.status.message_text() == ""


def test_level_reaches_the_meter(window):
    window.set_mic_state("listening")
    window.set_level(-12.0)
    assert window.level_meter.target_level == -12.0


def test_switching_to_another_window_while_talking_stops(window, qtbot):
    other = QWidget()
    other.setMinimumSize(100, 100)
    qtbot.addWidget(other)
    send_space(window, QEvent.Type.KeyPress)
    with qtbot.waitSignal(window.talk_stopped):
        other.show()
        other.activateWindow()
    assert not window.talk.talking


def test_typing_anywhere_starts_a_message_but_space_still_talks(qtbot):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from desktop.ui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.transcript.setFocus()
    QTest.keyClicks(window.transcript, "hi")
    assert window.focusWidget() is window.input and window.input.text() == "hi"
    window.transcript.setFocus()
    with qtbot.waitSignal(window.talk_started):
        QTest.keyPress(window, Qt.Key.Key_Space)
    QTest.keyRelease(window, Qt.Key.Key_Space)
    assert window.input.text() == "hi"


def test_unmarked_auto_repeat_release_press_pairs_keep_one_talk(qtbot):
    """Xvfb/XTEST deliver a held key as release+press pairs not flagged as auto-repeat."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from desktop.ui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.set_talk_enabled(True)
    window.transcript.setFocus()
    started, stopped = [], []
    window.talk_started.connect(lambda: started.append(1))
    window.talk_stopped.connect(lambda: stopped.append(1))
    QTest.keyPress(window, Qt.Key.Key_Space)
    for _ in range(5):
        QTest.keyRelease(window, Qt.Key.Key_Space)
        QTest.keyPress(window, Qt.Key.Key_Space)
    assert started == [1] and stopped == []
    with qtbot.waitSignal(window.talk_stopped):
        QTest.keyRelease(window, Qt.Key.Key_Space)
    assert started == [1] and stopped == [1]


def test_the_talk_key_can_be_changed(qtbot):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from desktop.ui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.set_talk_enabled(True)
    window.set_talk_key("F8")
    window.input.setFocus()
    QTest.keyClicks(window.input, "typing")  # F8 talks even from a text box with text in it
    with qtbot.waitSignal(window.talk_started):
        QTest.keyPress(window.input, Qt.Key.Key_F8)
    with qtbot.waitSignal(window.talk_stopped):
        QTest.keyRelease(window.input, Qt.Key.Key_F8)
    with qtbot.assertNotEmitted(window.talk_started):
        QTest.keyPress(window, Qt.Key.Key_Space)  # Space is an ordinary key now
        QTest.keyRelease(window, Qt.Key.Key_Space)


def test_the_empty_conversation_names_the_talk_key_and_mode(qtbot):
    from PySide6.QtWidgets import QLabel

    from desktop.ui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    hint = window.transcript.placeholder.findChild(QLabel, "placeholderText")
    window.set_talk_key("F8")
    assert "F8" in hint.text() and "speak" in hint.text()
    window.set_talk_mode("open_mic")
    assert "mute" in hint.text()
