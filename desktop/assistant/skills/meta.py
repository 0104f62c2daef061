"""Talk about the talk: "stop", "repeat that", "what can you do", and the civilities ("hello", "thank you").

"stop" only matches on its own (with a few polite variants), so "stop the timer" reaches the timer skill.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from desktop.assistant.skills import Answer

__all__ = ["MetaSkill"]

_FILLER = r"(?:(?:hey|ok|okay|oh|please|just|assistant|now|so)\s+)*"
_STOP = re.compile(
    rf"^{_FILLER}(?:stop|stop it|stop talking|stop that|stop speaking|be quiet|quiet|shut up|silence|hush|enough|"
    r"that is enough|thats enough|never mind|nevermind|cancel|cancel that|forget it|shush|ok stop|okay stop)"
    r"(?: please| now| thanks| thank you)*$"
)
_REPEAT = re.compile(
    rf"^{_FILLER}(?:(?:can|could|would) you )?(?:please )?(?:repeat(?: that| it| yourself| the last thing)?|"
    r"say (?:that|it) again|again|what did you say|come again|pardon|pardon me|sorry what|what was that|"
    r"one more time|i did not (?:catch|hear) (?:that|you)|i didnt (?:catch|hear) (?:that|you))(?: please| again)*$"
)
_CAPABILITIES = re.compile(
    rf"^{_FILLER}(?:what (?:can|do) you do|what are you able to do|what (?:are|is) your (?:skills|abilities|features)|"
    r"what can i (?:ask|say)(?: you)?|what do you know|help|help me|how can you help(?: me)?|what are you|"
    r"who are you|what commands (?:are there|do you know)|what can you help (?:me )?with|list your skills)"
    r"(?: please| for me| exactly)*$"
)

_GREETING = re.compile(
    rf"^{_FILLER}(?:hello|hi|hey|hiya|hey there|hi there|hello there|good (?:morning|afternoon|evening)|greetings|"
    r"howdy|yo)(?: assistant| computer| there)?(?: how are you(?: doing)?(?: today)?)?$"
)
_HOW_ARE_YOU = re.compile(rf"^{_FILLER}(?:how are you|how are you doing|how is it going|hows it going)(?: today)?$")
_THANKS = re.compile(
    rf"^{_FILLER}(?:thank you|thanks|thank you very much|thanks a lot|many thanks|cheers|great thanks|"
    r"thank you so much|thats great thanks|perfect thanks|ok thanks|okay thanks|ok thank you)(?: assistant)?$"
)


class MetaSkill:
    """Answers stop, repeat and "what can you do" from what the assistant last said and can do."""

    def __init__(self, last_said: Callable[[], tuple[str, ...]], capabilities: Callable[[], tuple[str, ...]]) -> None:
        self._last_said = last_said
        self._capabilities = capabilities

    def __call__(self, text: str) -> Answer | None:
        if _STOP.match(text):
            return Answer(source="stop", sentences=(), stop=True)
        if _REPEAT.match(text):
            said = self._last_said()
            if not said:
                return Answer.say("skill:repeat", "I haven't said anything yet.")
            return Answer.say("skill:repeat", *said)
        if _CAPABILITIES.match(text):
            return Answer.say("skill:help", *self._capabilities())
        if _THANKS.match(text):
            return Answer.say("skill:chat", "You're welcome.")
        if _HOW_ARE_YOU.match(text):
            return Answer.say("skill:chat", "I'm well, thank you. What can I do for you?")
        if _GREETING.match(text):
            return Answer.say("skill:chat", "Hello! What can I do for you?")
        return None
