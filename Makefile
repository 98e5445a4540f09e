# Two entry points for a fresh machine (see README):
#   make demo   creates .venv, installs mmdata, and runs `mmdata demo`
#   make test   creates .venv-test with the test extras (DeepSpeed without prebuilt ops) and runs the whole suite
PYTHON ?= python3
VENV ?= .venv
TEST_VENV ?= .venv-test
PIP_FLAGS = --disable-pip-version-check -q -c constraints.txt

.PHONY: demo test system-deps clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_FLAGS) -e '.[crawl,synth,mix,train]'
	touch $@

$(TEST_VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(TEST_VENV)
	DS_BUILD_OPS=0 $(TEST_VENV)/bin/pip install $(PIP_FLAGS) -e '.[all,test,deepspeed]'
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/mmdata demo

# ffmpeg gives torchcodec (Hugging Face Audio) its decoding libraries; espeak-ng speaks the
# test fixtures' speech (for VAD and Whisper tests).
system-deps:
	@command -v ffmpeg >/dev/null 2>&1 && command -v espeak-ng >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q ffmpeg espeak-ng; \
	  else echo "please install ffmpeg and espeak-ng (e.g. sudo apt-get install ffmpeg espeak-ng)"; exit 1; fi; }

test: system-deps $(TEST_VENV)/.installed
	$(TEST_VENV)/bin/python -m pytest -q

clean:
	rm -rf $(VENV) $(TEST_VENV) mmdata-store
