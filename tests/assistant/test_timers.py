"""Timers and reminders: set, listed, cancelled, and firing later with a spoken notice.

Durations are tiny so timers really fire; the tests wait on the notice (generous timeout), never on a sleep.
"""

from __future__ import annotations

import asyncio

import pytest

from desktop.assistant import Assistant

WAIT = 30.0  # seconds: a timer of 0.05 s under heavy CPU load still fires well within this


@pytest.fixture
async def assistant():
    assistant = Assistant({"timezone": "UTC"})
    yield assistant
    await assistant.aclose()


async def say(assistant: Assistant, heard: str) -> str:
    reply = await assistant.respond(heard)
    assert reply.source == "skill:timer", (heard, reply.source)
    return await reply.text()


@pytest.mark.parametrize(
    ("heard", "reply"),
    [
        ("set a timer for 5 minutes for tea", "Timer set: tea, 5 minutes."),
        ("Set a tea timer for five minutes.", "Timer set: tea, 5 minutes."),
        ("set a 10 minute timer", "Timer set for 10 minutes."),
        ("timer for an hour and a half", "Timer set for 1 hour and 30 minutes."),
        ("start a timer for 2 minutes called pasta", "Timer set: pasta, 2 minutes."),
        ("remind me in 10 minutes to call mum", "OK, in 10 minutes I'll remind you to call mum."),
        ("remind me to call my mum in ten minutes", "OK, in 10 minutes I'll remind you to call your mum."),
        ("in 20 minutes remind me to check the oven", "OK, in 20 minutes I'll remind you to check the oven."),
        ("can you set a reminder for half an hour to stretch", "OK, in 30 minutes I'll remind you to stretch."),
        ("set a timer", "For how long? Say, for example, set a timer for 5 minutes."),
        ("remind me to call mum", "When should I remind you? Say, for example, remind me in 10 minutes to call mum."),
        ("set a timer for 25 hours", "I can only set timers and reminders up to 24 hours ahead."),
    ],
)
async def test_setting(assistant, heard, reply):
    assert await say(assistant, heard) == reply


async def test_a_timer_fires_with_its_notice(assistant):
    assert await say(assistant, "set a timer for 0.05 seconds for tea") == "Timer set: tea, 0.05 seconds."
    assert await asyncio.wait_for(assistant.next_notice(), WAIT) == "Timer: tea, 0.05 seconds, done."
    assert await say(assistant, "what timers do i have") == "You have no timers or reminders running."


async def test_a_reminder_fires_and_can_be_repeated(assistant):
    await say(assistant, "remind me in 0.05 seconds to call my mum")
    assert await asyncio.wait_for(assistant.next_notice(), WAIT) == "Reminder: call your mum."
    reply = await assistant.respond("repeat that")
    assert await reply.text() == "Reminder: call your mum."


async def test_timers_fire_in_order_of_their_durations(assistant):
    await say(assistant, "set a timer for 0.3 seconds for eggs")
    await say(assistant, "set a timer for 0.05 seconds for tea")
    first = await asyncio.wait_for(assistant.next_notice(), WAIT)
    second = await asyncio.wait_for(assistant.next_notice(), WAIT)
    assert (first, second) == ("Timer: tea, 0.05 seconds, done.", "Timer: eggs, 0.3 seconds, done.")


async def test_listing_and_cancelling(assistant):
    await say(assistant, "set a timer for 5 minutes for tea")
    await say(assistant, "remind me in 20 minutes to check the oven")
    await say(assistant, "set a 10 minute timer")
    listed = await say(assistant, "what timers do I have")
    assert listed.startswith("You have 3. The tea timer, ")
    assert "The timer for 10 minutes, " in listed and "The reminder to check the oven, " in listed
    assert (await say(assistant, "cancel the timer")).startswith("Which one? You have ")
    assert await say(assistant, "cancel the tea timer") == "Cancelled the tea timer."
    assert await say(assistant, "cancel the timer") == "Cancelled the timer for 10 minutes."  # the only timer left
    assert await say(assistant, "stop the oven reminder") == "Cancelled the reminder to check the oven."
    assert await say(assistant, "list timers") == "You have no timers or reminders running."
    assert await say(assistant, "cancel the timer") == "You have no timers or reminders to cancel."


async def test_cancel_by_duration(assistant):
    await say(assistant, "set a 5 minute timer")
    await say(assistant, "set a 10 minute timer")
    assert await say(assistant, "cancel the 5 minute timer") == "Cancelled the timer for 5 minutes."


async def test_cancel_all_and_a_cancelled_timer_never_fires(assistant):
    await say(assistant, "set a timer for 0.1 seconds for tea")
    await say(assistant, "set a timer for 0.2 seconds for eggs")
    assert await say(assistant, "cancel all timers") == "Cancelled both timers and reminders."
    await say(assistant, "set a timer for 0.3 seconds for bread")
    # the next notice is bread's: the cancelled (shorter) ones did not fire
    assert await asyncio.wait_for(assistant.next_notice(), WAIT) == "Timer: bread, 0.3 seconds, done."


async def test_aclose_cancels_the_timer_tasks():
    assistant = Assistant()
    await say(assistant, "set a timer for 10 minutes")
    timer_tasks = [t for t in asyncio.all_tasks() if t.get_name().startswith("assistant-timer-")]
    assert len(timer_tasks) == 1
    await assistant.aclose()
    assert all(task.done() for task in timer_tasks)


async def test_stop_alone_is_not_a_timer_command(assistant):
    await say(assistant, "set a timer for 5 minutes")
    reply = await assistant.respond("stop")
    assert reply.stop
    assert (await say(assistant, "list timers")).startswith("You have one.")


def at(hour: int, minute: int, second: float = 0.0):
    """A clock fixed at that moment, London time on 1 December 2026 (UTC+0 then)."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    moment = datetime(2026, 12, 1, hour, minute, tzinfo=ZoneInfo("Europe/London")) + timedelta(seconds=second)
    return lambda: moment


@pytest.mark.parametrize(
    ("heard", "reply"),
    [
        ("remind me at 5 pm to call mum", "OK, at 5 PM I'll remind you to call mum."),
        ("Remind me at 5:30 p.m. to go out.", "OK, at 5:30 PM I'll remind you to go out."),
        ("remind me at noon to eat", "OK, at noon tomorrow I'll remind you to eat."),
        ("set an alarm for 7 am", "Alarm set for 7 AM tomorrow."),
        ("set an alarm for 7", "Alarm set for 7 PM."),  # the next 7 o'clock to come
        ("wake me up at 6:30 in the morning", "Alarm set for 6:30 AM tomorrow."),
        ("wake me up in 20 minutes", "Alarm set for 20 minutes from now."),
        ("set an alarm", "For what time? Say, for example, set an alarm for 7 AM."),
    ],
)
async def test_times_of_day(heard, reply):
    assistant = Assistant({"timezone": "Europe/London"}, clock=at(15, 5))
    try:
        assert await say(assistant, heard) == reply
    finally:
        await assistant.aclose()


async def test_a_reminder_at_a_time_of_day_fires_then():
    assistant = Assistant({"timezone": "Europe/London"}, clock=at(14, 59, 59.95))  # 0.05 s before 3 PM
    try:
        assert await say(assistant, "remind me at 3 pm to stretch") == "OK, at 3 PM I'll remind you to stretch."
        assert await asyncio.wait_for(assistant.next_notice(), WAIT) == "Reminder: stretch."
        assert await say(assistant, "set an alarm for 3:00 pm") == "Alarm set for 3 PM."
        assert await asyncio.wait_for(assistant.next_notice(), WAIT) == "Alarm: it's 3 PM."
    finally:
        await assistant.aclose()


async def test_alarms_are_cancelled_by_their_time():
    assistant = Assistant({"timezone": "Europe/London"}, clock=at(15, 5))
    try:
        await say(assistant, "set an alarm for 7 am")
        await say(assistant, "set an alarm for 7 pm")
        await say(assistant, "remind me in 5 minutes to stretch")
        assert await say(assistant, "cancel the alarm") == (  # soonest first
            "Which one? You have 7 PM alarm, 7 AM alarm. Or say cancel all timers.")
        assert await say(assistant, "cancel the 7 am alarm") == "Cancelled the 7 AM alarm."
        assert await say(assistant, "cancel my alarms") == "Cancelled the 7 PM alarm."
        assert (await say(assistant, "list timers")).startswith("You have one. The reminder to stretch, ")
    finally:
        await assistant.aclose()
