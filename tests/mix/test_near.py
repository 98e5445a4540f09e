import random

from mmdata.mix.near import default_workers, near_copies, signatures


def texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    words = "nasi lemak teh tarik durian kampung pasar malam kuala lumpur penang laksa wau songket batik".split()
    out = [" ".join(rng.choice(words) for _ in range(30)) for _ in range(n)]
    for i in range(0, n - 1, 10):  # every tenth text has a near copy right after it: its last word changed
        w = out[i].split()
        w[-1] = "sambal"
        out[i + 1] = " ".join(w)
    return out


def batches(values: list[str], size: int = 50):
    for start in range(0, len(values), size):
        yield list(range(start, start + len(values[start : start + size]))), values[start : start + size]


def test_worker_processes_find_exactly_what_one_process_finds():
    values = texts(600)
    heard = []
    alone = near_copies(batches(values), 0.7, on_batch=lambda rows, dropped: heard.append((rows, dropped)))
    assert 55 <= len(alone) <= 60 and all(key % 10 == 1 for key in alone)  # the later of each pair goes
    assert sum(rows for rows, _ in heard) == 600 and heard[-1][1] == len(alone)
    assert near_copies(batches(values), 0.7, workers=2) == alone


def test_signatures_ignore_spacing_and_punctuation_not_case():
    scheme, values = signatures(["nasi lemak, teh tarik!", "nasi  lemak teh tarik", "Nasi lemak teh tarik", "durian"], 16)
    assert scheme and values.shape == (4, 16)
    assert (values[0] == values[1]).all()
    assert not (values[1] == values[2]).all()  # lower-casing is the caller's (near_dedupe does it in SQL)
    assert not (values[1] == values[3]).all()


def test_a_script_read_from_stdin_works_in_one_process(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import sys\nsys.path.insert(0, 'tests/mix')\nfrom test_near import texts, batches\n"
        "from mmdata.mix.near import near_copies\nvalues = texts(300)\n"
        "print(near_copies(batches(values), 0.7, workers=1) == near_copies(batches(values), 0.7))\n"
    )
    out = subprocess.run(
        [sys.executable, "-"], input=script, capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[2]
    )
    assert out.stdout.strip() == "True" and "Traceback" not in out.stderr, out.stderr[-1000:]


def test_small_inputs_stay_in_one_process():
    assert default_workers(100) == 0 and default_workers(10**6) >= 0
