# Two entry points for a fresh machine (see README):
#   make demo   creates .venv, installs mmdata (with the extras the demo shows), and runs `mmdata demo`
#   make test   creates .venv-test with the test extras (DeepSpeed without prebuilt ops) and runs the whole suite
#   make lint   ruff check and ruff format --check
PYTHON ?= python3
VENV ?= .venv
TEST_VENV ?= .venv-test
PIP_FLAGS = --disable-pip-version-check -q -c constraints.txt

.PHONY: demo test lint system-deps clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_FLAGS) -e '.[crawl,synth,mix,train,pages,web]'
	touch $@

# llamafactory: tests/interop runs LLaMA-Factory's own data loader on our sharegpt exports. Without
# its dependencies, which would pull torchvision, a CUDA build and an older datasets; its data path
# needs only peft (for a constant) beyond what is installed already.
$(TEST_VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(TEST_VENV)
	DS_BUILD_OPS=0 $(TEST_VENV)/bin/pip install $(PIP_FLAGS) -e '.[all,test,deepspeed]'
	$(TEST_VENV)/bin/pip install $(PIP_FLAGS) --no-deps 'llamafactory==0.9.5' 'peft==0.18.1'
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/mmdata demo

# ffmpeg gives torchcodec (Hugging Face Audio) its decoding libraries; espeak-ng speaks the
# test fixtures' speech (for VAD and Whisper tests); postgresql is the team store's catalog in
# its tests (a throwaway cluster per run; those tests skip, saying so, where it is missing);
# chromium is the real browser the `mmdata browse` tests drive through Playwright.
system-deps:
	@command -v ffmpeg >/dev/null 2>&1 && command -v espeak-ng >/dev/null 2>&1 && command -v chromium >/dev/null 2>&1 \
	  && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q ffmpeg espeak-ng postgresql chromium; \
	  else echo "please install ffmpeg, espeak-ng, postgresql and chromium (e.g. sudo apt-get install ffmpeg espeak-ng postgresql chromium)"; exit 1; fi; }

test: system-deps lint
	$(TEST_VENV)/bin/python -m pytest -q

# Style and the common bugs ruff finds (config in pyproject.toml), before any test runs.
lint: $(TEST_VENV)/.installed
	$(TEST_VENV)/bin/ruff check .
	$(TEST_VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) $(TEST_VENV) mmdata-store
