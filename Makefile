# Voice Desktop. `make run` opens the app; `make test` runs every test. Both set themselves up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench soak bundle screenshot server lint clean system-run system-test install-desktop uninstall-desktop

run: system-run $(STAMP)
	@if [ -z "$$DISPLAY" ] && [ -z "$$WAYLAND_DISPLAY" ] && [ -z "$$QT_QPA_PLATFORM" ]; then \
	  echo "make run: no display here. Run it under a virtual one: xvfb-run -a make run  (or set DISPLAY)"; exit 1; fi
	$(PY) -m desktop

test: system-test $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q $(PYTEST_ARGS)

# genai-processors (the reference server the benchmarks compare against) lives in its own venv: ~390 MB, never a
# dependency of the app.
GP_VENV := .venv-gp
GP_PY := $(GP_VENV)/bin/python

bench: system-test $(STAMP) $(GP_VENV)/.installed
	QT_QPA_PLATFORM=offscreen VD_GENAI_PROCESSORS_PYTHON=$(GP_PY) $(PY) -m pytest -q -m bench -p no:cacheprovider bench -s

$(GP_VENV)/.installed:
	@test -x $(GP_PY) || $(PYTHON) -m venv $(GP_VENV)
	$(GP_PY) -m pip install -q 'genai-processors==2.0.3' soxr
	@touch $@

soak: system-test $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -m soak tests -s

bundle: system-run $(STAMP)
	$(VENV)/bin/pip install -q pyinstaller
	bash packaging/bundle.sh $(PY)

# The launcher entry and hicolor icons for this user, pointing at dist/voice-desktop if built, else at the venv.
install-desktop: $(STAMP)
	$(PY) packaging/desktop_entry.py install

uninstall-desktop: $(STAMP)
	$(PY) packaging/desktop_entry.py uninstall

server: $(STAMP)
	$(VENV)/bin/voice-desktop-server --processor echo

lint: $(STAMP)
	$(VENV)/bin/ruff check desktop tests bench

system-run:
	@bash tools/system-deps.sh run

system-test:
	@bash tools/system-deps.sh test

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,offline,aec]'
	$(PY) -m pip install -q --no-deps 'pynput>=1.7' 'python-xlib>=0.33' 'six>=1.16'  # global talk key, no evdev build
	$(PY) -m compileall -q desktop  # bytecode now: no launch compiles it (none can where PYTHONDONTWRITEBYTECODE is set)
	@touch $@

clean:
	rm -rf $(VENV) $(GP_VENV) build dist .pytest_cache *.egg-info
