"""The same seed gives byte-identical files: every format a course's week writes (sheets, keys, exam sheets,
the Moodle question bank, the Canvas package, a roster's personal sheets, the gradebook and feedback),
made in two processes whose string hashing differs, so no set's or dict's order can leak into a file."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

WEEK = r'''
import hashlib, json, sys
from pathlib import Path
import nnworked

folder = Path(sys.argv[1])
out = {}

def keep(kind, files):
    for name, text in files.items():
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        out[f"{kind}/{name}"] = hashlib.sha256(data).hexdigest()

made = nnworked.generate("spam", count=3, seed=11, max_decimals=2)
keep("markdown", made.files())
keep("moodle", made.files(format="moodle", combined=True))
keep("qti", made.files(format="qti", combined=True))
keep("exam-html", made.files(format="html", exam=True, vary_blanks=True))
keep("exam-latex", made.files(format="latex", exam=True, points=2))
(folder / "students.csv").write_text("student_id,name\ns1,Ana Lima\ns2,Ben Ode\ns3,Cy Park\n", encoding="utf-8")
roster = nnworked.generate_roster("spam", str(folder / "students.csv"), seed=11, max_decimals=2)
files = roster.files()
keep("roster", files)
for name, text in files.items():
    (folder / name).write_text(text, encoding="utf-8")
answers = {"s1": {"z1[0]": 0.5, "a1[0]": 0.5}, "s2": {}}
keep("marks", nnworked.grade_class(folder / "manifest.csv", answers).files(output="marks"))
print(json.dumps(out, sort_keys=True))
'''


def _week(tmp_path: Path, hashing: str) -> dict[str, str]:
    folder = tmp_path / hashing
    folder.mkdir()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONHASHSEED": hashing}
    result = subprocess.run([sys.executable, "-c", WEEK, str(folder)], capture_output=True, text=True, env=env,
                            cwd=Path(__file__).resolve().parent.parent)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_weeks_files_are_byte_identical_for_the_same_seed(tmp_path: Path) -> None:
    first, again = _week(tmp_path, "1"), _week(tmp_path, "2")
    kinds = {name.split("/")[0] for name in first}
    assert kinds == {"markdown", "moodle", "qti", "exam-html", "exam-latex", "roster", "marks"}
    assert "moodle/questions.xml" in first and "qti/questions.zip" in first and "marks/marks/gradebook.csv" in first
    assert sum(name.startswith("marks/marks/feedback-") for name in first) == 6  # three students, .md and .html
    differ = sorted(name for name in first if first[name] != again.get(name))
    assert not differ and first.keys() == again.keys(), differ
    assert hashlib.sha256(b"").hexdigest() not in first.values()  # nothing written empty
