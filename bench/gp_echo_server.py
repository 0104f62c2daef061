"""genai-processors' own ``live_server`` running an echo processor written against its API.

Run by ``bench/test_vs_genai_processors.py`` under a Python that has ``genai-processors`` installed (it is not a
dependency of this project): ``$VD_GENAI_PROCESSORS_PYTHON bench/gp_echo_server.py PORT``. The reference server
prints ``Server started on port PORT`` once it listens on ``localhost`` and runs until killed.

The processor answers like ``desktop.processors.echo`` does: a text turn comes back as model text, as an
``output_transcription`` and then ``generation_complete``; an audio part comes straight back at 24 kHz, resampled
with soxr's quick quality like ours, when that venv has ``soxr`` (``pip install soxr`` there); without soxr it
comes back unresampled, at the rate it came in, and the script says so on stdout.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterable

from genai_processors import content_api, processor
from genai_processors.dev import live_server

try:
    import numpy as np
    import soxr
except ImportError:  # pragma: no cover - depends on the reference venv
    soxr = None

OUTPUT_RATE = 24000


def _rate(mimetype: str) -> int:
    for param in mimetype.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip() == "rate" and value.strip().isdigit():
            return int(value)
    return 16000


class Echo(processor.Processor):
    async def call(self, content: AsyncIterable[content_api.ProcessorPart]):
        streams = {}
        async for part in content:
            if content_api.is_audio(part.mimetype) and part.bytes:
                if soxr is None:
                    yield content_api.ProcessorPart(part.bytes, mimetype=part.mimetype, role="model")
                    continue
                rate = _rate(part.mimetype)
                stream = streams.get(rate)
                if stream is None:  # one stream per rate, as ours keeps
                    stream = streams[rate] = soxr.ResampleStream(rate, OUTPUT_RATE, 1, dtype="int16", quality="QQ")
                pcm = stream.resample_chunk(np.frombuffer(part.bytes, dtype="<i2")).astype("<i2").tobytes()
                if pcm:
                    yield content_api.ProcessorPart(pcm, mimetype=f"audio/pcm;rate={OUTPUT_RATE}", role="model")
            elif part.get_metadata("audio_stream_end", False):
                streams.clear()
                yield content_api.ProcessorPart("", role="model", metadata={"generation_complete": True})
            elif content_api.is_text(part.mimetype) and part.text:
                yield content_api.ProcessorPart(part.text, role="model")
                yield content_api.ProcessorPart(part.text, role="model", substream_name="output_transcription",
                                                metadata={"is_final": True})
                yield content_api.ProcessorPart("", role="model", metadata={"generation_complete": True})


def main() -> None:
    port = int(sys.argv[1])
    logging.disable(logging.WARNING)  # absl logs every session start at INFO
    print("echo audio: " + ("resampled to 24 kHz (soxr QQ)" if soxr else "returned as is (no soxr here)"),
          flush=True)
    asyncio.run(live_server.run_server(lambda config: Echo(), port=port))


if __name__ == "__main__":
    main()
