"""Whatever is heard, the assistant answers in words and never raises: random mixes of the words the skills know
(numbers, operators, units, timer words, places), random characters, and very long turns."""

from __future__ import annotations

import random
import string

from desktop.assistant import Assistant

VOCABULARY = (
    "what is the time date in tokyo paris new york set a timer for remind me to at pm am cancel all timers list "
    "stop repeat that how many feet mile km miles celsius fahrenheit convert to plus minus times divided by "
    "squared cubed percent of square root power zero one two twenty three hundred thousand million point five "
    "and half an hour minutes seconds 0 1 5 17 23 100 0.5 3:30 : . , ? ! - + * / ^ % x alarm wake up oclock"
).split()
SOURCES = {"fallback", "stop"}


async def test_random_turns_always_get_a_reply():
    rng = random.Random(7)
    assistant = Assistant({"timezone": "UTC"})
    turns = [" ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(1, 12))) for _ in range(3000)]
    turns += ["".join(rng.choice(string.printable + "é°×÷’") for _ in range(rng.randint(0, 80))) for _ in range(500)]
    turns += [" ".join(["minus"] * 3000 + ["5"]), "what time is it in " + "x " * 5000, "9 " * 10000]
    try:
        for heard in turns:
            reply = await assistant.respond(heard)
            assert reply.source in SOURCES or reply.source.startswith("skill:"), (heard, reply.source)
            text = await reply.text()
            assert reply.stop or text, heard
        await assistant.respond("cancel all timers")
    finally:
        await assistant.aclose()
