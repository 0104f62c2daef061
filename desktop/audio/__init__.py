"""Audio: device capture and playback, resampling and levels. No Qt, no sockets."""
